"""What the reliability tests share: the short or long form, and a box of our own making.

EDGEBOX_LONG=1 selects the long form (scripts/reliability --long): more examples, more calls,
more points. Everything else here drives the real daemon as a process, like tests/support.py,
with room for a bigger village and a database somewhere else.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

from tests.support import kinds, wait_for

LONG = os.environ.get("EDGEBOX_LONG") == "1"
FUZZ_EXAMPLES_LONG = 100_000


def fuzz_settings(short_examples: int):
    """Hypothesis settings for one fuzz test: a quick run in the ordinary suite, at least
    100,000 examples in the long form."""
    return settings(max_examples=FUZZ_EXAMPLES_LONG if LONG else short_examples,
                    deadline=None, suppress_health_check=[HealthCheck.too_slow])


def village_sheet(groups: int, households_per_group: int) -> tuple[str, list[list[str]]]:
    """A sheet of ``groups`` groups; returns it and each group's phones (the leader first).
    Phones are 139 0000 GGHH: group GG, household HH."""
    rows = ["户号,户主姓名,地址,电话,组别,中心户长,标记"]
    phones = []
    for g in range(1, groups + 1):
        group_phones = []
        for h in range(1, households_per_group + 1):
            phone = f"1390000{g:02d}{h:02d}"
            group_phones.append(f"+86{phone}")
            rows.append(f"G{g:02d}H{h:02d},户主{g}-{h},石桥村{g}组{h}号,{phone},第{g}组,"
                        f"{'是' if h == 1 else ''},")
        phones.append(group_phones)
    return "\n".join(rows) + "\n", phones


def write_box(tmp_path: Path, port: str, body: str, sheet: str, database: Path | None = None
              ) -> tuple[Path, Path]:
    """Write the config (``body`` is TOML without the [box] table and the modem) and import the
    sheet. Returns (config path, database path)."""
    database = database or tmp_path / "box.db"
    config = tmp_path / "edgebox.toml"
    config.write_text(f'[box]\ndatabase = "{database}"\n{body}\n'
                      f'[[modems]]\nname = "m1"\nport = "{port}"\n', encoding="utf-8")
    sheet_path = tmp_path / "village.csv"
    sheet_path.write_text(sheet, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "edgebox", "roster", "import", str(sheet_path),
                    "--config", str(config)], check=True, capture_output=True, timeout=60)
    return config, database


def start_daemon(config: Path, log_path: Path, env: dict | None = None) -> subprocess.Popen:
    with open(log_path, "a") as log_file:
        return subprocess.Popen([sys.executable, "-m", "edgebox", "run", "--config",
                                 str(config)], stdout=log_file, stderr=subprocess.STDOUT,
                                env=env)


def wait_ready(db: Path, log_path: Path, count: int = 1, timeout: float = 60) -> None:
    wait_for(lambda: kinds(db).count("modem_ready") >= count, timeout, "the modem", log_path)


def stop_daemon(daemon: subprocess.Popen) -> None:
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(10)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, in KiB (VmRSS in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"process {pid} has no VmRSS")


def sms_to(entries: list[dict], number: str | None = None) -> list[dict]:
    return [e for e in entries if e["kind"] == "sms_sent"
            and (number is None or e["number"] == number)]


def event_seqs_have_no_gaps(db: Path) -> bool:
    from tests.support import query
    seqs = [r[0] for r in query(db, "SELECT seq FROM events ORDER BY seq")]
    return seqs == list(range(1, len(seqs) + 1))
