"""The keys of edgebox.txt: what each means, how it is checked and which config key it sets.

Each check takes the text after ``=`` and returns the value for the config, or raises
ValueError with a message a technician understands: a ``Text`` (edgebox.i18n), so
edgebox-status.txt says it in Chinese, then in English. A field whose ``target`` is not a config
key of this edgebox version (a feature not built in) is still checked, then reported as unused.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from edgebox.domain.phones import PhoneNumberError, normalise
from edgebox.i18n import Text, message

MASK = "********"  # what a secret is replaced with in the card's copy once it has been applied
DEFAULT_ZONEINFO = Path("/usr/share/zoneinfo")
_BOX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_NUMBER_SEPARATORS = re.compile(r"[,，;；、]+")
_APN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]{0,62}")
_SSH_KEY = re.compile(r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh.com)"
                      r" [A-Za-z0-9+/]{40,}={0,3}( \S.*)?")
_TIMEZONE = re.compile(r"[A-Za-z]+(/[A-Za-z0-9_+\-]+){0,2}")


@dataclass(frozen=True)
class Field:
    name: str
    target: str            # config key, "modems.<key>" for the first [[modems]] table, or ""
    help: tuple[str, ...]  # comment lines above the key in the blank file
    example: str           # the value in the blank file
    check: Callable[[str, "Context"], Any]
    default: str = ""
    required: bool = False
    secret: bool = False


@dataclass(frozen=True)
class Context:
    """What checks need besides the text: where time zones are, and the box's country."""
    zoneinfo: Path = DEFAULT_ZONEINFO
    region: str = "CN"


def _box_id(text: str, ctx: Context) -> str:
    if not _BOX_ID.fullmatch(text):
        raise ValueError(Text("provision.box_id", "must be 1-64 letters, digits, '.', '_' or "
                              "'-', starting with a letter or digit (no spaces, no Chinese "
                              "characters)"))
    return text


def _language(text: str, ctx: Context) -> str:
    value = text.lower()
    if value not in ("zh", "en"):
        raise ValueError(Text("provision.language", "must be zh (Chinese) or en (English)"))
    return value


def _numbers(text: str, ctx: Context) -> list[str]:
    out = []
    for part in _NUMBER_SEPARATORS.split(text):
        if part.strip():
            try:
                out.append(normalise(part, ctx.region))
            except PhoneNumberError as exc:
                raise ValueError(message(exc)) from exc  # a Text (edgebox.domain.phones)
    return out


def _required_numbers(text: str, ctx: Context) -> list[str]:
    numbers = _numbers(text, ctx)
    if not numbers:
        raise ValueError(Text("provision.no_number", "needs at least one phone number"))
    return numbers


def _whole(low: int, high: int) -> Callable[[str, Context], int]:
    def check(text: str, ctx: Context) -> int:
        if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
            raise ValueError(Text("provision.whole", "must be a whole number from {low} to "
                                  "{high}", low=low, high=high))
        return int(text)
    return check


def _active(text: str, ctx: Context) -> bool:
    value = text.lower()
    if value not in ("high", "low"):
        raise ValueError(Text("provision.active", "must be high (the relay closes when the pin "
                              "is high) or low"))
    return value == "high"


def _device(text: str, ctx: Context) -> str:
    if not text.startswith("/dev/") or " " in text:
        raise ValueError(Text("provision.device", "must be a device path such as "
                              "/dev/edgebox-modem"))
    return text


def _sim_pin(text: str, ctx: Context) -> str:
    if text and not (text.isascii() and text.isdigit() and 4 <= len(text) <= 8):
        raise ValueError(Text("config.sim_pin", "must be 4-8 digits, or empty when the SIM has "
                              "no PIN"))
    return text


def _apn(text: str, ctx: Context) -> str:
    if text and not _APN.fullmatch(text):
        raise ValueError(Text("provision.apn", "must be the operator's access point name, e.g. "
                              "cmnet, 3gnet or ctnet"))
    return text


def _url(text: str, ctx: Context) -> str:
    if text and not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?(/\S*)?", text):
        raise ValueError(Text("provision.url", "must be an address starting with https:// (or "
                              "http://)"))
    return text


def _secret_text(minimum: int) -> Callable[[str, Context], str]:
    def check(text: str, ctx: Context) -> str:
        if text and (len(text) < minimum or not text.isprintable()):
            raise ValueError(Text("provision.secret", "must be at least {minimum} characters, "
                                  "or empty", minimum=minimum))
        return text
    return check


def _ssh_key(text: str, ctx: Context) -> str:
    if text and not _SSH_KEY.fullmatch(text):
        raise ValueError(Text("provision.ssh_key", "must be one public key line, e.g. "
                              "'ssh-ed25519 AAAA... name' (the contents of id_ed25519.pub)"))
    return text


def _timezone(text: str, ctx: Context) -> str:
    if not _TIMEZONE.fullmatch(text) or not (ctx.zoneinfo / text).is_file():
        raise ValueError(Text("provision.timezone", "must be a time zone name such as "
                              "Asia/Shanghai"))
    return text


FIELDS: tuple[Field, ...] = (
    Field("BOX_ID", "box.id",
          ("本机编号（字母、数字、-），如 shiqiao-01。", "Name of this box: letters, digits, '-'."),
          "", _box_id, required=True),
    Field("LANGUAGE", "box.language",
          ("短信语言：zh 中文，en 英文。", "Language of every SMS: zh or en."),
          "zh", _language, default="zh"),
    Field("OFFICE_NUMBERS", "numbers.office",
          ("村委电话，多个用逗号隔开：陌生号码报警、模块故障时通知。",
           "Village office phones, comma-separated: told about unknown callers and faults."),
          "", _required_numbers, required=True),
    Field("ESCALATION_NUMBERS", "numbers.township",
          ("乡镇升级电话（可空），多个用逗号隔开。",
           "Township phones for escalation (may be empty), comma-separated."),
          "", _numbers),
    Field("SIREN_PIN", "siren.pin",
          ("警笛继电器的 GPIO 编号（BCM），默认 17。", "BCM GPIO pin of the siren relay."),
          "17", _whole(2, 27), default="17"),
    Field("SIREN_ACTIVE", "siren.active_high",
          ("继电器高电平触发填 high，低电平触发填 low。",
           "high if the relay closes when the pin is high, low for active-low relay boards."),
          "high", _active, default="high"),
    Field("SIREN_SECONDS", "siren.on_seconds",
          ("报警时警笛响多少秒（0 不响）。", "Seconds the siren sounds for an alarm (0: never)."),
          "60", _whole(0, 600), default="60"),
    Field("MODEM_PORT", "modems.port",
          ("模块串口，一般不用改。SIM800 接在 GPIO 串口时填 /dev/edgebox-uart。",
           "The modem's AT port; /dev/edgebox-uart for a SIM800 on the GPIO header UART."),
          "/dev/edgebox-modem", _device, default="/dev/edgebox-modem"),
    Field("SIM_PIN", "modems.pin",
          ("SIM 卡 PIN 码（没有就空着）。用后本文件中显示为 ********。",
           "SIM PIN if the SIM asks for one; shown as ******** here once applied."),
          "", _sim_pin, secret=True),
    # Not a config key: it becomes the PPP peer the image's edgebox-ppp.service dials on the
    # modem's data port (apply.py), the uplink's mobile data when there is no LAN.
    Field("APN", "",
          ("移动数据接入点：移动 cmnet，联通 3gnet，电信 ctnet。填了就通过模块的数据口上网上传"
           "（插着网线时先用网线）；空着则不用移动数据。",
           "Mobile data access point name: with it the box goes online through the modem's data "
           "port for uploads (a LAN cable, when connected, is used first); empty: none."),
          "", _apn),
    Field("UPLOAD_URL", "uplink.url",
          ("县级平台地址（可空），如 https://110.example.gov.cn。",
           "The county platform's address, empty for none."),
          "", _url),
    Field("UPLOAD_TOKEN", "uplink.token",
          ("平台发给本机的密钥。用后显示为 ********。",
           "The key the platform issued to this box; shown as ******** once applied."),
          "", _secret_text(16), secret=True),
    Field("PANEL_PASSWORD", "web.password_hash",
          ("网页面板密码，至少 8 位。用后显示为 ********。",
           "Password of the web panel, at least 8 characters; shown as ******** once applied."),
          "", _secret_text(8), secret=True),
    Field("SSH_KEY", "",
          ("维护用 SSH 公钥（一行，可空）。空着则 SSH 关闭。",
           "A public key for SSH maintenance (one line); SSH stays off when empty."),
          "", _ssh_key),
    Field("TIMEZONE", "",
          ("时区，默认 Asia/Shanghai。", "Time zone of the box."),
          "Asia/Shanghai", _timezone, default="Asia/Shanghai"),
)

BY_NAME = {field.name: field for field in FIELDS}
SECRETS = frozenset(field.name for field in FIELDS if field.secret)
