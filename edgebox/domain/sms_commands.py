"""What an SMS to the box asks for. People type on phones in a hurry, in Chinese or English,
with full-width characters; each form below is accepted in all of those ways.

    1 / 到 / 收到 / 马上到 / ok     Acknowledge (see acks.py)
    0 / 取消 / 解除 / cancel          Cancel: the alarm is over (caller or leader)
    火… 着火… 盗… 小偷… 医… 水…        Report: an alarm of that type, the text included
    广播 [组名] 内容 / GB …            Broadcast (allow-listed numbers only)
    管理 PIN 加 姓名 电话              Admin: a leader adds a phone to a household of their group
    管理 PIN 删 电话                   Admin: … removes a phone
    管理 PIN 列表                      Admin: … lists their group
    anything else                      Report of type "other" (free text)

Who may do what (broadcast allow-list, leaders, PINs) is the daemon's decision; this module
only reads the words. A malformed command comes back as Rejected with words to send back.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from edgebox.domain.acks import is_acknowledgement

CANCEL_WORDS = ("0", "取消", "解除", "cancel", "取消报警")
TYPE_WORDS = {
    "fire": ("火", "着火", "失火", "起火", "fire"),
    "thief": ("盗", "贼", "小偷", "偷", "抢", "thief", "burglar", "robbery"),
    "medical": ("医", "病", "晕倒", "摔倒", "急救", "救护", "medical", "ambulance"),
    "flood": ("水", "洪", "淹", "涨水", "flood"),
}
BROADCAST_WORDS = ("广播", "gb")
ADMIN_WORDS = ("管理", "admin", "gl")
ADMIN_ACTIONS = {"加": "add", "增加": "add", "add": "add", "删": "remove", "删除": "remove",
                 "remove": "remove", "del": "remove", "列表": "list", "list": "list"}


@dataclass(frozen=True)
class Acknowledge:
    pass


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Report:
    alarm_type: str  # fire, thief, medical, flood, other
    text: str


@dataclass(frozen=True)
class Broadcast:
    group: str | None  # None: the whole village
    text: str


@dataclass(frozen=True)
class Admin:
    pin: str
    action: str  # add, remove, list
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Rejected:
    reason: str  # said back to the sender


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def alarm_type_of(text: str) -> str:
    """The alarm type a report names: the first type word found, else "other"."""
    lowered = _fold(text).lower()
    hits = [(lowered.find(word), kind) for kind, words in TYPE_WORDS.items() for word in words
            if word in lowered]
    return min(hits)[1] if hits else "other"


def _after_prefix(folded: str, prefixes: tuple[str, ...]) -> str | None:
    lowered = folded.lower()
    for prefix in prefixes:
        if lowered.startswith(prefix):
            rest = folded[len(prefix):]
            # "gb" must be a word of its own ("gbxyz" is just text), Chinese prefixes need not
            if prefix.isascii() and rest and not (rest[0].isspace() or rest[0] in ":："):
                return None
            return rest.lstrip(" :：\t")
    return None


def parse_sms(text: str, group_names: tuple[str, ...] = ()) -> object:
    folded = _fold(text or "")
    if not folded:
        return Rejected("短信是空的 / the message is empty")
    if is_acknowledgement(folded):
        return Acknowledge()
    if folded.lower().rstrip("!！。.") in CANCEL_WORDS:
        return Cancel()
    rest = _after_prefix(folded, BROADCAST_WORDS)
    if rest is not None:
        return _broadcast(rest, group_names)
    rest = _after_prefix(folded, ADMIN_WORDS)
    if rest is not None:
        return _admin(rest)
    return Report(alarm_type_of(folded), folded)


def _broadcast(rest: str, group_names: tuple[str, ...]) -> object:
    group = next((g for g in sorted(group_names, key=len, reverse=True) if rest.startswith(g)),
                 None)
    body = rest[len(group):].lstrip(" :：\t") if group else rest
    if not body:
        return Rejected("广播内容是空的，格式：广播 [组名] 内容 / broadcast text is empty")
    return Broadcast(group, body)


def _admin(rest: str) -> object:
    words = rest.split()
    usage = "格式：管理 密码 加 姓名 电话 / 管理 密码 删 电话 / 管理 密码 列表"
    if len(words) < 2 or not re.fullmatch(r"\d{4,8}", words[0]):
        return Rejected(usage)
    pin, action = words[0], ADMIN_ACTIONS.get(words[1].lower())
    args = words[2:]
    if action == "list" and not args:
        return Admin(pin, "list")
    if action == "add" and len(args) == 2:
        name, phone = (args if not re.search(r"\d{5}", args[0]) else args[::-1])
        return Admin(pin, "add", name=name, phone=phone)
    if action == "remove" and len(args) == 1:
        return Admin(pin, "remove", phone=args[0])
    return Rejected(usage)
