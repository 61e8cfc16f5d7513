"""What an SMS to the box asks for. People type on phones in a hurry, in Chinese or English,
with full-width characters; each form below is accepted in all of those ways.

    1 / 到 / 收到 / 马上到 / ok     Acknowledge (see acks.py)
    0 / 取消 / 解除 / cancel          Cancel: the alarm is over (caller or leader)
    火… 着火… 盗… 小偷… 医… 水…        Report: an alarm of that type, the text included
    广播 [组名] 内容 / GB …            Broadcast (allow-listed numbers only); the group as named
                                       in the roster or shortened: 第二组 / 二组 / 2组 / 第2组,
                                       followed by a space, colon or comma; 全村 or none: all
    管理 PIN 加 姓名 电话              Admin: a leader adds a phone to a household of their group
                                       (the phone last: a name may end in digits, 张三2)
    管理 PIN 删 电话                   Admin: … removes a phone
    管理 PIN 列表                      Admin: … lists their group
                                       (spaces optional, "138 0013 8000" may have its own)
    anything else                      Report of type "other" (free text)

Who may do what (broadcast allow-list, leaders, PINs) is the daemon's decision; this module
only reads the words. A malformed command comes back as Rejected with words to send back.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from edgebox.domain.acks import is_acknowledgement
from edgebox.i18n import Text

CANCEL_WORDS = ("0", "取消", "解除", "cancel", "取消报警")
TYPE_WORDS = {
    "fire": ("火", "着火", "失火", "起火", "fire"),
    "thief": ("盗", "贼", "小偷", "偷", "抢", "thief", "burglar", "robbery"),
    "medical": ("医", "病", "晕倒", "摔倒", "急救", "救护", "medical", "ambulance"),
    "flood": ("水", "洪", "淹", "涨水", "flood"),
}
BROADCAST_WORDS = ("广播", "gb")
ADMIN_WORDS = ("管理", "admin", "gl")
ADMIN_ACTIONS = {"加": "add", "增加": "add", "添加": "add", "add": "add", "删": "remove",
                 "删除": "remove", "remove": "remove", "del": "remove", "列表": "list",
                 "名单": "list", "查看": "list", "list": "list"}
VILLAGE_WORDS = ("全村",)  # only this one: "全体村民…", "all villagers…" are the notice itself
# Between a broadcast's group and its words, and around an admin command's parts.
_SEPARATORS = " \t:,、;；。."
CHINESE_DIGITS = "零一二三四五六七八九"


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
    reason: str  # said back to the sender (a Text: in the box's language)
    about: str = ""  # "broadcast" / "admin": which command was malformed (its answer's limits)


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
            # "gb" must be a word of its own ("gbxyz" is just text; "GB第二组…" is a broadcast),
            # Chinese prefixes need not
            if prefix.isascii() and rest and rest[0].isascii() and rest[0].isalnum():
                return None
            return rest.lstrip(" :：\t")
    return None


def parse_sms(text: str, group_names: tuple[str, ...] = ()) -> object:
    folded = _fold(text or "")
    if not folded:
        return Rejected(Text("reply.empty", "the message is empty"))
    if is_acknowledgement(folded):
        return Acknowledge()
    if folded.lower().rstrip("!！。.") in CANCEL_WORDS:
        return Cancel()
    rest = _after_prefix(folded, BROADCAST_WORDS)
    if rest is not None:
        return _broadcast(rest, group_names, text)
    rest = _after_prefix(folded, ADMIN_WORDS)
    if rest is not None:
        return _admin(rest)
    # The caller's words as typed (full-width ，。 stay): the office reads them whole, and the
    # members' SMS quote them; only the type word was read from the folded form.
    return Report(alarm_type_of(folded), text.strip() or folded)


def _broadcast(rest: str, group_names: tuple[str, ...], original: str) -> object:
    group, body = None, rest
    for name, alias in sorted(((n, a) for n in group_names for a in group_aliases(n)),
                              key=lambda pair: len(pair[1]), reverse=True):
        after = _word_at_start(rest, alias)
        if after is not None:
            group, body = name, after
            break
    else:
        for word in VILLAGE_WORDS:
            after = _word_at_start(rest, word)
            if after is not None:
                body = after
                break
    if not body:
        return Rejected(Text("reply.broadcast_empty",
                             "broadcast text is empty; write: 广播 [group] text"), about="broadcast")
    return Broadcast(group, _as_written(original, body))


def _as_written(original: str, folded_tail: str) -> str:
    """The end of ``original`` that folds to ``folded_tail``: a notice goes out in the sender's
    own characters (full-width ，。！ stay as typed), only its command words were folded."""
    for start in range(len(original)):
        if _fold(original[start:]) == folded_tail:
            return original[start:].strip()
    return folded_tail


def _word_at_start(text: str, word: str) -> str | None:
    """What follows ``word`` at the start of ``text`` when a separator ends the word, else None:
    "二组 明天停水" names group 二组, "二组的路修好了" is a notice for everyone."""
    if not text.lower().startswith(word.lower()):
        return None
    rest = text[len(word):]
    if rest and rest[0] not in _SEPARATORS:
        return None
    return rest.lstrip(_SEPARATORS)


def group_aliases(name: str) -> tuple[str, ...]:
    """How people write a group's name in a hurry: 第二组 is also 二组, 2组 and 第2组."""
    found = re.fullmatch(r"第?(\d{1,2}|[一二三四五六七八九十]{1,3})组", name)
    if not found:
        return (name,)
    number = found.group(1)
    value = int(number) if number.isdigit() else _chinese_number(number)
    if value is None:
        return (name,)
    words = {str(value), _chinese_numeral(value)}
    return tuple(dict.fromkeys([name] + [f"{p}{w}组" for w in sorted(words) for p in ("第", "")]))


def _chinese_number(text: str) -> int | None:
    """一 … 九十九 as a number; None for anything else."""
    if text == "十":
        return 10
    tens, _, ones = text.rpartition("十") if "十" in text else ("", "", text)
    if "十" in text:
        if tens not in ("", *CHINESE_DIGITS[1:]) or ones not in ("", *CHINESE_DIGITS[1:]):
            return None  # 十十, 二十十: a roster may name a group so, but it is no number
        tens_value = CHINESE_DIGITS.index(tens) if tens else 1
        ones_value = CHINESE_DIGITS.index(ones) if ones else 0
        return tens_value * 10 + ones_value if tens_value and tens_value < 10 else None
    return CHINESE_DIGITS.index(ones) if len(ones) == 1 and ones in CHINESE_DIGITS[1:] else None


def _chinese_numeral(value: int) -> str:
    tens, ones = divmod(value, 10)
    if not tens:
        return CHINESE_DIGITS[ones]
    return (CHINESE_DIGITS[tens] if tens > 1 else "") + "十" + (CHINESE_DIGITS[ones] if ones
                                                                 else "")


ADMIN_USAGE = Text("reply.admin_usage", "write: 管理 PIN 加 name phone / 管理 PIN 删 phone / "
                   "管理 PIN 列表")
# Said when the phone cannot be told apart from the name: "张三2 138 0013 8000" is 张三2 with
# 13800138000, or 张三 with 213800138000. Guessing would add a wrong number to a household.
ADMIN_AMBIGUOUS = Text("reply.admin_ambiguous", "the phone number is unclear: write it last, "
                       "apart from the name, e.g. 管理 PIN 加 张三 13800138000")
_DIGIT_GROUP = re.compile(r"\+?\d[\d\-]*")
_GLUED = re.compile(r"(.*?\D)(\+?\d{7,})")  # 王五13800138000: the name, then a whole phone
_COUNTRY_PREFIXES = ("+86", "0086", "86")
_WHOLE_PHONE_DIGITS = 7  # fewer in the last token: the phone is written in groups


PIN_DIGITS = (4, 8)  # as the shared admin.leader_pin: what the admin command reads


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` cannot be a leader's PIN, None when it can."""
    low, high = PIN_DIGITS
    if pin.isascii() and pin.isdigit() and low <= len(pin) <= high:
        return None
    return f"a PIN is {low}-{high} digits"


def _admin(rest: str) -> object:
    """"1234 加 王五 138 0013 8000", "1234加王五13800138000", "1234 list": spaces, full-width
    characters and a phone written in groups are all fine."""
    found = re.match(r"(\d{4,8})(?!\d)[\s:,]*(.*)", rest, re.S)
    if not found:
        return Rejected(ADMIN_USAGE, about="admin")
    pin, tail = found.group(1), found.group(2).strip()
    word = next((w for w in sorted(ADMIN_ACTIONS, key=len, reverse=True)
                 if tail.lower().startswith(w)
                 and not (w.isascii() and tail[len(w):len(w) + 1].isalpha())), None)
    if word is None:
        return Rejected(ADMIN_USAGE, about="admin")
    action, args = ADMIN_ACTIONS[word], tail[len(word):].strip(_SEPARATORS)
    if action == "list":
        return Admin(pin, "list") if not args else Rejected(ADMIN_USAGE, about="admin")
    split = _name_and_phone(args)
    if isinstance(split, Rejected):
        return split
    name, phone = split
    if action == "add":
        if not name:
            return Rejected(ADMIN_USAGE, about="admin")
        return Admin(pin, "add", name=name, phone=phone)
    return Admin(pin, "remove", phone=phone)


def _name_and_phone(args: str) -> tuple[str, str] | Rejected:
    """The phone is the last whitespace-separated token; what comes before is the name, which
    may end in digits (张三2). A phone written in groups (138 0013 8000) is the run of digit
    groups at the end, and is refused when the word before it ends in a digit: the groups
    might have begun inside it. So is a whole phone after another number (张三 2 13800138000)."""
    tokens = args.replace(",", " ").split()
    if not tokens:
        return Rejected(ADMIN_USAGE, about="admin")
    last = tokens[-1]
    if not _DIGIT_GROUP.fullmatch(last):
        glued = _GLUED.fullmatch(last)  # no space at all: 王五13800138000
        if glued is None:
            return Rejected(ADMIN_USAGE, about="admin")
        return " ".join([*tokens[:-1], glued.group(1)]).strip(_SEPARATORS), glued.group(2)
    if len(re.sub(r"\D", "", last)) >= _WHOLE_PHONE_DIGITS:
        before = tokens[-2] if len(tokens) > 1 else ""
        if before in _COUNTRY_PREFIXES:
            return " ".join(tokens[:-2]), before + last
        if _DIGIT_GROUP.fullmatch(before):
            return Rejected(ADMIN_AMBIGUOUS, about="admin")
        return " ".join(tokens[:-1]), re.sub(r"-", "", last)
    start = len(tokens)
    while start > 0 and _DIGIT_GROUP.fullmatch(tokens[start - 1]):
        start -= 1
    name_tokens = tokens[:start]
    if name_tokens and name_tokens[-1][-1].isdigit():
        return Rejected(ADMIN_AMBIGUOUS, about="admin")
    return " ".join(name_tokens), re.sub(r"-", "", "".join(tokens[start:]))


def redact_pin(text: str) -> str:
    """The SMS as it may be logged: an admin command's PIN (its first digits) masked. The log is
    uploaded to the county and shown on the web panel; the PIN must stay with the leaders."""
    folded = _fold(text or "")
    rest = _after_prefix(folded, ADMIN_WORDS)
    if rest is None:
        return text
    head = folded[:len(folded) - len(rest)]
    return head + re.sub(r"\d+", "****", rest, count=1)
