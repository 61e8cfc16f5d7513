"""Property-based and fuzz tests of everything that reads text from outside the box: the modem's
lines (bytes on the serial port, unsolicited notifications, health answers), caller numbers,
SMS commands and the village sheet.

The contract: whatever arrives, nothing crashes; an input is either understood (and then what
comes out obeys the rules below) or rejected with the product's own error type carrying words
a person can act on, never a bare exception from deep inside. The ordinary suite runs a few
hundred examples each; the long form (EDGEBOX_LONG=1) at least 100,000 each.
"""
from __future__ import annotations

import csv
import io
import logging
import queue
import re
import threading
import unicodedata
from contextlib import contextmanager
from datetime import datetime, timezone

import phonenumbers
import pytest
import serial
from gsmmodem.exceptions import CommandError
from hypothesis import assume, example, given
from hypothesis import strategies as st

from edgebox.adapters.modem import readings, ussd
from edgebox.adapters.modem.dialect import detect, dtmf_digit
from edgebox.adapters.modem.events import (DeliveryReport, IncomingCall, IncomingSms,
                                           ModemLost, UssdReply)
from edgebox.adapters.modem.gsm_patched import PatchedGsmModem
from edgebox.adapters.modem.notifications import Notifications
from edgebox.domain import sms_commands
from edgebox.domain.phones import PhoneNumberError, display, normalise, normalise_caller
from edgebox.domain.roster import FLAG_WORDS
from edgebox.emulator.sms_codec import encode_deliver_pdus, encode_status_report_pdu
from edgebox.errors import ModemError, RosterError
from edgebox.roster_io.csv_sheet import read_roster_csv, roster_to_csv_bytes
from tests.reliability.harness import fuzz_settings

pytestmark = pytest.mark.slow

E164 = re.compile(r"\+[1-9]\d{2,14}")


class _Problems(logging.Handler):
    """Collects log records at ERROR or above: a swallowed crash is still a crash."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@contextmanager
def no_logged_errors():
    handler = _Problems()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records]


# ---- the modem's lines ------------------------------------------------------------------------

NOTIFICATION_HEADS = ["RING", "+CRING: VOICE", "+CLIP: ", "+CMTI: ", "+CDSI: ", "+CDS: ",
                      "+CMT: ", "+CUSD: ", "+DTMF: ", "+QTONEDET: ", "+CTTS: ", "+QTTS: ",
                      "+COLP: ", "NO CARRIER", "BUSY", "NO ANSWER", "OK", "ERROR", "RDY",
                      "+CSQ: ", "+CREG: ", "+CEREG: ", "+CPIN: ", "+COPS: ", "+CCLK: ",
                      "+CLCC: ", "^"]
FIELD = st.one_of(
    st.integers(-5, 400).map(str),
    st.text(alphabet="0123456789+", max_size=20).map(lambda s: f'"{s}"'),
    st.text(max_size=12).map(lambda s: f'"{s}"'),
    st.text(alphabet="0123456789ABCDEFabcdef", max_size=40).map(lambda s: f'"{s}"'),
    st.sampled_from(['"SM"', '"ME"', '"SR"', "129", "145", "72", "15", '"26/11/23,08:30:00+32"',
                     '"99/99/99,99:99:99-99"', '"26/02/30,25:61:61+96"', "", " "]),
)
STRUCTURED_LINE = st.builds(lambda head, fields: head + ",".join(fields),
                            st.sampled_from(NOTIFICATION_HEADS), st.lists(FIELD, max_size=5))


@st.composite
def deliver_pdus(draw):
    """A real SMS-DELIVER or status-report PDU as a network sends it, perhaps damaged."""
    when = datetime(2026, 11, 23, 8, 30, tzinfo=timezone.utc)
    if draw(st.booleans()):
        number = draw(st.sampled_from(["+8613800138001", "13800138001", "10086", "+12025550123"]))
        text = draw(st.text(max_size=200))
        pdus = encode_deliver_pdus(number, text, when, "+8613800100500",
                                   concat_reference=draw(st.integers(0, 255)))
        hex_text = draw(st.sampled_from(pdus)).hex
    else:
        hex_text = encode_status_report_pdu("+8613800100500", draw(st.integers(0, 255)),
                                            "+8613800138001", when, when,
                                            draw(st.integers(0, 255))).hex
    damage = draw(st.sampled_from(["none", "cut", "flip", "lower"]))
    if damage == "cut":
        hex_text = hex_text[:draw(st.integers(0, len(hex_text)))]
    elif damage == "flip" and hex_text:
        at = draw(st.integers(0, len(hex_text) - 1))
        hex_text = hex_text[:at] + draw(st.sampled_from("0123456789ABCDEFZ ")) + hex_text[at + 1:]
    elif damage == "lower":
        hex_text = hex_text.lower()
    return hex_text


LINE = st.one_of(STRUCTURED_LINE, st.text(max_size=80), deliver_pdus(),
                 st.text(alphabet="0123456789ABCDEF", max_size=120))
# A +CMT/+CDS header is followed by its PDU line, so pairs are drawn together as well.
PDU_PAIR = st.tuples(st.sampled_from(["+CMT: ,24", "+CDS: 25", "+CMT: ", "+CDS: "]),
                     st.one_of(deliver_pdus(), st.text(max_size=60)))
LINES = st.lists(st.one_of(LINE.map(lambda line: (line,)), PDU_PAIR), max_size=12).map(
    lambda groups: [line for group in groups for line in group])


class _RefusingLibrary:
    """The AT library of a modem that refuses every read (+CMS ERROR: 321, an empty slot)."""

    def _handleSmsReceived(self, line):
        raise CommandError("AT+CMGR", "CMS", 321)

    def readStoredSms(self, index, memory):
        raise CommandError("AT+CMGR", "CMS", 321)

    def deleteStoredSms(self, index, memory):
        raise CommandError("AT+CMGD", "CMS", 321)

    def listStoredSms(self, status, memory=None, delete=False):
        return []


class _FakeModem:
    """What Notifications needs of SerialModem: a name, the event queue, the port lock, the
    library and the dialect (how USSD is encoded), without a port."""

    def __init__(self):
        self.name = "m1"
        self.dialect = detect("", "")
        self.events: queue.Queue = queue.Queue()
        self.in_outgoing_call = False
        self.library = _RefusingLibrary()
        self._exchange = threading.RLock()

    def exchange(self):
        return self._exchange


def _check_event(event) -> None:
    if isinstance(event, IncomingCall):
        assert event.digits is None or isinstance(event.digits, str)
        assert event.ton is None or isinstance(event.ton, int)
    elif isinstance(event, IncomingSms):
        assert isinstance(event.number, str) and isinstance(event.text, str)
    elif isinstance(event, DeliveryReport):
        assert 0 <= event.reference <= 255 and 0 <= event.status <= 255
    elif isinstance(event, UssdReply):
        assert isinstance(event.text, str)
    else:
        assert isinstance(event, ModemLost), event
    assert event.modem == "m1"


@fuzz_settings(400)
@given(LINES, st.booleans())
@example(["+CMT: ,24", ""], False)  # a header whose PDU line is empty
@example(["+CDSI: \"SR\",5"], False)  # a report announced in a slot that turns out empty
@example(['+CCLK: "26/11/23,08:30:00+99"'], False)
def test_notification_lines_are_understood_or_refused_with_a_modem_error(lines, calling):
    modem = _FakeModem()
    modem.in_outgoing_call = calling
    notes = Notifications(modem)
    for line in lines:
        try:
            notes._handle(line)
        except ModemError as exc:
            assert str(exc).strip(), f"an empty ModemError for {line!r}"
    while not modem.events.empty():
        _check_event(modem.events.get())


class _Port:
    """A serial port that hands over ``chunks`` as they arrived, then is pulled out."""

    def __init__(self, chunks: list[bytes]):
        self._chunks = list(chunks)

    @property
    def in_waiting(self) -> int:
        return len(self._chunks[0]) if self._chunks else 0

    def read(self, size: int = 1) -> bytes:
        if not self._chunks:
            raise serial.SerialException("device reports readiness to read but returned no data")
        return self._chunks.pop(0)

    def close(self) -> None:
        pass


def _expected_lines(data: bytes) -> list[str]:
    """The reader's contract: every CRLF-terminated line, NULs dropped, bad UTF-8 replaced,
    empty lines skipped; a last line without its CRLF is not a line yet."""
    segments = data.split(b"\r\n")[:-1]
    decoded = (s.replace(b"\x00", b"").decode("utf-8", errors="replace") for s in segments)
    return [line for line in decoded if line]


BYTES_ON_THE_WIRE = st.lists(st.one_of(
    st.binary(max_size=64),
    STRUCTURED_LINE.map(lambda line: line.encode("utf-8") + b"\r\n"),
    st.sampled_from([b"\r\n", b"\r", b"\n", b"\x00", b"\xff\xfe", b"\xe4\xb8", b"\xad\r\n",
                     b"RING\r\n", b'+CLIP: "13800138001",129\r\n']),
), max_size=30)


@fuzz_settings(300)
@given(BYTES_ON_THE_WIRE, st.data())
def test_the_port_reader_splits_any_bytes_into_lines_and_reports_the_port_lost(pieces, data):
    wire = b"".join(pieces)
    assume(len(wire) < 60000)  # the reader drops 64 KiB without a line end, by design
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(wire) - 1)), max_size=8)))
    chunks = [wire[a:b] for a, b in zip([0] + cuts, cuts + [len(wire)]) if wire[a:b]]
    lines, lost = [], []
    modem = PatchedGsmModem("loop://", 115200, "none", on_line=lines.append,
                            on_lost=lost.append, on_sms=lambda sms: None)
    modem.serial = _Port(chunks)
    modem.alive = True
    with no_logged_errors():
        modem._readLoop()  # on this thread: it returns once the port is gone
    assert lines == _expected_lines(wire)
    assert len(lost) == 1 and lost[0] and not modem.alive
    # and the lines go on to the notification path without a crash
    notes = Notifications(_FakeModem())
    for line in lines:
        try:
            notes._handle(line)
        except ModemError as exc:
            assert str(exc).strip()


HEALTH_ANSWERS = st.lists(st.one_of(STRUCTURED_LINE, st.text(max_size=60)), max_size=6)


@fuzz_settings(500)
@given(HEALTH_ANSWERS)
@example(['+CCLK: "26/11/23,08:30:00+99"'])  # a zone beyond ±24 h
@example(['+CCLK: "26/11/23,08:30:00-96"'])
@example(['+CSQ: 99,99'])
def test_health_answers_never_crash_the_health_check(lines):
    rssi = readings.signal(lines)
    assert rssi is None or (isinstance(rssi, int) and rssi >= 0)
    reg = readings.registration(lines)
    assert reg is None or (reg[0] in readings.REGISTRATION.values() and reg[1] in ("2G", "4G"))
    sim = readings.sim_state(lines)
    assert sim is None or isinstance(sim, str)
    operator = readings.operator(lines)
    assert operator is None or (isinstance(operator, str) and operator)
    when = readings.network_time(lines)
    assert when is None or when.utcoffset().total_seconds() == 0
    for line in lines:
        for packed in (False, True):
            text = ussd.decode(line, packed)
            assert text is None or isinstance(text, str)
        amount = readings.balance(line)
        assert amount is None or isinstance(amount, float)
        key = dtmf_digit(line)
        assert key is None or (len(key) == 1 and key.isprintable())


# ---- caller numbers ---------------------------------------------------------------------------

DIGITS = "0123456789"
FULL_WIDTH = "０１２３４５６７８９"


@st.composite
def typed_numbers(draw):
    """A phone number as people and modems write it: prefixes, separators, full-width digits."""
    prefix = draw(st.sampled_from(["", "+", "+86", "0086", "86", "＋86", "0", "00", "+1", "+852"]))
    digits = draw(st.text(alphabet=DIGITS + FULL_WIDTH, min_size=0, max_size=18))
    out = []
    for ch in digits:
        out.append(ch)
        if draw(st.integers(0, 5)) == 0:
            out.append(draw(st.sampled_from([" ", "-", "(", ")", ".", "·", "/", "  ", "　", "_"])))
    return prefix + "".join(out)


NUMBERS = st.one_of(typed_numbers(), st.text(max_size=30))


@fuzz_settings(1000)
@given(NUMBERS, st.sampled_from(["CN", "CN", "US", "HK"]))
@example("138 0013 8000", "CN")
@example("", "CN")
@example("+", "CN")
@example("0" * 40, "CN")
def test_a_typed_number_is_e164_or_a_phone_number_error(raw, region):
    try:
        number = normalise(raw, region)
    except PhoneNumberError as exc:
        assert str(exc).strip()
        return
    assert E164.fullmatch(number), number
    assert phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    assert normalise(number, region) == number  # E.164 in, the same out
    home = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    if home == region:  # the national form the box shows reads back as the same number
        assert normalise(display(number), region) == number


@fuzz_settings(1000)
@given(NUMBERS, st.sampled_from([None, 129, 145, 161, 0, 255]))
@example(None, None)
@example("8613800138000", 145)
@example("+8613800138000", 145)
@example("4930000000000000", 145)  # valid to libphonenumber, but 16 digits is no E.164 number
def test_a_caller_id_is_e164_or_none_and_never_raises(digits, ton):
    number = normalise_caller(digits, ton, "CN")
    assert number is None or E164.fullmatch(number)


MOBILE = st.builds(lambda second, rest: f"1{second}{rest}", st.sampled_from("3456789"),
                   st.text(alphabet=DIGITS, min_size=9, max_size=9))


@fuzz_settings(1000)
@given(MOBILE, st.data())
def test_every_spelling_of_a_mobile_number_finds_the_same_household(national, data):
    e164 = f"+86{national}"
    assume(phonenumbers.is_valid_number(phonenumbers.parse(e164, None)))
    grouped = f"{national[:3]} {national[3:7]} {national[7:]}"
    wide = national.translate({ord(d): ord(w) for d, w in zip(DIGITS, FULL_WIDTH)})
    spelling = data.draw(st.sampled_from([national, grouped, e164, f"0086{national}",
                                          f"+86 {grouped}", f"＋86{wide}", wide,
                                          f"{national[:3]}-{national[3:7]}-{national[7:]}"]))
    assert normalise(spelling, "CN") == e164
    # and from the modem: national digits (129) or international without or with its + (145)
    assert normalise_caller(national, 129, "CN") == e164
    assert normalise_caller(f"86{national}", 145, "CN") == e164
    assert normalise_caller(e164, 145, "CN") == e164


# ---- SMS commands -----------------------------------------------------------------------------

COMMAND_WORDS = (list(sms_commands.CANCEL_WORDS) + list(sms_commands.BROADCAST_WORDS)
                 + list(sms_commands.ADMIN_WORDS) + list(sms_commands.ADMIN_ACTIONS)
                 + list(sms_commands.VILLAGE_WORDS)
                 + [w for words in sms_commands.TYPE_WORDS.values() for w in words]
                 + ["1", "１", "到", "收到", "马上到", "OK", "GB", "广播", "第二组", "二组", "2组",
                    "第2组", "第十二组", "十组", "1234", "12345678", "123", "王五",
                    "138 0013 8000", "+8613800138000", "13800138000"])
SEPARATORS = [" ", "", "：", ":", ",", "，", "、", "\t", "\n", "  ", "。", "!"]


@st.composite
def sms_texts(draw):
    words = draw(st.lists(st.one_of(st.sampled_from(COMMAND_WORDS), st.text(max_size=8)),
                          max_size=6))
    out = []
    for word in words:
        out.append(word)
        out.append(draw(st.sampled_from(SEPARATORS)))
    text = "".join(out)
    if draw(st.booleans()):  # typed with a Chinese input method: full-width ASCII
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    return text


GROUP_NAMES = st.lists(st.one_of(
    st.sampled_from(["第一组", "第二组", "第三组", "第十组", "第十二组", "第二十组", "第12组", "一组",
                     "东头", "十十组", "第十十组", "二十十组", "第九十九组", "第一百组", "组"]),
    st.text(min_size=1, max_size=20)), max_size=4, unique=True).map(tuple)
REPORT_TYPES = set(sms_commands.TYPE_WORDS) | {"other"}


def fold(text: str) -> str:
    """Width-folded and trimmed, as the parser reads words (NFKC may add a space: ¨ is " ̈")."""
    return unicodedata.normalize("NFKC", text).strip()


@fuzz_settings(1000)
@given(st.one_of(sms_texts(), st.text(max_size=200)), GROUP_NAMES)
@example("广播 十十组 明天停水", ("十十组",))
@example("广播 ¨ ", ())
@example("管理 1234 加 王五 138 0013 8000", ())
@example("", ())
def test_an_sms_is_one_command_or_a_rejection_with_words(text, groups):
    command = sms_commands.parse_sms(text, groups)
    if isinstance(command, sms_commands.Rejected):
        assert command.reason.strip()
    elif isinstance(command, sms_commands.Broadcast):
        assert command.text.strip()
        assert command.group is None or command.group in groups
    elif isinstance(command, sms_commands.Admin):
        assert re.fullmatch(r"\d{4,8}", command.pin)
        assert command.action in ("add", "remove", "list")
        if command.action == "add":
            assert command.name and command.phone
        if command.action == "remove":
            assert command.phone and command.name is None
    elif isinstance(command, sms_commands.Report):
        assert command.alarm_type in REPORT_TYPES and command.text.strip()
    else:
        assert isinstance(command, (sms_commands.Acknowledge, sms_commands.Cancel)), command
    # the same words in full-width characters or with spaces around mean the same (a notice
    # and a report keep the sender's own characters: the same once folded)
    folded = unicodedata.normalize("NFKC", text)
    again = sms_commands.parse_sms(f"  {folded} ", groups)
    if isinstance(command, sms_commands.Broadcast):
        assert isinstance(again, sms_commands.Broadcast) and again.group == command.group
        assert fold(again.text) == fold(command.text)
    elif isinstance(command, sms_commands.Report):
        assert isinstance(again, sms_commands.Report)
        assert again.alarm_type == command.alarm_type
        assert fold(again.text) == fold(command.text)
    else:
        assert again == command
    # what the log keeps of an admin command no longer carries its PIN
    if isinstance(command, sms_commands.Admin):
        again = sms_commands.parse_sms(sms_commands.redact_pin(text), groups)
        assert not (isinstance(again, sms_commands.Admin) and again.pin == command.pin)


# ---- the village sheet ------------------------------------------------------------------------

HEADERS = ["户号", "户主姓名", "地址", "电话", "组别", "中心户长", "标记", "备注", "序号", "id", "name",
           "phones", "group", "leader", "", "电话 ", "组 别"]
CELLS = st.one_of(
    st.sampled_from(["王建国", "李秀英", "石桥村一组1号", "第一组", "第二组", "是", "否", "", "√", "y",
                     "独居老人", "应急骨干、残疾", "helper", "H01", "H01", "1.38001E+10",
                     "138 0013 8001", "139 0013 8002; 0086 150 1380 0022", "+86 186 0013 8003",
                     "13700138004", "13600138005", "13500138006", "010-12345678", "12345",
                     '"', "a\nb", "=1+1", "石桥村石桥村石桥村石桥村石桥村石桥村石桥村石桥村石桥村"]),
    typed_numbers(), st.text(max_size=25))


@st.composite
def sheets(draw) -> bytes:
    rows = []
    for _ in range(draw(st.integers(0, 2))):  # title rows above the header
        rows.append([draw(st.text(max_size=20))])
    header = draw(st.permutations(HEADERS[:7]))
    header = header[:draw(st.integers(4, 7))] + draw(st.lists(st.sampled_from(HEADERS),
                                                              max_size=2))
    rows.append(header)
    for _ in range(draw(st.integers(0, 8))):
        rows.append(draw(st.lists(CELLS, min_size=0, max_size=len(header) + 1)))
    out = io.StringIO(newline="")
    csv.writer(out, dialect="excel").writerows(rows)
    text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:  # a damaged file: some bytes changed
        at = draw(st.integers(0, max(0, len(data) - 1)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at + 1:]
    return data


@st.composite
def good_sheets(draw) -> bytes:
    """A sheet that is right, typed in the many ways officials type it."""
    rows = [["户号", "户主姓名", "地址", "电话", "组别", "中心户长", "标记"]]
    serial = 0
    for group in range(draw(st.integers(1, 3))):
        size = draw(st.integers(2, 6))
        leader = draw(st.integers(0, size - 1))
        for member in range(size):
            serial += 1
            phone = f"1390013{serial:04d}"
            spelled = draw(st.sampled_from([phone, f"{phone[:3]} {phone[3:7]} {phone[7:]}",
                                            f"+86 {phone}", f"0086{phone}"]))
            flags = draw(st.lists(st.sampled_from([w for ws in FLAG_WORDS.values() for w in ws]),
                                  max_size=2))
            rows.append([draw(st.sampled_from(["", f"H{serial:02d}"])), f"户主{serial}",
                         f"石桥村{group + 1}组{member + 1}号", spelled, f"第{group + 1}组",
                         draw(st.sampled_from(["是", "√", "1"])) if member == leader else "",
                         "、".join(flags)])
    out = io.StringIO(newline="")
    csv.writer(out, dialect="excel").writerows(rows)
    return out.getvalue().encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"])))


FILE_LEVEL = ("this is", "this file holds", "the file is neither")


def _check_sheet(data: bytes):
    try:
        roster = read_roster_csv(data)
    except RosterError as exc:
        assert exc.problems and all(isinstance(p, str) and p.strip() for p in exc.problems)
        for problem in exc.problems:
            # each names the sheet's line (or, for a file that is not a sheet at all, says so)
            assert problem.startswith(("line ", "… and ")) or problem.startswith(FILE_LEVEL), \
                problem
        return None
    assert roster.problems() == []
    assert read_roster_csv(roster_to_csv_bytes(roster)) == roster  # and writes back the same
    return roster


@fuzz_settings(300)
@given(st.one_of(sheets(), st.binary(max_size=400)))
@example(b"")
@example(b"\xef\xbb\xbf")
@example(b"PK\x03\x04rest")
@example('户主姓名,地址,电话,组别,中心户长\n"王建国,石桥村,138\n'.encode())
def test_any_file_is_a_roster_or_a_roster_error_naming_lines(data):
    _check_sheet(data)


@fuzz_settings(200)
@given(good_sheets())
def test_a_right_sheet_however_typed_is_read(data):
    roster = _check_sheet(data)
    assert roster is not None
    assert all(E164.fullmatch(p) for h in roster.households for p in h.phones)
