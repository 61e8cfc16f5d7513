"""Helpers shared by the tests that run the daemon as a process against the emulator."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

# A small village sheet as an official types it: mixed phone forms, a second phone, flags.

SHEET = """户号,户主姓名,地址,电话,组别,中心户长,标记
H01,王建国,石桥村一组1号,138 0013 8001,第一组,是,
H02,李秀英,石桥村一组2号,"139 0013 8002; 0086 150 1380 0022",第一组,,独居老人
H03,张伟,石桥村一组3号,+86 186 0013 8003,第一组,,
H04,刘洋,石桥村一组4号,13700138004,第一组,,应急骨干
H05,陈静,石桥村二组1号,13600138005,第二组,是,
H06,杨磊,石桥村二组2号,13500138006,第二组,,
"""

# SHEET's phones (and ACK_SHEET's extra households') as the network shows them, and the office's.
WANG = "+8613800138001"     # H01 王建国, leader of 第一组
LI = "+8613900138002"       # H02 李秀英, 独居老人
LI_2 = "+8615013800022"     # H02's second phone
ZHANG = "+8618600138003"    # H03 张伟
LIU = "+8613700138004"      # H04 刘洋, 应急骨干
CHEN = "+8613600138005"     # H05 陈静, leader of 第二组
YANG = "+8613500138006"     # H06 杨磊
OFFICE = "+8613300138099"
TOWNSHIP = "+8613300138088"
STRANGER = "+8613912345678"

# A bigger 第一组, so that one alarm can be acknowledged in every form at once.
ACK_SHEET = SHEET + """H07,赵敏,石桥村一组7号,13100138007,第一组,,
H08,孙丽,石桥村一组8号,13200138008,第一组,,
H09,周强,石桥村一组9号,15800138009,第一组,,
H10,吴芳,石桥村一组10号,15900138010,第一组,,
"""


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "[" + ", ".join(toml_value(v) for v in value) + "]"


def query(db, sql, *args):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def config_tables(defaults: dict, settings: dict | None, ladder) -> list[str]:
    """The lines of a box's TOML: ``defaults`` overlaid with ``settings`` (table by table),
    then the ladder's [[escalation]] steps (after_minutes, actions)."""
    tables = {name: dict(values) for name, values in defaults.items()}
    for name, values in (settings or {}).items():
        tables.setdefault(name, {}).update(values)
    lines = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in values.items()]
    for after, actions in ladder:
        lines += ["[[escalation]]", f"after_minutes = {after}",
                  f"actions = {toml_value(list(actions))}"]
    return lines


def events_named(query_rows, *names: str) -> list[dict]:
    """The log's events of these kinds, oldest first, their data parsed, through
    ``query_rows(sql, *args)`` (a box's database file or the in-process village's store)."""
    marks = ",".join("?" * len(names))
    rows = query_rows(f"SELECT seq, at, kind, incident_id, data FROM events WHERE kind IN"
                      f" ({marks}) ORDER BY seq", *names)
    return [{"seq": seq, "at": datetime.fromisoformat(at), "kind": kind,
             "incident_id": incident, "data": json.loads(data)}
            for seq, at, kind, incident, data in rows]


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


def audio_port_of(emulator) -> str:
    """The modem's voice serial port as its [[modems]] table names it: a Huawei stick's voice
    port, or the audio port a test made for a SIM7600 caller's voice; "" for none."""
    if getattr(emulator, "audio_link", None):
        return emulator.audio_link
    engine = getattr(emulator, "engine", None)
    caller = engine.services.get("caller_audio") if engine is not None else None
    return caller.serial_port if caller is not None else ""


def start_box(tmp_path, emulators, extra="", ring_members=False, sheet=SHEET, wait_ready=True):
    """Import SHEET (or another sheet) and start `edgebox run` as a process on these emulators; wait for every
    modem to be ready (unless not ``wait_ready``). Returns (process, db path, config path, log path)."""
    config = tmp_path / "edgebox.toml"
    db = tmp_path / "box.db"
    modems = "".join(f'[[modems]]\nname = "m{i}"\nport = "{emu.link}"\n'
                     + (f'audio_port = "{port}"\n' if (port := audio_port_of(emu)) else "")
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
