"""The same 14 alarm SMS sent by edgebox, by smstools3 (smsd) and by gammu-smsd, each on its own
emulated modem of the same profile and latency, one after the other in one run.

- edgebox: the alarm is a member's call; the clock starts when the modem shows its +CLIP and
  stops when the 14th alarm SMS has been submitted (edgebox rejects the call, records and plans
  the alarm, then texts every other household of the 15-household group).
- smstools3: ``smsd`` with a spool directory; the clock starts as the bench begins putting the
  14 message files into ``outgoing/`` (each written beside it and renamed in, as its manual
  asks) and stops when the 14th SMS has been submitted.
- gammu-smsd: the files backend; the clock starts as the bench begins calling
  ``gammu-smsd-inject`` for the 14 messages and stops when the 14th has been submitted.

Each is configured as its manual says. Both SMS daemons poll their spool, so both are given the
shortest documented poll (smsd ``delaytime = 1``, gammu-smsd ``CommTimeout = 1``); with their
defaults (10 s and 30 s) the first message may wait that long. The texts and numbers are the
ones edgebox sent. The network charges 3 s per submit, /50 as in the fan-out benchmark.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from edgebox.emulator import EmulatorServer, Latency

from bench.harness import box_process, plain_roster, wait_until

SCALE = 50
SUBMIT_SECONDS = 3.0 / SCALE
HOUSEHOLDS = 15  # one phone each: an alarm texts the 14 others
CALLER = "G01H01"
EDGEBOX_CONFIG = """[alarm]
ring_members = false
[siren]
on_seconds = 0
"""
NOT_INSTALLED = "{program} is not installed (scripts/bench installs it from Debian)"


def _latency() -> Latency:
    # Real networks' shape SCALE times faster, without jitter: every tool meets the same one.
    return Latency.realistic(scale=1 / SCALE, sms_submit=SUBMIT_SECONDS * SCALE, jitter=False)


def _sent(emulator, wanted: int, timeout: float = 120) -> list[dict]:
    entries = emulator.wait_for(
        lambda log: sum(e["kind"] == "sms_sent" for e in log) >= wanted, timeout)
    return [e for e in entries if e["kind"] == "sms_sent"]


def _figures(tool: str, started: float, sent: list[dict], messages: list[tuple[str, str]]):
    if sorted((e["number"], e["text"]) for e in sent) != sorted(messages):
        raise RuntimeError(f"{tool} did not send the 14 alarm SMS as given")
    last = max(e["clock"] for e in sent)
    return {"tool": tool, "messages": len(sent), "seconds": round(last - started, 4),
            "modem_bound_seconds": round(sum(e["submit_seconds"] for e in sent), 4)}


def run_edgebox(work: Path) -> tuple[dict, list[tuple[str, str]]]:
    roster = plain_roster(1, HOUSEHOLDS)
    caller = roster.household(CALLER)
    members = {h.primary_phone for h in roster.households if h.id != CALLER}
    with EmulatorServer(link=str(work / "edgebox-modem"), latency=_latency(),
                        trace=True) as emulator, \
            box_process([emulator], roster, EDGEBOX_CONFIG):
        call_id = emulator.call(caller.primary_phone, rings=3, ring_interval=1.0)
        entries = emulator.wait_for(lambda log: sum(
            e["kind"] == "sms_sent" and e["number"] in members for e in log) == len(members), 60)
    shown = next(e["clock"] for e in entries
                 if e["kind"] == "clip_emitted" and e["call"] == call_id)
    sent = [e for e in entries if e["kind"] == "sms_sent" and e["number"] in members]
    messages = [(e["number"], e["text"]) for e in sent]
    return _figures("edgebox", shown, sent, messages), messages


def run_smstools(work: Path, messages: list[tuple[str, str]]) -> dict:
    if shutil.which("smsd") is None:
        return {"tool": "smstools3", "skipped": NOT_INSTALLED.format(program="smsd")}
    spool = work / "smstools"
    dirs = {name: spool / name for name in ("outgoing", "checked", "failed", "incoming",
                                            "sent", "staging")}
    for path in dirs.values():
        path.mkdir(parents=True)
    log_file = spool / "smsd.log"
    with EmulatorServer(link=str(spool / "modem"), latency=_latency()) as emulator:
        config = spool / "smsd.conf"
        config.write_text(f"""# smstools3 as its manual configures a single modem, sending only
devices = GSM1
outgoing = {dirs['outgoing']}
checked = {dirs['checked']}
failed = {dirs['failed']}
incoming = {dirs['incoming']}
sent = {dirs['sent']}
logfile = {log_file}
loglevel = 5
infofile = {spool / 'smsd.working'}
pidfile = {spool / 'smsd.pid'}
delaytime = 1

[GSM1]
device = {spool / 'modem'}
baudrate = 115200
incoming = no
""", encoding="utf-8")
        daemon = subprocess.Popen(["smsd", "-c", str(config), "-t"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: log_file.exists()
                       and "Waiting for messages to send" in log_file.read_text("latin-1"), 60)
            started = time.monotonic()
            for n, (number, text) in enumerate(messages):
                staged = dirs["staging"] / f"alarm{n:02d}"
                staged.write_text(f"To: {number.lstrip('+')}\nAlphabet: UTF\n\n{text}",
                                  encoding="utf-8")
                os.rename(staged, dirs["outgoing"] / staged.name)
            sent = _sent(emulator, len(messages))
        finally:
            _stop(daemon)
    return _figures("smstools3", started, sent, messages)


def run_gammu(work: Path, messages: list[tuple[str, str]]) -> dict:
    if shutil.which("gammu-smsd") is None or shutil.which("gammu-smsd-inject") is None:
        return {"tool": "gammu-smsd", "skipped": NOT_INSTALLED.format(program="gammu-smsd")}
    spool = work / "gammu"
    dirs = {name: spool / name for name in ("inbox", "outbox", "sent", "error")}
    for path in dirs.values():
        path.mkdir(parents=True)
    with EmulatorServer(link=str(spool / "modem"), latency=_latency()) as emulator:
        config = spool / "smsdrc"
        config.write_text(f"""# gammu-smsd with the files backend, as gammu-smsdrc(5) describes it
[gammu]
device = {spool / 'modem'}
connection = at115200

[smsd]
service = files
logfile = {spool / 'smsd.log'}
debuglevel = 0
inboxpath = {dirs['inbox']}/
outboxpath = {dirs['outbox']}/
sentsmspath = {dirs['sent']}/
errorsmspath = {dirs['error']}/
CommTimeout = 1
""", encoding="utf-8")
        daemon = subprocess.Popen(["gammu-smsd", "-c", str(config)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: _gammu_connected(config), 60, poll=0.2)
            started = time.monotonic()
            for number, text in messages:
                subprocess.run(["gammu-smsd-inject", "-c", str(config), "TEXT", number,
                                "-unicode", "-text", text], check=True, capture_output=True,
                               timeout=30)
            sent = _sent(emulator, len(messages))
        finally:
            _stop(daemon)
    return _figures("gammu-smsd", started, sent, messages)


def _gammu_connected(config: Path) -> bool:
    """gammu-smsd-monitor shows the modem's IMSI once the daemon has set the modem up."""
    status = subprocess.run(["gammu-smsd-monitor", "-c", str(config), "-n", "1", "-d", "0"],
                            capture_output=True, text=True, timeout=30).stdout
    return any(line.startswith("IMSI: ") and line.strip() != "IMSI:"
               for line in status.splitlines())


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(quick: bool = False) -> dict:
    rounds = 1 if quick else 3
    runs = []
    with tempfile.TemporaryDirectory(prefix="edgebox-bench-tools-") as tmp:
        for n in range(rounds):
            work = Path(tmp) / f"round{n}"
            work.mkdir()
            edgebox, messages = run_edgebox(work)
            runs += [edgebox, run_smstools(work, messages), run_gammu(work, messages)]
    summary = []
    for tool in ("edgebox", "smstools3", "gammu-smsd"):
        mine = [r for r in runs if r["tool"] == tool]
        timed = sorted(r["seconds"] for r in mine if "seconds" in r)
        if not timed:
            summary.append({"tool": tool, "skipped": mine[0]["skipped"]})
            continue
        summary.append({"tool": tool, "messages": mine[0]["messages"], "rounds": len(timed),
                        "median_seconds": timed[len(timed) // 2],
                        "modem_bound_seconds": mine[0]["modem_bound_seconds"]})
    base = summary[0]["median_seconds"]
    for entry in summary:
        if "median_seconds" in entry:
            entry["ratio_to_edgebox"] = round(entry["median_seconds"] / base, 2)
    return {"name": "tools", "submit_seconds": SUBMIT_SECONDS, "summary": summary,
            "runs": runs}


def table(result: dict) -> list[str]:
    lines = [f"tools: the same 14 alarm SMS, {result['submit_seconds']} s per submit (emulated)",
             "  tool          alarm to last SMS s   modem-bound s   vs edgebox"]
    for r in result["summary"]:
        if "skipped" in r:
            lines.append(f"  {r['tool']:<12}  skipped: {r['skipped']}")
            continue
        lines.append(f"  {r['tool']:<12}  {r['median_seconds']:>19.3f}"
                     f"   {r['modem_bound_seconds']:>13.3f}   {r['ratio_to_edgebox']:>9.2f}x")
    return lines
