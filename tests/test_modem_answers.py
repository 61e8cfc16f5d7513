"""What modems say in ways the daemon must read right, against the real daemon: boot lines
inside identification answers, the balance USSD in every encoding, errors in words, network
time switched on, delivery reports announced at the wrong slot, withheld callers."""

import pytest

from edgebox.emulator import PROFILES, EmulatorServer, Latency
from edgebox.emulator.profiles import HUAWEI_E3531
from tests.support import kinds, query, start_box, stop, wait_for

pytestmark = pytest.mark.slow

OFFICE = "+8613300138099"
OFFICE_TOML = f'[numbers]\noffice = ["{OFFICE}"]\n'
GROUP_ONE = ["+8613800138001", "+8613900138002", "+8615013800022", "+8613700138004",
             "+8618600138003"]


def texts_to(emulator, number):
    return [e["text"] for e in emulator.log() if e["kind"] == "sms_sent" and e["number"] == number]


def all_sent(db):
    return query(db, "SELECT count(*) FROM deliveries WHERE state != 'sent'")[0][0] == 0 and \
        query(db, "SELECT count(*) FROM deliveries")[0][0] > 0


@pytest.fixture
def run_box(tmp_path):
    """Start the daemon on one emulator; both are stopped at the end."""
    started = []

    def run(emulator, extra="", prepare=lambda emulator: None):
        emulator.start()
        started.append(emulator)
        prepare(emulator)  # faults set through the running emulator, before the box starts
        daemon, db, _, log_path = start_box(tmp_path, [emulator], extra=extra)
        started.append(daemon)
        return db, log_path
    yield run
    for thing in reversed(started):
        stop(thing) if not isinstance(thing, EmulatorServer) else thing.stop()


@pytest.mark.parametrize("profile, family, dtmf", [("ec25", "quectel", "dtmf_detect"),
                                                   ("sim800", "simcom", "dtmf_detect")])
def test_boot_lines_inside_the_identification_answers_do_not_hide_the_dialect(
        tmp_path, run_box, profile, family, dtmf):
    # Switched on with the box: the modem is still booting when the daemon first asks it.
    emulator = EmulatorServer(profile, Latency.realistic(scale=0.02, reboot=30.0),
                              link=str(tmp_path / "modem"),
                              boot=True)
    db, _ = run_box(emulator)
    assert [e["command"] for e in emulator.log() if e["kind"] == "boot_line_in_answer"]
    [ready] = query(db, "SELECT json_extract(data, '$.family') FROM events"
                        " WHERE kind = 'modem_ready'")
    assert ready[0] == family
    assert getattr(emulator.engine.settings, dtmf) == 1  # key 1 is heard in ring calls
    assert "modem_restarted" not in kinds(db)  # its own start-up is not a restart


CHINESE = "尊敬的客户，您的账户余额为1.20元。"
ENGLISH = "Your balance is 1.20 yuan"


@pytest.mark.parametrize("profile, style, balance", [
    (PROFILES["sim7600"], "ucs2", CHINESE),          # dcs 72
    (PROFILES["sim7600"], "ucs2_dcs15", CHINESE),    # UCS-2 hex under dcs 15 (+CSCS="UCS2")
    (PROFILES["sim800"], "text", ENGLISH),           # plain text, dcs 15
    (HUAWEI_E3531, "packed", ENGLISH),               # packed GSM 7-bit both ways
])
def test_a_low_balance_in_any_encoding_texts_the_office(tmp_path, run_box, profile, style,
                                                        balance):
    emulator = EmulatorServer(profile, Latency.realistic(scale=0.02),
                              link=str(tmp_path / "modem"))
    emulator.engine.network.balance_text = balance
    emulator.engine.network.ussd_style = style
    db, log_path = run_box(emulator, extra='[modem]\nbalance_ussd = "*100#"\nlow_balance = 5\n'
                                           + OFFICE_TOML)
    wait_for(lambda: texts_to(emulator, OFFICE), 30, "the low-balance SMS", log_path)
    assert "1.20" in texts_to(emulator, OFFICE)[0]
    [request] = [e["request"] for e in emulator.log() if e["kind"] == "ussd"][:1]
    assert request == "*100#"  # understood: packed for the Huawei stick, plain for the rest


def test_a_submit_refused_in_words_fails_at_once_and_is_retried(tmp_path, run_box):
    emulator = EmulatorServer("sim800", Latency.realistic(scale=0.02, sms_submit=5),
                              link=str(tmp_path / "modem"))
    db, log_path = run_box(emulator, extra="[modem]\nsms_timeout = 60\nretry_seconds = 0.5\n",
                           # +CMS ERROR: Network timeout (in words, after AT+CMEE=2), once
                           prepare=lambda emu: emu.sms_error("13800138001", 332, count=1))
    emulator.call("18600138003")
    # Far inside the 60 s the old reader waited for a final result it did not recognise.
    wait_for(lambda: all_sent(db), 20, "every text", log_path)
    assert emulator.engine.settings.cmee == 2
    [(attempts, error)] = query(db, "SELECT attempts, json_extract(e.data, '$.error') FROM"
                                    " deliveries d JOIN events e ON e.kind = 'delivery_retry'"
                                    " AND json_extract(e.data, '$.delivery') = d.id"
                                    " WHERE d.phone = '+8613800138001' AND d.purpose = 'alarm'")
    assert attempts == 2 and "Network timeout" in error
    assert "modem_reset" not in kinds(db)
    assert {e["number"] for e in emulator.log() if e["kind"] == "sms_sent"} == set(GROUP_ONE)


@pytest.mark.parametrize("profile, setting, value", [("sim800", "clts", 1), ("ec25", "ctzu", 3),
                                                     ("generic", "ctzu", 1)])
def test_network_time_is_switched_on_before_the_clock_is_read(tmp_path, run_box, profile,
                                                              setting, value):
    emulator = EmulatorServer(profile, Latency.realistic(scale=0.02),
                              link=str(tmp_path / "modem"))
    db, log_path = run_box(emulator)
    wait_for(lambda: "modem_health" in kinds(db), 30, "a health check", log_path)
    assert getattr(emulator.engine.settings, setting) == value
    [(network_time,)] = query(db, "SELECT network_time FROM modem_health")
    assert network_time and not network_time.startswith(("2004", "1980", "2000"))


@pytest.mark.parametrize("how", ["empty", "other_memory"])
def test_a_report_announced_at_the_wrong_slot_is_found_or_dropped_without_a_traceback(
        tmp_path, run_box, how):
    # A report comes a moment after its submit, as on a real network.
    emulator = EmulatorServer("sim800", Latency.realistic(scale=0.02, delivery_report=50),
                              link=str(tmp_path / "modem"))
    db, log_path = run_box(emulator, prepare=lambda emu: emu.report_slot(how))
    emulator.call("18600138003")
    wait_for(lambda: all_sent(db), 30, "every text", log_path)
    wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE report IS NOT NULL")[0][0]
             == len(GROUP_ONE), 30, "the reports, found by sweeping", log_path)
    assert "Traceback" not in log_path.read_text()


def test_withheld_callers_are_told_to_the_office_once_an_hour(tmp_path, run_box):
    emulator = EmulatorServer("generic", Latency.realistic(scale=0.02),
                              link=str(tmp_path / "modem"))
    db, log_path = run_box(emulator, extra=OFFICE_TOML)
    for n in range(2):
        before = kinds(db).count("unknown_caller")
        emulator.call("", rings=3)  # +CLIP: "",128: the number withheld
        wait_for(lambda: kinds(db).count("unknown_caller") == before + 1, 30, "the call",
                 log_path)
        # Over (hung up on) before the next: that one is a new call, not this one ringing on.
        wait_for(lambda: sum(e["kind"] == "call_received" for e in emulator.log()) == n + 1,
                 30, "the call over", log_path)
    wait_for(lambda: texts_to(emulator, OFFICE), 30, "the office notice", log_path)
    [notice] = texts_to(emulator, OFFICE)
    assert "隐藏号码" in notice
    said = query(db, "SELECT json_extract(data, '$.notice') FROM events"
                     " WHERE kind = 'unknown_caller' ORDER BY seq")
    assert [s for (s,) in said] == ["forward", "quiet"]
    assert query(db, "SELECT count(*) FROM incidents")[0][0] == 0
