"""The disk fills while the box runs: the database lives on a small filesystem of its own (a
size-limited tmpfs) which something else fills to the last byte. The box must still raise the
alarm, and say that the disk is full: in its log and by SMS to the office."""
from __future__ import annotations

import errno
import os
import subprocess

import pytest

from edgebox.domain.messages import render
from edgebox.emulator import EmulatorServer, Latency
from tests.reliability.harness import (event_seqs_have_no_gaps, sms_to, start_daemon,
                                       stop_daemon, wait_ready, write_box)
from tests.support import SHEET, kinds, query, wait_for

pytestmark = pytest.mark.slow

OFFICE = "+8613300138099"
GROUP_ONE_OTHERS = ["+8613800138001", "+8613900138002", "+8615013800022", "+8613700138004"]
FILESYSTEM_MIB = 16  # the database, its WAL and the box's 8 MiB reserve, and little else


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of a few MiB mounted for this test alone; skipped where mounting is not allowed."""
    mount_point = tmp_path / "data"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FILESYSTEM_MIB}m,mode=0755",
                              "edgebox-test", str(mount_point)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for the database (needs root or CAP_SYS_ADMIN):"
                    f" {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def fill(directory) -> int:
    """Write a file until the filesystem has no byte left; returns its size."""
    written = 0
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for block in (65536, 4096, 512, 1):
            while True:
                try:
                    written += os.write(fd, b"\0" * block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    return written


def test_a_full_disk_still_raises_the_alarm_and_tells_the_office(tmp_path, small_disk):
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency.realistic(scale=0.02, sms_submit=1, call_setup=1,
                                                        ring_timeout=15))
    emulator.start()
    config, db = write_box(
        tmp_path, str(tmp_path / "modem"),
        f'[alarm]\nring_members = false\n[siren]\non_seconds = 0\n'
        f'[numbers]\noffice = ["{OFFICE}"]\n', SHEET, database=small_disk / "box.db")
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(config, log_path)
    try:
        wait_ready(db, log_path)
        filler = fill(small_disk)
        assert os.statvfs(small_disk).f_bavail == 0
        assert "disk_full" not in kinds(db)

        emulator.call("18600138003")  # 张伟 of the first group calls
        wait_for(lambda: all(sms_to(emulator.log(), p) for p in GROUP_ONE_OTHERS)
                 and sms_to(emulator.log(), OFFICE), 60,
                 "the alarm SMS to the group and the notice to the office", log_path)

        # and a later alarm still goes through, on what is left of the reserve
        emulator.call("13600138005")  # 陈静, leader of the second group
        wait_for(lambda: sms_to(emulator.log(), "+8613500138006"), 60,
                 "the second group's alarm", log_path)
        wait_for(lambda: query(db, "SELECT count(*) FROM deliveries WHERE state IN "
                                   "('pending','sending')")[0][0] == 0, 60, "the outbox to drain",
                 log_path)
    finally:
        stop_daemon(daemon)
        emulator.stop()

    log = emulator.log()
    alarm = render("zh", "alarm", group="第一组", caller="张伟", address="石桥村一组3号")
    for phone in GROUP_ONE_OTHERS:
        assert [e["text"] for e in sms_to(log, phone)] == [alarm]
    assert [e["text"] for e in sms_to(log, OFFICE)] == [render("zh", "disk_full")]
    assert query(db, "SELECT caller_household_id FROM incidents ORDER BY id") == [("H03",),
                                                                                  ("H05",)]
    events = kinds(db)
    assert events.count("disk_full") == 1
    assert events.index("disk_full") < events.index("incident_opened")  # the alarm needed it
    assert events[-1] == "daemon_stopped"  # even the last word was written
    assert event_seqs_have_no_gaps(db)
    (free_kib, reserve_kib), = query(
        db, "SELECT json_extract(data, '$.free_kib'), json_extract(data, '$.reserve_kib')"
            " FROM events WHERE kind = 'disk_full'")
    assert free_kib < 1024 <= reserve_kib and filler > 0
    assert "disk_full" in log_path.read_text() or "存储已满" in log_path.read_text()
    assert "Traceback" not in log_path.read_text()
