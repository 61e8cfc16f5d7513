"""Real modem transcripts replayed against the real daemon.

Each file in tests/transcripts/ is what a real modem (SIM800/SIM900, SIM7600/A76xx, EC25/EC21,
Huawei sticks, …) was seen to send, with its source in its header, and what the daemon must do
with it (``# expect:`` lines, see tests/transcripts/README.md). The daemon runs as its own
process on the replay modem's pty; the checks read what the replay modem received and what the
database holds. A case that fails because of a known break carries ``# xfail: <which break>``:
it is marked strict, so the day the break is fixed the case turns red until the mark goes.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from gsmmodem.pdu import decodeSmsPdu

from tests.replay.modem import TIME_SCALE, ReplayModem
from tests.replay.transcript import TranscriptError, load, matches
from tests.support import import_sheet, kinds, query, start_daemon, stop, wait_for

pytestmark = pytest.mark.slow

CASES_DIR = Path(__file__).parent / "transcripts"
CASES = sorted(CASES_DIR.glob("*.txt"))
OFFICE = "+8613300138099"
# Generous bounds, never durations asserted for speed: the machine running the tests is shared.
WAIT = 30
QUIET = 6  # longer than any wait of the daemon with the line idle (a 5 s ring call)
REJECT_BOUND = 10  # seconds from the first ring line to ATH / AT+CHUP: before voicemail diverts
SETTLE = 1.0  # after the last replayed line: time for a wrong reaction to show
HANG_UPS = ("ATH", "ATH0", "AT+CHUP", "AT+CHLD=0")
RING_LINES = (b"RING", b"+CRING", b"+CLIP", b"+CCWA")


def _case_param(path: Path):
    transcript = load(path)
    reason = " ".join(transcript.header.get("xfail", []))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.fixture(scope="module")
def village_db(tmp_path_factory):
    """The test village imported once; each case starts from a copy (an import is a process)."""
    where = tmp_path_factory.mktemp("village")
    config = where / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{where / "box.db"}"\n[[modems]]\nport = "unused"\n',
                      encoding="utf-8")
    import_sheet(where, config)
    return where / "box.db"


@pytest.mark.parametrize("case", [_case_param(p) for p in CASES])
def test_transcript(case, tmp_path, village_db):
    transcript = load(case)
    # A case about the daemon's own clock (ring repeats 5 s apart) plays its pauses in real time.
    scale = float(transcript.first("time-scale", str(TIME_SCALE)))
    replay = ReplayModem(transcript, str(tmp_path / "modem"), scale).start()
    db = tmp_path / "box.db"
    shutil.copy(village_db, db)
    extra = "\n".join(transcript.header.get("config", []))
    alarm = "" if "[alarm]" in extra else "[alarm]\nring_members = false\n"
    config = tmp_path / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{db}"\n{alarm}[siren]\non_seconds = 0\n'
                      f'[numbers]\noffice = ["{OFFICE}"]\n{extra}\n'
                      f'[[modems]]\nname = "m1"\nport = "{replay.link}"\n', encoding="utf-8")
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(config, log_path)
    try:
        wait_for(lambda: "modem_ready" in kinds(db), WAIT, "the modem to be ready", log_path)
        replay.fire("ready")
        for word, argument in transcript.expectations:
            CHECKS[word](Case(replay, db, log_path), argument)
        settle(replay)
        for word, argument in transcript.expectations:
            if word in AFTERWARDS:
                AFTERWARDS[word](Case(replay, db, log_path), argument)
        assert daemon.poll() is None, "the daemon stopped:\n" + log_path.read_text()[-3000:]
    finally:
        stop(daemon)
        replay.stop()
    output = log_path.read_text()
    assert "Traceback" not in output, output[-4000:]


def settle(replay):
    wait_for(lambda: not replay.busy, WAIT, "the transcript to be played out")
    time.sleep(SETTLE)


class Case:
    def __init__(self, replay, db, log_path):
        self.replay, self.db, self.log_path = replay, db, log_path
        self.transcript = replay.transcript

    def wait(self, condition, what):
        """Wait for ``condition``. A case marked for a known break is expected to fail: it
        stops waiting once the line has been quiet for QUIET seconds with the transcript
        played out (nothing more is coming), so the known breaks do not cost WAIT each."""
        if not self.transcript.first("xfail"):
            wait_for(condition, WAIT, what, self.log_path)
            return
        wait_for(lambda: condition() or self.replay.quiet_for() > QUIET, WAIT, what,
                 self.log_path)
        assert condition(), (f"nothing more came and still no {what}\n"
                             + self.log_path.read_text()[-3000:])

    def events(self, kind):
        return [json.loads(data) for (data,) in
                query(self.db, "SELECT data FROM events WHERE kind = ? ORDER BY seq", kind)]

    def received(self, pattern):
        return [r for r in self.replay.commands() if matches(pattern, r.text)]


# -- what a case may expect (# expect: <word> <argument>) ------------------------------------

def callers(case):
    return [h for (h,) in query(case.db, "SELECT caller_household_id FROM incidents")]


def expect_incident(case, household):
    """An alarm for this household: the caller recognised."""
    case.wait(lambda: household in callers(case), f"an incident for {household}")


def only_expected_incidents(case, _):
    """Once played out: one incident for each household the case names, no other."""
    expected = sorted(a for w, a in case.transcript.expectations if w == "incident")
    assert sorted(callers(case)) == expected


def expect_rejected(case, within):
    """The call hung up (free for the caller) within REJECT_BOUND (or the case's own bound, in
    seconds) of its first ring line."""
    bound = float(within or REJECT_BOUND)
    rang = min(t for t in (case.replay.first_sent(p) for p in RING_LINES) if t is not None)

    def hung_up():
        return min((r.at for p in HANG_UPS for r in case.received(p) if r.at >= rang),
                   default=None)
    case.wait(lambda: hung_up() is not None or time.monotonic() - rang > bound,
              "the call to be hung up")
    assert hung_up() is not None and hung_up() - rang <= bound, \
        f"not hung up within {bound:.0f} s of the first ring line"


def expect_pdus(case, count):
    """Every SMS the daemon recorded as sent went out as PDUs whose AT+CMGS=<n> is the TPDU's
    octet count, addressed to that delivery's phone and carrying its text."""
    def finished():
        return query(case.db, "SELECT count(*) FROM deliveries WHERE kind = 'sms' AND state = "
                              "'sent'")[0][0] >= int(count) and not query(
            case.db, "SELECT 1 FROM deliveries WHERE kind = 'sms' AND state IN ('pending', "
                     "'sending')")
    case.wait(finished, f"{count} SMS to be sent")
    sent = query(case.db, "SELECT phone, text FROM deliveries WHERE kind = 'sms' AND state = "
                          "'sent' ORDER BY id")
    texts: dict[str, list[str]] = {}
    for pdu in case.replay.pdus():
        octets = bytes.fromhex(pdu.text)
        assert pdu.length == len(octets) - 1 - octets[0], f"AT+CMGS={pdu.length} for {pdu.text}"
        decoded = decodeSmsPdu(pdu.text)
        assert decoded["type"] == "SMS-SUBMIT"
        texts.setdefault(decoded["number"], []).append(decoded["text"])
    for phone, text in sent:
        assert text in "".join(texts.get(phone, [])), f"no PDU to {phone} carries {text!r}"


def expect_sms_read(case, index):
    """The announced SMS read from the modem, kept in the inbox, then deleted there."""
    case.wait(lambda: case.received(f"AT+CMGD={index}*"), f"AT+CMGD={index}")
    read = [r.at for r in case.received(f"AT+CMGR={index}") + case.received("AT+CMGL=*")]
    deleted = case.received(f"AT+CMGD={index}*")[0].at
    assert read and min(read) < deleted, "deleted before it was read"
    assert query(case.db, "SELECT count(*) FROM inbox")[0][0] >= 1


def expect_inbox(case, text):
    case.wait(lambda: any(text in t for (t,) in query(case.db, "SELECT text FROM inbox")),
              f"an SMS with {text!r} in the inbox")


def expect_ussd(case, text):
    """The USSD answer decoded and logged (the balance event)."""
    case.wait(lambda: case.events("modem_balance"), "the USSD answer to be logged")
    logged = [e.get("text") or "" for e in case.events("modem_balance")]
    assert any(text in t for t in logged), f"{text!r} not in the logged answer {logged}"


def expect_balance(case, amount):
    case.wait(lambda: any(e.get("balance") == float(amount)
                          for e in case.events("modem_balance")), f"balance {amount}")


def expect_health(case, field_value):
    """A health reading of the modem: e.g. ``registration=home``, ``signal=19``."""
    field, _, value = field_value.partition("=")
    case.wait(lambda: any(str(v) == value for (v,) in
                          query(case.db, f"SELECT {field} FROM modem_health")),
              f"a health reading with {field_value}")


def expect_ack(case, household):
    case.wait(lambda: query(case.db, "SELECT 1 FROM acks WHERE household_id = ?", household),
              f"an acknowledgement from {household}")


def expect_unknown_caller(case, number):
    """Logged as an unknown caller, with the number as the box normalised it."""
    case.wait(lambda: any(e["number"] == (number or e["number"])
                          for e in case.events("unknown_caller")), "an unknown caller event")


def nothing_yet(case, _):
    """Checked once the transcript is played out (see AFTERWARDS)."""


def no_incident(case, _):
    assert query(case.db, "SELECT count(*) FROM incidents")[0][0] == 0


def no_escalation(case, _):
    """The ring repeats of one call are that call: no repeat, no ladder step."""
    assert case.events("repeat_call") == []
    # Every incident of the case (one per household that called) is still at step 0.
    assert all(s == 0 for (s,) in query(case.db, "SELECT escalation_step FROM incidents"))


def modem_kept(case, _):
    """The modem stays in service: started once, never lost, reset or taken out."""
    seen = kinds(case.db)
    assert seen.count("modem_ready") == 1
    assert not {"modem_lost", "modem_reset", "modem_unavailable", "modem_out_of_service"} \
        & set(seen)


def expect_identity(case, identity):
    """The modem's maker and model as the daemon read them at start-up."""
    assert [e["identity"] for e in case.events("modem_ready")] == [identity]


def expect_deleted(case, index):
    """A stored report or SMS read (AT+CMGR) and then deleted (AT+CMGD) at this index."""
    case.wait(lambda: case.received(f"AT+CMGD={index}*"), f"AT+CMGD={index}")
    read = case.received(f"AT+CMGR={index}")
    assert read and read[0].at < case.received(f"AT+CMGD={index}*")[0].at


def expect_call_result(case, result):
    """A ring call to a member ended with this result (no_answer, answered, …)."""
    case.wait(lambda: case.events("call_placed"), "a ring call to end")
    assert [e["result"] for e in case.events("call_placed")][0] == result


def expect_caller(case, phone):
    """The caller's number as the box understood it (E.164), on the incident."""
    case.wait(lambda: query(case.db, "SELECT caller_phone FROM incidents"), "an incident")
    assert query(case.db, "SELECT caller_phone FROM incidents")[0][0] == phone


CHECKS = {"incident": expect_incident, "rejected": expect_rejected, "pdus": expect_pdus,
          "sms-read": expect_sms_read, "inbox": expect_inbox, "ussd": expect_ussd,
          "balance": expect_balance, "health": expect_health, "ack": expect_ack,
          "unknown-caller": expect_unknown_caller, "caller": expect_caller,
          "identity": expect_identity, "deleted": expect_deleted,
          "call-result": expect_call_result,
          "no-incident": nothing_yet, "no-escalation": nothing_yet, "modem-kept": nothing_yet}
AFTERWARDS = {"no-incident": no_incident, "no-escalation": no_escalation,
              "modem-kept": modem_kept, "incident": only_expected_incidents}


# -- the corpus itself -------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_every_case_names_its_source_and_what_must_happen(case):
    transcript = load(case)
    assert transcript.header.get("source"), "a case says where its lines come from"
    assert transcript.header.get("title")
    assert transcript.expectations, "a case says what the daemon must do"
    unknown = {word for word, _ in transcript.expectations} - set(CHECKS)
    assert not unknown, f"unknown expectations {unknown}"
    assert transcript.blocks or any(w in ("health", "identity") for w, _ in
                                    transcript.expectations), "nothing is ever sent"


def test_a_bad_transcript_line_is_named(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("# title: x\n> AT\n< OK\n? what\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"bad.txt line 4: unknown line '\? what'"):
        load(bad)
    bad.write_text("# title: x\n< OK\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match="line 2: '<' before any '>' or '@' line"):
        load(bad)
