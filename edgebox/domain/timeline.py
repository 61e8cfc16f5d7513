"""One readable line per event, for the daemon's log and the demo's live timeline.

Both read the same events the store commits, so what a technician sees in the journal is what
the uploader will ship and what the demo shows.
"""
from __future__ import annotations

from edgebox.domain.phones import display
from edgebox.domain.roster import Roster

PURPOSE = {
    "zh": {"alarm": "报警短信", "confirm": "确认短信", "ack_relay": "回告短信", "ring": "振铃",
           "flash": "响一声",
           "unknown_forward": "转告村委", "all_clear": "解除短信", "update": "补充短信",
           "escalation_sms": "升级短信", "escalation_ring": "升级振铃", "office_notice": "值班室通知",
           "reply": "回复短信", "broadcast": "广播短信", "guardian_alarm": "亲属短信",
           "check_in": "报平安振铃", "check_in_missed": "请上门看看短信",
           "check_in_late": "已报平安短信"},
    "en": {"alarm": "alarm SMS", "confirm": "confirmation SMS", "ack_relay": "who-is-coming SMS",
           "ring": "ring call", "flash": "flash ring", "unknown_forward": "office notice",
           "all_clear": "all-clear SMS",
           "update": "update SMS", "escalation_sms": "escalation SMS",
           "escalation_ring": "escalation ring", "office_notice": "office notice",
           "reply": "reply SMS", "broadcast": "broadcast SMS",
           "guardian_alarm": "relative's SMS", "check_in": "check-in ring",
           "check_in_missed": "please-look-in SMS", "check_in_late": "called-in SMS"},
}
CLOSE_REASON = {"zh": {"cancelled": "已取消", "expired": "已到时", "drill_over": "演练结束",
                       "checked_in": "已报平安", "day_over": "当天已过",
                       "not_in_roster": "已不在花名册", "no_group": "不在任何联防组",
                       # why a live voice on the loudspeaker ended (edgebox.speaker.live_voice)
                       "hung_up": "已挂断", "time_limit": "已到最长时间", "alarm": "让给报警",
                       "wrong_pin": "密码错误", "locked": "密码错误次数过多，已锁定",
                       "no_pin": "未输入密码", "audio_failed": "音频故障",
                       "audio_ended": "音频中断", "error": "出错"},
                "en": {"cancelled": "cancelled", "expired": "expired", "drill_over": "drill over",
                       "checked_in": "checked in", "day_over": "its day is over",
                       "not_in_roster": "no longer in the roster", "no_group": "in no group",
                       "hung_up": "hung up", "time_limit": "time limit", "alarm": "an alarm came",
                       "wrong_pin": "wrong PIN", "locked": "locked out after wrong PINs",
                       "no_pin": "no PIN typed", "audio_failed": "audio failed",
                       "audio_ended": "audio ended", "error": "error"}}
CHECK_IN_HOW = {"zh": {"ring": "接听了振铃", "call": "来电", "late_call": "未报后来电"},
                "en": {"ring": "answered the ring", "call": "called in",
                       "late_call": "called in late"}}
WITHHELD = {"zh": "隐藏号码", "en": "withheld number"}
# How a modem speaks into ring calls (adapters/modem/speech_out), for people.
SPEECH = {"zh": {"ccmxplay": "本机合成语音，经模块文件播放", "qpsnd": "本机合成语音，经模块文件播放",
                 "crec": "本机合成语音，经模块AMR文件播放", "pcm_port": "本机合成语音，经语音串口播放",
                 "tts": "模块自带的文字转语音", "none": "只振铃，不播报（短信有全文）"},
          "en": {"ccmxplay": "the box's voice, as a file the modem plays (AT+CCMXPLAY)",
                 "qpsnd": "the box's voice, as a file the modem plays (AT+QPSND)",
                 "crec": "the box's voice, as an AMR file the modem plays (AT+CREC)",
                 "pcm_port": "the box's voice, as PCM on the modem's voice port",
                 "tts": "the modem's own text-to-speech",
                 "none": "ring only, no words (the SMS has them)"}}
STATUS = {"zh": {"delivered": "已送达", "failed": "未送达"},
          "en": {"delivered": "delivered", "failed": "not delivered"}}
RING_RESULT = {
    "zh": {"hung_up": "响铃后挂断", "answered": "已接听", "busy": "占线", "no_answer": "无人接听",
           "rejected": "被拒接", "acknowledged": "按1确认", "cancelled": "已取消"},
    "en": {"hung_up": "rang out", "answered": "answered", "busy": "busy", "no_answer": "no answer",
           "rejected": "rejected", "acknowledged": "pressed 1", "cancelled": "cancelled"},
}
TEXT = {
    "zh": {
        "daemon_started": "报警服务启动：{households}户，{groups}个联防组",
        "daemon_stopped": "报警服务停止",
        "modem_ready": "{modem} 就绪（{port}），通话语音：{speech}",
        "modem_speech": "{modem} 不再支持原有的通话语音方式，改为：{speech}",
        "speech_prompt_saved": "村委上传了报警录音（{file}），报警电话改为播放录音",
        "speech_prompt_removed": "村委删除了报警录音，报警电话改为播报合成语音",
        "modem_unavailable": "{modem} 不可用（第{attempt}次）：{error}",
        "modem_lost": "{modem} 断开：{reason}",
        "incident_opened": "来电报警：{who} 来自 {phone_display}",
        # an event whose data names its kind may have words of its own (kind/data kind)
        "incident_opened/check_in": "未报平安：{who}，已请组长和近邻上门看看",
        "check_in_due": "{who} 报平安时间到（{time}），振铃",
        "check_in_unanswered": "{who} 未接报平安振铃（{result}），稍后再打",
        "check_in_safe": "{who} 已报平安（{how}）",
        "check_in_missed": "{who} 今天未报平安（振铃{rings}次未接）",
        "check_in_dropped": "{who} 的报平安不再进行（{reason}）",
        "check_in_deferred": "{who} 的报平安振铃让给报警，稍后再打",
        "call_rejected": "已拒接来电（来电免费）",
        "call_reject_failed": "拒接失败：{error}",
        "unknown_caller": "未登记号码来电：{number_display}，不触发联防组",
        "repeat_call": "{who} 再次来电，报警仍在处理中",
        "call_waiting": "{modem} 振铃中又有来电（呼叫等待）：{number_display}，拒接后照常处理",
        "incident_joined": "同组又一户来电，并入本次报警",
        "incident_enriched": "报警人短信补充：{alarm_type}",
        "incident_message": "{who} 发来短信：“{text}”",
        "neighbour_alarm": "{who} 家也有紧急情况，另行报警 #{incident}",
        "escalated": "无人确认，升级到第{escalation_step}步",
        "ring_instead": "短信发不出，改为振铃 {who} {phone_display}",
        "failure_summary": "已告知值班室：{count}条短信未发出（{names}）",
        "drill_report": "演练报告：{acked}/{total}户确认，最快{fastest}秒，平均{mean}秒",
        "office_action": "值班室操作：{action}（{source}）",
        "office_action_expired": "值班室操作已过时，未执行：{action}（{source}）",
        "broadcast_planned": "广播：{households}户，短信{messages}条，来自{sender}",
        "broadcast_progress": "广播进度：{done}/{messages}",
        "broadcast_refused": "拒绝广播（{reason}）：{sender}",
        "admin_change": "户长管理：{action} {detail}",
        "admin_pin_wrong": "户长管理密码错误：{phone_display}",
        "live_started": "{phone_display} 开始用喇叭讲话",
        "live_ended": "{phone_display} 的喇叭讲话结束（{reason}）",
        "live_pin_wrong": "喇叭讲话密码错误：{phone_display}",
        "live_refused": "拒绝 {phone_display} 用喇叭讲话（{reason}）",
        "admin_not_allowed": "{who} 不是中心户长，不能管理（{action}）",
        "admin_locked": "{phone_display} 密码错误次数过多，锁定到 {until}",
        "admin_refused": "户长管理未执行（{action}）：{reason}",
        "drill_scheduled": "按计划开始演练：{slot}",
        "deliveries_planned": "计划发送：短信{sms}条，振铃{calls}次",
        "sms_sent": "{purpose} → {who} {phone_display}（{parts}条）",
        "call_placed": "振铃 → {who} {phone_display}：{result}",
        "call_cancelled": "不再振铃 {who} {phone_display}（已确认或报警已取消）",
        "deliveries_cancelled": "{who} 也来电报警，不再向其发送本次报警",
        "delivery_retry": "发送失败，稍后重试：{error}",
        "delivery_failed": "{purpose} → {who} {phone_display} 失败：{error}",
        "deliveries_requeued": "重启后继续发送{count}项未完成任务",
        "sms_received": "收到短信 ← {who} {number_display}：“{text}”",
        "ack_received": "{who} 已确认前往",
        "ack_without_incident": "{who} 回复确认，但没有进行中的报警",
        "siren_on": "警报器鸣响（{seconds}秒）",
        "siren_off": "警报器停止",
        "incident_closed": "报警结束（{reason}）",
        "roster_replaced": "花名册已更新：{households}户，{groups}个组",
        "roster_loaded": "运行中的报警器已启用新花名册：{households}户，{groups}个组",
        "modem_health": "{modem} 信号{signal} 注册{registration} SIM {sim}",
        "delivery_report": "送达报告 ← {who} {phone_display}：{status}",
        "delivery_report_unmatched": "{modem} 收到无法对应的送达报告（参考号{reference}）",
        "modem_reset": "{modem} 无响应，重启调制解调器：{error}",
        "modem_restarted": "{modem} 自行重启或设置丢失，已重新设置",
        "modem_out_of_service": "{modem} 连续发送失败，暂停使用{minutes}分钟：{error}",
        "modem_back_in_service": "{modem} 恢复使用",
        "modem_power_cycled": "{modem} 已断电重启（{outcome}）",
        "modem_balance": "{modem} 话费余额：{balance}",
        "clock_set": "按网络时间校准系统时钟：{reason}",
        "clock_jumped": "系统时钟跳变{seconds}秒，进行中报警的计时已随之调整",
        "disk_full": "存储已满（剩余{free_kib}KB），启用{reserve_kib}KB备用空间，已告知值班室",
        "button_pressed": "值班室按键：{button}",
        "siren_test": "警报器测试（{seconds}秒）",
        "web_login": "网页登录（{address}）",
        "web_login_failed": "网页登录失败（{address}）",
        "web_panel_started": "网页管理已启动：{url}",
        "web_panel_refused": "网页管理未启动：未设置密码（{how}）",
        "web_panel_failed": "网页管理无法启动：{error}",
    },
    "en": {
        "daemon_started": "box started: {households} households in {groups} groups",
        "daemon_stopped": "box stopped",
        "modem_ready": "{modem} ready on {port}; calls speak by {speech}",
        "modem_speech": "{modem} refused its way of speaking into calls; now: {speech}",
        "speech_prompt_saved": "the office uploaded a recorded prompt ({file}); "
                               "alarm calls play it",
        "speech_prompt_removed": "the office removed the recorded prompt; "
                                 "alarm calls speak the sentence",
        "modem_unavailable": "{modem} unavailable (try {attempt}): {error}",
        "modem_lost": "{modem} lost: {reason}",
        "incident_opened": "alarm call from {who} on {phone_display}",
        "incident_opened/check_in": "missed check-in: {who}; leader and neighbours asked to"
                                    " look in",
        "check_in_due": "{who}: check-in time ({time}), ringing",
        "check_in_unanswered": "{who} did not answer the check-in ring ({result}); will ring again",
        "check_in_safe": "{who} checked in ({how})",
        "check_in_missed": "{who} missed today's check-in ({rings} rings unanswered)",
        "check_in_dropped": "{who}: check-in dropped ({reason})",
        "check_in_deferred": "{who}: check-in ring gave way to an alarm; will ring again",
        "call_rejected": "call rejected (free for the caller)",
        "call_reject_failed": "could not reject the call: {error}",
        "unknown_caller": "unregistered number {number_display} called; no group alerted",
        "repeat_call": "{who} called again; the alarm is already running",
        "call_waiting": "{modem} was ringing out when {number_display} called (call waiting);"
                        " rejected and handled as any call",
        "incident_joined": "another household of the group called; joined to this alarm",
        "incident_enriched": "the caller's SMS says what is happening: {alarm_type}",
        "incident_message": "SMS from {who}: \"{text}\"",
        "neighbour_alarm": "{who} has an emergency of their own: alarm #{incident}",
        "escalated": "nobody acknowledged: escalation step {escalation_step}",
        "ring_instead": "SMS failed; ringing {who} {phone_display} instead",
        "failure_summary": "office told: {count} SMS failed ({names})",
        "drill_report": "drill report: {acked}/{total} acknowledged, fastest {fastest} s, "
                        "mean {mean} s",
        "office_action": "office action: {action} ({source})",
        "office_action_expired": "office action too old, not carried out: {action} ({source})",
        "broadcast_planned": "broadcast to {households} households, {messages} SMS, from {sender}",
        "broadcast_progress": "broadcast progress: {done}/{messages}",
        "broadcast_refused": "broadcast refused ({reason}): {sender}",
        "admin_change": "leader administration: {action} {detail}",
        "admin_pin_wrong": "wrong leader PIN from {phone_display}",
        "live_started": "{phone_display} speaks live on the loudspeaker",
        "live_ended": "{phone_display}'s live voice ended ({reason})",
        "live_pin_wrong": "wrong loudspeaker PIN from {phone_display}",
        "live_refused": "{phone_display} refused the loudspeaker ({reason})",
        "admin_not_allowed": "{who} is not a leader and may not administer ({action})",
        "admin_locked": "{phone_display} locked out after wrong PINs until {until}",
        "admin_refused": "leader administration not done ({action}): {reason}",
        "drill_scheduled": "scheduled drill started: {slot}",
        "deliveries_planned": "planned {sms} SMS and {calls} ring calls",
        "sms_sent": "{purpose} -> {who} {phone_display} ({parts} part(s))",
        "call_placed": "ring -> {who} {phone_display}: {result}",
        "call_cancelled": "ring to {who} {phone_display} called off (acknowledged or cancelled)",
        "deliveries_cancelled": "{who} called about the same alarm: no longer alerted of it",
        "delivery_retry": "send failed, will retry: {error}",
        "delivery_failed": "{purpose} -> {who} {phone_display} FAILED: {error}",
        "deliveries_requeued": "resuming {count} deliveries interrupted by a restart",
        "sms_received": "SMS <- {who} {number_display}: \"{text}\"",
        "ack_received": "{who} acknowledged and is coming",
        "ack_without_incident": "{who} acknowledged but no alarm is open",
        "siren_on": "siren on ({seconds} s)",
        "siren_off": "siren off",
        "incident_closed": "alarm closed ({reason})",
        "roster_replaced": "roster replaced: {households} households, {groups} groups",
        "roster_loaded": "the running box took the new roster: {households} households, "
                         "{groups} groups",
        "modem_health": "{modem}: signal {signal}, registration {registration}, SIM {sim}",
        "delivery_report": "delivery report <- {who} {phone_display}: {status}",
        "delivery_report_unmatched": "{modem}: a delivery report matched nothing (ref {reference})",
        "modem_reset": "{modem} stopped answering; resetting it: {error}",
        "modem_restarted": "{modem} restarted by itself ({detected}); set up again",
        "modem_out_of_service": "{modem} out of service for {minutes} min after failures: {error}",
        "modem_back_in_service": "{modem} back in service",
        "modem_power_cycled": "{modem} power-cycled ({outcome})",
        "modem_balance": "{modem} balance: {balance}",
        "clock_set": "system clock set from the network: {reason}",
        "clock_jumped": "the system clock stepped {seconds} s; open alarms' timers moved with it",
        "disk_full": "disk full ({free_kib} KiB left): using the {reserve_kib} KiB reserve; "
                     "office told",
        "button_pressed": "office panel button: {button}",
        "siren_test": "siren test ({seconds} s)",
        "web_login": "web panel login from {address}",
        "web_login_failed": "web panel login failed from {address}",
        "web_panel_started": "web panel serving at {url}",
        "web_panel_refused": "web panel not started: no password ({how})",
        "web_panel_failed": "web panel could not start: {error}",
    },
}


def describe(event: dict, roster: Roster | None, lang: str = "zh") -> str:
    """The event in one line of words; unknown kinds fall back to their name and data."""
    lang = lang if lang in TEXT else "zh"
    data = dict(event.get("data") or {})
    template = TEXT[lang].get(f"{event['kind']}/{data.get('kind')}",
                              TEXT[lang].get(event["kind"]))
    if template is None:
        return f"{event['kind']} {data}"
    household_id = data.get("household")
    who = ""
    if roster is not None and household_id:
        try:
            who = roster.household(household_id).name
        except KeyError:
            who = household_id
    fields = {
        **data,
        "who": who or ("未登记" if lang == "zh" else "unregistered"),
        "phone_display": display(data.get("phone", "")),
        "number_display": display(data.get("number", "")) or (
            WITHHELD[lang] if data.get("withheld") else "?"),
        "purpose": PURPOSE[lang].get(data.get("purpose"), data.get("purpose", "")),
        "result": RING_RESULT[lang].get(data.get("result"), data.get("result", "")),
        "status": STATUS[lang].get(data.get("status"), data.get("status", "")),
        "reason": CLOSE_REASON[lang].get(data.get("reason"), data.get("reason", "")),
        "how": CHECK_IN_HOW[lang].get(data.get("how"), data.get("how", "")),
        "speech": SPEECH[lang].get(data.get("speech"), data.get("speech", "?")),
        "count": len(data.get("deliveries", [])),
        "text": str(data.get("text", ""))[:40],
    }
    try:
        return template.format_map(_Unknown(fields))
    except (IndexError, ValueError):
        return f"{event['kind']} {data}"


class _Unknown(dict):
    """A field an event does not carry reads as '?' instead of hiding the whole line."""

    def __missing__(self, key: str) -> str:
        return "?"
