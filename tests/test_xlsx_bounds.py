"""An .xlsx is a zip: a bomb (honest or lying about its sizes) or a sheet of a million rows is
refused with a clear message before it can take the box's memory."""
import io
import struct
import zipfile

import pytest
from openpyxl import Workbook

from edgebox.errors import RosterError
from edgebox.roster_io import xlsx_sheet
from edgebox.roster_io.xlsx_sheet import read_roster_xlsx

SHEET = "xl/worksheets/sheet1.xml"


def workbook_bytes(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = workbook_bytes([["户号", "户主姓名", "地址", "电话", "组别", "中心户长", "标记"],
                       ["H11", "赵一", "一组1号", "13800138011", "东组", "是", ""],
                       ["H12", "钱二", "一组2号", "13800138012", "东组", "", ""]])


def with_member(content: bytes, name: str, data: bytes) -> bytes:
    """The workbook with one member's content replaced by ``data`` (deflated)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            copy.writestr(info.filename, data if info.filename == name else
                          source.read(info.filename))
    return out.getvalue()


def bomb_sheet(unzipped: int) -> bytes:
    """A worksheet of ``unzipped`` bytes that deflates to almost nothing (blank padding)."""
    head = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    tail = b"<sheetData/></worksheet>"
    return head + b" " * (unzipped - len(head) - len(tail)) + tail


def lie_about_size(content: bytes, name: str, declared: int) -> bytes:
    """Patch the local header and the central directory to declare ``declared`` bytes."""
    data = bytearray(content)
    encoded = name.encode()
    at = data.find(b"PK\x03\x04")
    while at >= 0:  # local headers: uncompressed size at +22, name at +30
        if data[at + 30:at + 30 + len(encoded)] == encoded:
            struct.pack_into("<I", data, at + 22, declared)
        at = data.find(b"PK\x03\x04", at + 4)
    at = data.find(b"PK\x01\x02")
    while at >= 0:  # central directory: uncompressed size at +24, name at +46
        if data[at + 46:at + 46 + len(encoded)] == encoded:
            struct.pack_into("<I", data, at + 24, declared)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def test_a_good_workbook_still_reads():
    roster = read_roster_xlsx(GOOD)
    assert [h.name for h in roster.households] == ["赵一", "钱二"]


def test_a_zip_bomb_is_refused_by_its_declared_size():
    bomb = with_member(GOOD, SHEET, bomb_sheet(200 * 1024 * 1024))
    assert len(bomb) < 1024 * 1024  # 200 MB of sheet in a few hundred KB
    with pytest.raises(RosterError) as refused:
        read_roster_xlsx(bomb)
    assert "unpacks to more than 8 MB" in str(refused.value)


def test_a_bomb_whose_directory_lies_is_refused_by_what_it_inflates_to():
    real = 40 * 1024 * 1024
    bomb = lie_about_size(with_member(GOOD, SHEET, bomb_sheet(real)), SHEET, 2000)
    assert zipfile.ZipFile(io.BytesIO(bomb)).getinfo(SHEET).file_size == 2000
    with pytest.raises(RosterError) as refused:
        read_roster_xlsx(bomb)
    assert "not an Excel workbook (.xlsx) that can be read" in str(refused.value)


def test_a_directory_that_says_less_than_the_real_total_is_caught_while_inflating(monkeypatch):
    # Each member honest-looking and under the bound, their real total over it.
    monkeypatch.setattr(xlsx_sheet, "MAX_UNZIPPED_BYTES", 64 * 1024)
    bomb = lie_about_size(with_member(GOOD, SHEET, bomb_sheet(200 * 1024)), SHEET, 1000)
    with pytest.raises(RosterError):
        read_roster_xlsx(bomb)


def test_a_million_rows_are_refused_without_reading_them_all():
    xml = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
           b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>y</t></is></c></row>'
           b'</sheetData></worksheet>')
    with pytest.raises(RosterError) as refused:
        read_roster_xlsx(with_member(GOOD, SHEET, xml))
    assert "more than 5000 rows or 200000 cells" in str(refused.value)


def test_not_a_zip_at_all_is_refused_clearly():
    with pytest.raises(RosterError) as refused:
        read_roster_xlsx(b"PK\x03\x04 but nothing after")
    assert "not an Excel workbook" in str(refused.value)
