"""The blank edgebox.txt shipped on the card: every key with its explanation, in both languages.

Written with a BOM and CRLF line ends, so Windows Notepad shows the Chinese and keeps the lines.
"""
from __future__ import annotations

import codecs

from edgebox.provision.fields import FIELDS, MASK

HEADER = (
    "edgebox 报警器设置文件 / edgebox settings",
    "",
    "每行一项：名称=值。以 # 开头的行是说明，不起作用。改完保存，插回 SD 卡，重新上电即生效。",
    "One setting per line: NAME=value. Lines starting with # are notes. Save, put the card back",
    "in the box and power it up: the settings are read at every boot.",
    "",
    "设置有错时，本机继续用原来的设置，错误写在同一目录的 edgebox-status.txt 里（第几行、哪一项）。",
    "If a line is wrong the box keeps its previous settings; edgebox-status.txt beside this file",
    "says which line and why.",
    "",
    f"密码类的值生效后会显示为 {MASK}，不用改回；要换密码，直接写新的值。",
    f"Secrets show as {MASK} once applied; leave them so, or type a new value to change them.",
    "",
    "花名册：把村里的 CSV 花名册另存为 roster.csv 放在本目录，开机时自动导入（有错不导入）。",
    "Roster: a village sheet saved as roster.csv in this folder is imported at boot.",
)


def template_text() -> str:
    lines = [f"# {line}".rstrip() for line in HEADER]
    for field in FIELDS:
        lines.append("")
        lines += [f"# {line}" for line in field.help]
        if field.required:
            lines.append("# 必填 / required")
        lines.append(f"{field.name}={field.example}")
    return "\r\n".join(lines) + "\r\n"


def template_bytes() -> bytes:
    return codecs.BOM_UTF8 + template_text().encode("utf-8")
