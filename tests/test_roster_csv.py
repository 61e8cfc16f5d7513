"""The roster sheet officials keep in Excel/WPS: import with line numbers, export, round trip."""
import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgebox.domain import phones
from edgebox.domain.roster import FLAG_WORDS, Group, Household, Roster
from edgebox.errors import RosterError
from edgebox.roster_io import read_roster_csv, roster_to_csv_bytes, write_roster_csv
from edgebox.roster_io.csv_sheet import MAX_REPORTED_PROBLEMS

HEADER = "户号,户主姓名,地址,电话,组别,中心户长,标记,备注"


def sheet(*lines: str, header: str = HEADER, encoding: str = "utf-8-sig") -> bytes:
    """A sheet as Excel saves it: CRLF line ends, the header on line 1."""
    return "\r\n".join((header,) + lines).encode(encoding) + b"\r\n"


def problems_of(content: bytes) -> list[str]:
    with pytest.raises(RosterError) as raised:
        read_roster_csv(content)
    return raised.value.problems


def two_groups(*extra: str) -> list[str]:
    """Lines 2-7 of a valid sheet: 第一组 on lines 2-4, 第二组 on lines 5-7."""
    return [
        ",张建国,石桥村一组 1号,13800138001,第一组,是,,",
        ",李秀英,石桥村一组 2号,13800138002,第一组,,,",
        ",王芳,石桥村一组 3号,13800138003,第一组,,,",
        ",刘德明,石桥村二组 1号,13900139001,第二组,是,,",
        ",陈桂兰,石桥村二组 2号,13900139002,第二组,,,",
        ",杨军,石桥村二组 3号,13900139003,第二组,,,",
        *extra,
    ]


REALISTIC = (
    "\ufeff序号 , 户号 ,户主姓名,地址 ,  电话,组别,中心户长,标记,备注\r\n"
    '1,,张建国,"石桥村一组 12号","138 0013 8000；139-0013-9000",第一组,是,"独居老人、应急骨干",\r\n'
    '2,,"李  秀","石桥村\n一组 3号",13700137000  150 0015 0000,第一组,,,"腿脚不好, 要多照顾"\r\n'
    ",,,,,,,,\r\n"
    "3,H001,王芳,石桥村东头 1号,+86 136 0013 6000 / 0086 13500135000,第一组,,留守儿童,\r\n"
    "4,,赵四,石桥村二组 2号,0571-88886666，13400134000,第二组,√,,\r\n"
    "5,,孙五,石桥村二组 5号,＋86 １３３ ００１３ ３０００,第二组,否,残疾 行动不便,\r\n"
    "6,,,,,,,,空户\r\n"
)


def test_realistic_sheet_imports():
    roster = read_roster_csv(REALISTIC.encode("utf-8"))
    assert roster.households == (
        Household("H002", "张建国", "石桥村一组 12号", ("+8613800138000", "+8613900139000"),
                  frozenset({"elderly_alone", "able_helper"})),
        Household("H003", "李秀", "石桥村一组 3号", ("+8613700137000", "+8615000150000"),
                  note="腿脚不好, 要多照顾"),  # the 备注 is kept for the export
        Household("H001", "王芳", "石桥村东头 1号", ("+8613600136000", "+8613500135000"),
                  frozenset({"left_behind_children"})),
        Household("H004", "赵四", "石桥村二组 2号", ("+8657188886666", "+8613400134000")),
        Household("H005", "孙五", "石桥村二组 5号", ("+8613300133000",), frozenset({"disabled"})),
    )
    assert roster.groups == (
        Group("第一组", "第一组", "H002", ("H002", "H003", "H001")),
        Group("第二组", "第二组", "H004", ("H004", "H005")),
    )


def test_gbk_sheet_as_plain_excel_csv_imports():
    content = REALISTIC.removeprefix("\ufeff").encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    assert read_roster_csv(content) == read_roster_csv(REALISTIC.encode("utf-8"))


def test_reads_from_a_path(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(sheet(*two_groups()))
    assert len(read_roster_csv(path).households) == 6
    assert len(read_roster_csv(str(path)).households) == 6


def test_unreadable_path_is_a_roster_error(tmp_path):
    with pytest.raises(RosterError, match="there is no file"):
        read_roster_csv(tmp_path / "missing.csv")
    with pytest.raises(RosterError, match="is a folder, not a sheet"):
        read_roster_csv(tmp_path)


def test_english_headers_in_any_order():
    content = sheet(
        "第一组,13800138001,张建国,yes,石桥村一组 1号",
        "第一组,13800138002,李秀英,,石桥村一组 2号",
        header=" Group ,phones,NAME,leader,address",
    )
    roster = read_roster_csv(content)
    assert [h.name for h in roster.households] == ["张建国", "李秀英"]
    assert roster.groups == (Group("第一组", "第一组", "H001", ("H001", "H002")),)


def test_title_row_above_the_header_is_skipped():
    content = "石桥村十户联防名册,,,,\r\n" + sheet(*two_groups()).decode("utf-8-sig")
    roster = read_roster_csv(content.encode("utf-8"))
    assert len(roster.households) == 6


@pytest.mark.parametrize("word", ["是", "Y", "y", "1", "√", "✓", "yes", "YES"])
def test_leader_marks(word):
    roster = read_roster_csv(sheet(
        ",甲,村 1号,13800138001,一组,,,",
        f",乙,村 2号,13800138002,一组,{word},,",
    ))
    assert roster.groups[0].leader_id == "H002"


@pytest.mark.parametrize("word", ["否", "N", "n", "0", ""])
def test_not_leader_marks(word):
    roster = read_roster_csv(sheet(
        ",甲,村 1号,13800138001,一组,是,,",
        f",乙,村 2号,13800138002,一组,{word},,",
    ))
    assert roster.groups[0].leader_id == "H001"


def test_generated_ids_skip_ids_used_in_the_sheet():
    roster = read_roster_csv(sheet(
        ",甲,村 1号,13800138001,一组,是,,",
        "H002,乙,村 2号,13800138002,一组,,,",
        ",丙,村 3号,13800138003,一组,,,",
        "H001,丁,村 4号,13800138004,一组,,,",
        ",戊,村 5号,13800138005,一组,,,",
    ))
    assert [h.id for h in roster.households] == ["H003", "H002", "H004", "H001", "H005"]


def test_missing_column():
    content = sheet(",13800138001,石桥村,第一组,是", header="户号,电话,地址,组别,中心户长")
    assert problems_of(content) == ["line 1: missing column 户主姓名"]


def test_column_twice():
    content = sheet(*two_groups(), header=HEADER + ",电话")
    assert problems_of(content) == ["line 1: column 电话 appears twice (columns D and I)"]


def test_bad_phone_names_line_and_column():
    problems = problems_of(sheet(*two_groups(), ",周平,石桥村二组 4号,138001,第二组,,,"))
    assert len(problems) == 1
    assert problems[0].startswith("line 8 (电话): '138001' ")


def test_phone_rounded_by_excel():
    problems = problems_of(sheet(*two_groups(), ",周平,石桥村二组 4号,1.38001E+10,第二组,,,"))
    assert problems == [
        "line 8 (电话): '1.38001E+10' is how Excel shows a long number it has rounded; "
        "format the column as text and type the number again"
    ]


def test_two_leaders():
    lines = two_groups()
    lines[4] = ",陈桂兰,石桥村二组 2号,13900139002,第二组,是,,"
    assert problems_of(sheet(*lines)) == ["line 5 (中心户长): group 第二组 has 2 leaders (lines 5 and 6)"]


def test_no_leader():
    lines = two_groups()
    lines[3] = ",刘德明,石桥村二组 1号,13900139001,第二组,,,"
    assert problems_of(sheet(*lines)) == [
        "line 5 (中心户长): group 第二组 has no leader; mark one of its households 是"
    ]


def test_group_of_one():
    problems = problems_of(sheet(*two_groups(), ",周平,石桥村三组 4号,13700137001,第三组,是,,"))
    assert problems == ["line 8 (组别): group 第三组 has 1 household (a group needs 2-20)"]


def test_group_of_twenty_one():
    lines = [f",户{n},村 {n}号,138{n:08d},大组,{'是' if n == 1 else ''},," for n in range(1, 22)]
    assert problems_of(sheet(*lines)) == [
        "line 2 (组别): group 大组 has 21 households (a group needs 2-20)"
    ]


def test_duplicate_phone_across_rows():
    problems = problems_of(sheet(*two_groups(), ",周平,石桥村二组 4号,137 0013 7000；138-0013-8002,第二组,,,"))
    assert problems == ["line 8 (电话): 138 0013 8002 is also the phone of line 3 (李秀英)"]


def test_same_phone_twice_in_one_cell_is_kept_once():
    roster = read_roster_csv(sheet(
        ",甲,村 1号,13800138001;138 0013 8001,一组,是,,",
        ",乙,村 2号,13800138002,一组,,,",
    ))
    assert roster.households[0].phones == ("+8613800138001",)


def test_duplicate_household_id():
    lines = two_groups()
    lines[1] = "H7,李秀英,石桥村一组 2号,13800138002,第一组,,,"
    lines[5] = "H7,杨军,石桥村二组 3号,13900139003,第二组,,,"
    assert problems_of(sheet(*lines)) == ["line 7 (户号): household id H7 is already used on line 3"]


def test_line_numbers_are_excel_rows_even_after_a_cell_with_a_line_break():
    lines = two_groups()
    lines[0] = ',张建国,"石桥村\n一组 1号",13800138001,第一组,是,,'
    lines[5] = ",杨军,石桥村二组 3号,12345,第二组,,,"
    assert problems_of(sheet(*lines))[0].startswith("line 7 (电话): '12345'")


def test_every_problem_is_reported_at_once_in_line_order():
    lines = two_groups(",周平,,13700137001,第三组,x,老人,")
    lines[1] = ",,石桥村一组 2号,,第一组,,,"
    problems = problems_of(sheet(*lines))
    assert problems == [
        "line 3 (户主姓名): empty",
        "line 3 (电话): no phone number",
        "line 8 (地址): empty",
        "line 8 (中心户长): 'x' should be 是 or empty",
        "line 8 (标记): unknown flag '老人' (known: 独居老人、留守儿童、残疾、行动不便、应急骨干、救援骨干)",
        "line 8 (组别): group 第三组 has 1 household (a group needs 2-20)",
        "line 8 (中心户长): group 第三组 has no leader; mark one of its households 是",
    ]


def test_problem_labels_use_the_sheets_own_header():
    content = sheet(",a,b 1,138001,g,yes", ",c,d 2,13800138002,g,",
                    header="id,name,address,phones,group,leader")
    assert problems_of(content)[0].startswith("line 2 (phones): '138001'")


EMPTY = "line 1: the sheet is empty; it needs a header row with 户主姓名, 地址, 电话, 组别, 中心户长"


@pytest.mark.parametrize("content, problem", [
    (b"", EMPTY),
    (b"\r\n,,,\r\n", EMPTY),
    (sheet(), "line 1: the sheet has no households below the header"),
    (b"PK\x03\x04\x14\x00\x06\x00",
     'this is an Excel workbook (.xlsx), not CSV; save it as "CSV UTF-8" first'),
    ("户主姓名".encode("utf-16"),
     'this is Excel "Unicode text" (UTF-16), not CSV; save it as "CSV UTF-8" instead'),
    (b"\x00\x01\x02binary", "this file holds binary data, not a CSV sheet"),
])
def test_not_a_roster_sheet(content, problem):
    assert problems_of(content) == [problem]


def test_absurd_cells_give_clear_problems():
    lines = two_groups(
        ",周平," + "长" * 5000 + ",13700137001,第二组,,,",
        ",吴明,石桥村二组 9号," + "1" * 200 + ",第二组,,,",
        ",郑强,石桥村二组 8号," + ";".join(f"1370013700{n}" for n in range(2, 9)) + ",第二组,,,",
    )
    problems = problems_of(sheet(*lines))
    assert problems == [
        "line 8 (地址): '" + "长" * 30 + "…' is 5000 characters long (at most 40)",
        "line 9 (电话): '" + "1" * 30 + "…' is too long to be a phone number",
        "line 10 (电话): 7 phones; a household may list at most 5",
    ]


def test_unclosed_quote_is_pointed_at():
    lines = two_groups()
    lines[2] = ',王芳,"石桥村一组 3号,13800138003,第一组,,,'
    problems = problems_of(sheet(*lines))
    assert problems[0].startswith("line 4 (地址): ")
    assert problems[0].endswith("an unclosed quote (\") may have swallowed the rows after it")


def test_cell_over_the_csv_field_limit():
    content = sheet(*two_groups(), ',周平,"' + "长" * 200_000 + '",13700137001,第二组,,,')
    assert problems_of(content) == [
        "line 8: not readable as CSV: a cell longer than 131072 characters (an unclosed quote"
        " (\") may have swallowed the rows after it)"
    ]


def test_large_valid_sheet_imports():
    lines = [
        f",户{n},村 {n}号,138{n:08d},第{n // 20}组,{'是' if n % 20 == 0 else ''},,"
        for n in range(2000)
    ]
    roster = read_roster_csv(sheet(*lines))
    assert len(roster.households) == 2000
    assert len(roster.groups) == 100


def test_large_bad_sheet_reports_the_first_problems_and_a_count():
    lines = [f",户{n},村 {n}号,138001,第{n // 20}组,{'是' if n % 20 == 0 else ''},," for n in range(2000)]
    problems = problems_of(sheet(*lines))
    assert len(problems) == MAX_REPORTED_PROBLEMS + 1
    assert problems[0].startswith("line 2 (电话): '138001'")
    hidden = 2000 - MAX_REPORTED_PROBLEMS
    assert problems[-1] == f"… and {hidden} more problems; fix the ones above and import again"


# -- export ---------------------------------------------------------------------------------------

def small_roster() -> Roster:
    return read_roster_csv(REALISTIC.encode("utf-8"))


def test_export_is_excel_friendly():
    content = roster_to_csv_bytes(small_roster())
    assert content.startswith(b"\xef\xbb\xbf")
    text = content.decode("utf-8-sig")
    assert text.count("\r\n") == 6 and "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == HEADER.replace("备注", "亲属电话,备注").split(",")
    assert rows[1] == ["H002", "张建国", "石桥村一组 12号", "138 0013 8000;139 0013 9000", "第一组", "是",
                       "独居老人、应急骨干", "", ""]
    assert rows[2][-1] == "腿脚不好, 要多照顾"
    assert rows[3][3:7] == ["136 0013 6000;135 0013 5000", "第一组", "", "留守儿童"]
    assert rows[4][3] == "0571 8888 6666;134 0013 4000"


def test_write_to_a_path(tmp_path):
    path = tmp_path / "out.csv"
    write_roster_csv(small_roster(), path)
    assert path.read_bytes() == roster_to_csv_bytes(small_roster())
    assert read_roster_csv(path) == small_roster()


def test_foreign_phones_are_written_so_they_read_back():
    roster = Roster(
        (Household("H1", "甲", "村 1号", ("+85291234567", "+14155552671")),
         Household("H2", "乙", "村 2号", ("+8613800138000",))),
        (Group("g", "g", "H1", ("H1", "H2")),),
    )
    assert "00852 9123 4567;001 415-555-2671" in roster_to_csv_bytes(roster).decode("utf-8-sig")
    assert read_roster_csv(roster_to_csv_bytes(roster)) == roster


def test_household_in_two_groups_is_one_row_naming_both():
    households = tuple(Household(f"H{n}", "甲", "村", (f"+86138001380{n:02d}",)) for n in range(3))
    roster = Roster(households, (
        Group("a", "a", "H0", ("H0", "H1")),
        Group("b", "b", "H1", ("H1", "H2")),
    ))
    content = roster_to_csv_bytes(roster).decode("utf-8-sig")
    # H1 leads b only: its leader cell names that group.
    assert content.count("H1,") == 1 and ",a、b,b," in content
    assert read_roster_csv(content.encode("utf-8")) == roster


def test_sheet_rows_in_two_groups():
    lines = two_groups()
    lines[2] = ",王芳,石桥村一组 3号,13800138003,第一组、第二组,,,"
    roster = read_roster_csv(sheet(*lines))
    assert [g.member_ids for g in roster.groups] == [("H001", "H002", "H003"),
                                                     ("H003", "H004", "H005", "H006")]
    lines[2] = ",王芳,石桥村一组 3号,13800138003,第一组；第三组,第三组,,"
    lines.append(",周平,石桥村三组 1号,13800138009,第三组,,,")
    roster = read_roster_csv(sheet(*lines))
    assert roster.group("第三组").leader_id == "H003" and roster.group("第一组").leader_id == "H001"
    lines[2] = ",王芳,石桥村一组 3号,13800138003,第一组、第三组,第九组,,"
    assert problems_of(sheet(*lines)) == [
        "line 4 (中心户长): '第九组' should be 是 or one of 第一组、第三组 or empty",
        "line 4 (中心户长): group 第三组 has no leader; mark one of its households 是"]


def test_export_refuses_a_household_in_no_group():
    households = tuple(Household(f"H{n}", "甲", "村", (f"+86138001380{n:02d}",)) for n in range(3))
    roster = Roster(households, (Group("a", "a", "H0", ("H0", "H1")),))
    with pytest.raises(RosterError) as raised:
        roster_to_csv_bytes(roster)
    assert raised.value.problems == ["household H2 is in no group; a sheet row needs one"]


def test_export_refuses_an_invalid_roster():
    roster = Roster((Household("H1", "甲", "村", ("+8613800138000",)),),
                    (Group("a", "a", "H1", ("H1",)),))
    with pytest.raises(RosterError, match="group a has 1 households"):
        roster_to_csv_bytes(roster)


# -- round trip -----------------------------------------------------------------------------------

CJK = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗建国秀英桂兰明军伟芳村组东头河边老街号"
MOBILE_PREFIXES = ["138", "139", "150", "186", "189", "199", "133", "182"]


def _valid(phone: str) -> bool:
    try:
        return phones.normalise(phone) == phone
    except phones.PhoneNumberError:
        return False


mobile = st.builds(lambda prefix, rest: f"+86{prefix}{rest:08d}",
                   st.sampled_from(MOBILE_PREFIXES), st.integers(0, 10**8 - 1)).filter(_valid)
any_phone = st.one_of(mobile, st.sampled_from(["+861012345678", "+8657188886666", "+85291234567",
                                               "+14155552671", "+447911123456"]))
word = st.text(alphabet=CJK + "ABCxyz0123456789,\"'-·", min_size=1, max_size=8)


@st.composite
def rosters(draw) -> Roster:
    sizes = draw(st.lists(st.integers(2, 6), min_size=1, max_size=4))
    total = sum(sizes)
    pool = draw(st.lists(any_phone, min_size=total * 2, max_size=total * 2, unique=True))
    ids = draw(st.lists(st.text(alphabet="HA0123456789-", min_size=1, max_size=6),
                        min_size=total, max_size=total, unique=True))
    group_names = draw(st.lists(word, min_size=len(sizes), max_size=len(sizes), unique=True))
    households, groups, taken = [], [], 0
    for group_name, size in zip(group_names, sizes):
        members = []
        for _ in range(size):
            phone_count = draw(st.integers(1, 2))
            space = draw(st.sampled_from(["", " "]))
            members.append(Household(
                id=ids[taken],
                name=draw(word),
                address=f"{draw(word)}{space}{draw(st.integers(1, 99))}号",
                phones=tuple(pool[2 * taken:2 * taken + phone_count]),
                flags=frozenset(draw(st.sets(st.sampled_from(sorted(FLAG_WORDS))))),
            ))
            taken += 1
        households += members
        leader = draw(st.sampled_from(members))
        groups.append(Group(group_name, group_name, leader.id, tuple(h.id for h in members)))
    return Roster(tuple(households), tuple(groups))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rosters())
def test_export_then_import_gives_the_same_roster(roster):
    assert read_roster_csv(roster_to_csv_bytes(roster)) == roster


@settings(max_examples=50, deadline=None)
@given(rosters())
def test_round_trip_through_gbk_resave(roster):
    # An official opens the exported sheet and saves it as plain "CSV" on a Chinese Windows.
    text = roster_to_csv_bytes(roster).decode("utf-8-sig")
    assert read_roster_csv(text.encode("gbk")) == roster


def test_relatives_phones_and_notes_are_read_and_written_back():
    sheet = (
        "户号,户主姓名,地址,电话,组别,中心户长,标记,监护人电话,备注\r\n"
        "H01,张建国,石桥村一组1号,13800138001,第一组,是,,,\r\n"
        "H02,李小明,石桥村一组2号,13800138002,第一组,,留守儿童,"
        "\"139 0013 9002；+86 150 0015 0002\",父母在杭州打工\r\n"
        "H03,王芳,石桥村一组3号,13800138003,第一组,,,,\r\n"
    ).encode("utf-8")
    roster = read_roster_csv(sheet)
    child = roster.household("H02")
    assert child.guardians == ("+8613900139002", "+8615000150002")
    assert child.note == "父母在杭州打工"
    assert roster.household("H01").guardians == ()
    exported = roster_to_csv_bytes(roster).decode("utf-8-sig")
    assert exported.splitlines()[0].endswith(",亲属电话,备注")
    assert read_roster_csv(exported.encode("utf-8")) == roster  # nothing dropped


def test_a_bad_relatives_phone_is_named_with_its_line_and_column():
    sheet = (
        "户号,户主姓名,地址,电话,组别,中心户长,亲属电话\r\n"
        "H01,张建国,石桥村一组1号,13800138001,第一组,是,\r\n"
        "H02,李小明,石桥村一组2号,13800138002,第一组,,1390013\r\n"
    ).encode("utf-8")
    [problem] = problems_of(sheet)
    assert problem.startswith("line 3 (亲属电话):"), problem


def test_daily_check_in_times_are_read_written_back_and_checked():
    sheet = (
        "户号,户主姓名,地址,电话,组别,中心户长,标记,报平安时间,备注\r\n"
        "H01,张建国,石桥村一组1号,13800138001,第一组,是,,,\r\n"
        "H02,李奶奶,石桥村一组2号,13800138002,第一组,,独居老人,8：30,\r\n"
        "H03,王芳,石桥村一组3号,13800138003,第一组,,,19:05:00,\r\n"
    ).encode("utf-8")
    roster = read_roster_csv(sheet)
    assert [h.check_in for h in roster.households] == ["", "08:30", "19:05"]
    exported = roster_to_csv_bytes(roster).decode("utf-8-sig")
    assert exported.splitlines()[0].endswith(",亲属电话,报平安时间,备注")
    assert read_roster_csv(exported.encode("utf-8")) == roster
    # A village without check-ins gets its sheet back without the column.
    plain = read_roster_csv(sheet.replace("8：30".encode(), b"").replace(b"19:05:00", b""))
    assert "报平安时间" not in roster_to_csv_bytes(plain).decode("utf-8-sig")
    [problem] = problems_of(sheet.replace("8：30".encode(), "早上八点".encode()))
    assert problem.startswith("line 3 (报平安时间): '早上八点' is not a time of day like 08:30"), \
        problem


def test_a_check_in_time_typed_into_an_excel_time_cell_is_read():
    from datetime import time

    from openpyxl import Workbook

    from edgebox.roster_io.xlsx_sheet import xlsx_to_csv_bytes
    book = Workbook()
    sheet = book.active
    sheet.append(["户主姓名", "地址", "电话", "组别", "中心户长", "报平安时间"])
    sheet.append(["张建国", "一组1号", "13800138001", "第一组", "是", None])
    sheet.append(["李奶奶", "一组2号", "13800138002", "第一组", "", time(8, 30)])
    out = io.BytesIO()
    book.save(out)
    roster = read_roster_csv(xlsx_to_csv_bytes(out.getvalue()))
    assert [h.check_in for h in roster.households] == ["", "08:30"]
