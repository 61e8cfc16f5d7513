"""Helpers shared by the tests that run the daemon as a process against the emulator."""
import os
import signal
import sqlite3
import subprocess
import sys
import time

# A small village sheet as an official types it: mixed phone forms, a second phone, flags.

SHEET = """户号,户主姓名,地址,电话,组别,中心户长,标记
H01,王建国,石桥村一组1号,138 0013 8001,第一组,是,
H02,李秀英,石桥村一组2号,"139 0013 8002; 0086 150 1380 0022",第一组,,独居老人
H03,张伟,石桥村一组3号,+86 186 0013 8003,第一组,,
H04,刘洋,石桥村一组4号,13700138004,第一组,,应急骨干
H05,陈静,石桥村二组1号,13600138005,第二组,是,
H06,杨磊,石桥村二组2号,13500138006,第二组,,
"""

def query(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def kinds(db):
    if not os.path.exists(db):
        return []
    try:
        return [r[0] for r in query(db, "SELECT kind FROM events ORDER BY seq")]
    except sqlite3.OperationalError:
        return []


def wait_for(condition, timeout, what, log_path=None):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tail = log_path.read_text()[-3000:] if log_path else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.1)


def start_box(tmp_path, emulators, extra="", ring_members=False, sheet=SHEET, wait_ready=True):
    """Import SHEET (or another sheet) and start `edgebox run` as a process on these emulators; wait for every
    modem to be ready (unless not ``wait_ready``). Returns (process, db path, config path, log path)."""
    config = tmp_path / "edgebox.toml"
    db = tmp_path / "box.db"
    modems = "".join(f'[[modems]]\nname = "m{i}"\nport = "{emu.link}"\n'
                     for i, emu in enumerate(emulators, start=1))
    # ``extra`` is more TOML; when it has its own [alarm] table it says whether to ring too.
    alarm = "" if "[alarm]" in extra else f"[alarm]\nring_members = {str(ring_members).lower()}\n"
    config.write_text(f'[box]\ndatabase = "{db}"\n{alarm}[siren]\non_seconds = 0\n{extra}\n'
                      f'{modems}', encoding="utf-8")
    import_sheet(tmp_path, config, sheet)
    log_path = tmp_path / "daemon.log"
    daemon = start_daemon(config, log_path)
    if wait_ready:
        wait_for(lambda: kinds(db).count("modem_ready") >= len(emulators), 30, "the modems",
                 log_path)
    return daemon, db, config, log_path


def import_sheet(tmp_path, config, sheet_text=SHEET):
    """`edgebox roster import` of SHEET (or another sheet) into the config's database."""
    sheet = tmp_path / "village.csv"
    sheet.write_text(sheet_text, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "edgebox", "roster", "import", str(sheet), "--config",
                    str(config)], check=True, capture_output=True, timeout=60)


def start_daemon(config, log_path, append=False):
    """`edgebox run` as its own process, its output in ``log_path`` (added to it on a restart)."""
    with open(log_path, "a" if append else "w") as log_file:
        return subprocess.Popen([sys.executable, "-m", "edgebox", "run", "--config", str(config)],
                                stdout=log_file, stderr=subprocess.STDOUT)


def stop(daemon):
    """SIGTERM and wait; a daemon that does not stop in 30 s is killed (and the test will say
    why from its log)."""
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
