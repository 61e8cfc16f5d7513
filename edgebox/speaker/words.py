"""What the loudspeaker says, Chinese first, English second (box.language chooses), in the
same shape as the SMS templates (edgebox.domain.messages): one table per language, filled
by name. Spoken, not read: no 【】 tags, no numbers to dial, full sentences a villager standing
in a field understands at the first hearing."""
from __future__ import annotations

SPOKEN: dict[str, dict[str, str]] = {
    "zh": {
        "alarm": "紧急情况：{group}{caller}家（{address}）{label}，请附近村民前往支援",
        "drill": "演练，演练。{sentence}。这是演练",
        "all_clear": "警情解除：{group}{caller}家的{label}已经处理，谢谢大家",
        "drill_over": "演练结束，谢谢大家",
        "broadcast": "村委广播：{text}",
        "office": "村委通知：{text}",
        "test": "喇叭测试：这是联防报警器的喇叭测试，听到请告诉村委",
    },
    "en": {
        "alarm": "Emergency: {label} at {caller}'s, {address}, {group}. Neighbours, please go"
                 " and help",
        "drill": "Drill, drill. {sentence}. This is a drill",
        "all_clear": "All clear: the {label} at {caller}'s in {group} is dealt with. Thank you",
        "drill_over": "The drill is over. Thank you",
        "broadcast": "Village broadcast: {text}",
        "office": "From the village office: {text}",
        "test": "Loudspeaker test: this is the alarm box's loudspeaker. Please tell the office"
                " you heard it",
    },
}


def spoken(lang: str, name: str, **fields: object) -> str:
    """Fill sentence ``name`` in ``lang``; an unknown language falls back to Chinese."""
    return SPOKEN.get(lang, SPOKEN["zh"])[name].format(**fields)
