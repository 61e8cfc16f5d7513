"""What the loudspeaker says, in box.language, in the same shape as the SMS templates
(edgebox.domain.messages): named sentences, English in the source, Chinese in the catalogue
("spoken.<name>", edgebox.i18n). Spoken, not read: no 【】 tags, no numbers to dial, full
sentences a villager standing in a field understands at the first hearing."""
from __future__ import annotations

from edgebox.i18n import N_, table, word

SPOKEN = table(
    "spoken.",
    N_("spoken.alarm",
       "Emergency: {label} at {caller}'s, {address}, {group}. Neighbours, please go and help"),
    N_("spoken.drill", "Drill, drill. {sentence}. This is a drill"),
    N_("spoken.all_clear",
       "All clear: the {label} at {caller}'s in {group} is dealt with. Thank you"),
    N_("spoken.drill_over", "The drill is over. Thank you"),
    N_("spoken.broadcast", "Village broadcast: {text}"),
    N_("spoken.office", "From the village office: {text}"),
    N_("spoken.test",
       "Loudspeaker test: this is the alarm box's loudspeaker. Please tell the office"
       " you heard it"),
)


def spoken(lang: str, name: str, **fields: object) -> str:
    """Fill sentence ``name`` in ``lang``; an unknown language falls back to Chinese."""
    return word(lang, f"spoken.{name}", SPOKEN[name]).format(**fields)
