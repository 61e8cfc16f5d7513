"""kill -9 halfway through a fan-out: the next start finishes it. Nobody skipped, nobody texted
more than twice, and the event log has no gaps."""
import collections
import signal

import pytest

from edgebox.emulator import EmulatorServer, Latency
from tests.support import import_sheet, kinds, query, start_daemon, stop, wait_for

pytestmark = pytest.mark.slow

GROUP_ONE_OTHERS = ["+8613800138001", "+8613900138002", "+8615013800022", "+8613700138004"]


def test_kill_9_mid_fan_out_resumes_from_the_outbox(tmp_path):
    # Slow SMS submits so the kill lands while the alarm texts are still going out: three
    # seconds of them left when the test sees the second one sent, a margin no slow poll eats.
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=0.02, sms_submit=50, call_setup=2.5,
                                                        ring_timeout=15))
    emulator.start()
    config = tmp_path / "edgebox.toml"
    db = tmp_path / "box.db"
    config.write_text(f'[box]\ndatabase = "{db}"\n'
                      '[alarm]\nring_members = false\n[siren]\non_seconds = 0\n'
                      f'[[modems]]\nport = "{tmp_path / "modem"}"\n', encoding="utf-8")
    import_sheet(tmp_path, config)
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(config, log_path)
    try:
        wait_for(lambda: "modem_ready" in kinds(db), 30, "the daemon", log_path)
        emulator.call("18600138003")
        wait_for(lambda: kinds(db).count("sms_sent") >= 2, 30, "two texts out", log_path)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
        texted_before = len([e for e in emulator.log() if e["kind"] == "sms_sent"])
        assert texted_before < 5, "the kill came too late to test anything"

        daemon = start_daemon(config, log_path, append=True)
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE state != 'sent'")[0][0]
                 == 0, 60, "the outbox to drain after the restart", log_path)
    finally:
        stop(daemon)
        emulator.stop()

    received = collections.Counter(e["number"] for e in emulator.log() if e["kind"] == "sms_sent")
    for phone in GROUP_ONE_OTHERS + ["+8618600138003"]:
        assert 1 <= received[phone] <= 2, (phone, received)
    assert sum(received.values()) - len(received) <= 1  # at most the one in flight, twice
    assert query(db, "SELECT count(*) FROM incidents") == [(1,)]
    assert query(db, "SELECT count(*) FROM deliveries") == [(5,)]  # planned once, not twice
    seqs = [r[0] for r in query(db, "SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
