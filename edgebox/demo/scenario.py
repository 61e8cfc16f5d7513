"""``edgebox demo``: a scripted alarm in a simulated village, end to end over a pty.

The real daemon (the same composition root as ``edgebox run``) talks AT through pyserial and
python-gsmmodem-new to the modem emulator on a pseudo-terminal. The network is time-compressed
(SMS submit, call set-up and ring length are a fraction of real ones) so the whole story plays in
well under a minute, and the timeline is printed live from the events the store commits.
"""
from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path

from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.config_file import parse_config
from edgebox.daemon.app import build_daemon
from edgebox.demo.village import VILLAGE, build_village, escalation_numbers
from edgebox.domain.timeline import contacts_of, describe
from edgebox.emulator import EmulatorServer, Latency
from edgebox.i18n import N_, display_width, padded, table, words as words_in
from edgebox.store import SqliteStore
from edgebox.store.logged_event import Event
from edgebox.store.times import utc_now

# The network keeps real modems' shape (2.5-3 s submits with a long tail, 3.5-7 s call setup,
# RING every 5-6 s, TTS and delivery reports taking their time), about thirteen times faster.
# The story's time goes mostly to the eleven ring calls (one at a time: one voice line) and
# the twenty SMS; at this pace it plays in about 15 s, a line or two a second, which a person
# watching still reads, and `scripts/demo` reruns in under 20 s.
TIME_SCALE = 0.075
# A ring call's length, scaled further than the network (a real box rings 25 s): the demo's
# rings are rung out, nobody answers, and only their order matters to the story.
RING_SECONDS = 0.8
SIREN_SECONDS = 3
DEADLINE_SECONDS = 50

WORDS = table(
    "demo.",
    N_("demo.title", "Joint-defence demo: {village}, {groups} groups, {households} households"),
    N_("demo.call", "{name} ({group}, {address}) calls the box"),
    N_("demo.ack", "{name} replies \"{text}\""),
    N_("demo.summary", "Summary"),
    N_("demo.relay", "siren relay"),
    N_("demo.ok", "everything delivered"),
    N_("demo.bad", "some deliveries did not complete"),
)
# The summary's lines, by the keys of its JSON (which stay as they are for scripts).
SUMMARY = table(
    "demo_summary.",
    N_("demo_summary.incidents", "alarms"),
    N_("demo_summary.sms_sent", "SMS sent"),
    N_("demo_summary.calls_placed", "ring calls made"),
    N_("demo_summary.acks", "acknowledgements"),
    N_("demo_summary.failures", "failed deliveries"),
    N_("demo_summary.pending", "still to send"),
    N_("demo_summary.emulator_sms", "SMS the network carried"),
    N_("demo_summary.emulator_calls", "calls the network carried"),
    N_("demo_summary.delivery_reports", "delivery reports"),
    N_("demo_summary.reports_unmatched", "reports matching no SMS"),
    N_("demo_summary.caller_rejected_after_s", "caller hung up on after (s)"),
    N_("demo_summary.siren_on_s", "siren sounded (s)"),
    N_("demo_summary.events", "events logged"),
    N_("demo_summary.duration_s", "story took (s)"),
)
ACK_TEXTS = ("1", "收到，马上到")


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo: gave up waiting for {what}")
        time.sleep(0.05)


def _demo_config(workdir: Path, link: str, lang: str, office: list[str]):
    text = f"""
[box]
id = "demo-village"
language = "{lang}"
database = "{workdir / 'edgebox.db'}"
[[modems]]
name = "demo"
port = "{link}"
[numbers]
office = {json.dumps(office)}
[siren]
backend = "simulated"
on_seconds = {SIREN_SECONDS}
"""
    # Ring length below the 5 s a real box allows: the demo's network is time-compressed.
    return parse_config(text, "demo").with_overrides(alarm__ring_seconds=RING_SECONDS)


def run_demo(as_json: bool = False, lang: str = "zh", out=None) -> bool:
    out = out or sys.stdout
    words = words_in(lang, "demo.", WORDS)
    roster = build_village()
    office = list(escalation_numbers().office_numbers)
    with tempfile.TemporaryDirectory(prefix="edgebox-demo-") as tmp:
        workdir = Path(tmp)
        emulator = EmulatorServer(link=str(workdir / "modem"),
                                  latency=Latency.realistic(scale=TIME_SCALE))
        emulator.start()
        try:
            store = SqliteStore(workdir / "edgebox.db")
            store.roster.replace(roster, utc_now(), source="demo village")
            store.close()
            config = _demo_config(workdir, emulator.link, lang, office)
            gpio = SimulatedGPIO()
            daemon = build_daemon(config, gpio=gpio)
            contacts = contacts_of(config.numbers_office, config.numbers_township)
            return _play(daemon, emulator, gpio, roster, words, lang, contacts, as_json, out)
        finally:
            emulator.stop()


def _play(daemon, emulator, gpio, roster, words, lang, contacts, as_json, out) -> bool:
    print(words["title"].format(village=VILLAGE, groups=len(roster.groups),
                                households=len(roster.households)), file=out)
    started = [None]
    printed = threading.Lock()

    def show(event: Event) -> None:
        if started[0] is None:
            return
        with printed:
            line = describe(event.as_dict(), roster, lang, contacts)
            print(f"  +{time.monotonic() - started[0]:5.1f}s  {line}",
                  file=out, flush=True)

    daemon.store.subscribe(show)
    daemon.start()
    store = daemon.store
    try:
        _wait(lambda: daemon.modems_ready() == len(daemon.workers), 10, "the modem")
        group = roster.groups[0]
        caller = roster.members(group.id)[2]
        started[0] = time.monotonic()
        print("  +  0.0s  " + words["call"].format(name=caller.name, group=group.name,
                                                    address=caller.address), file=out, flush=True)
        # The phone dials the box the way Chinese networks present it: national digits.
        emulator.call(caller.primary_phone.removeprefix("+86"), rings=6)
        # The plan is committed just after the incident (once the call is rejected): wait for
        # it, or the ring order below could be read empty.
        _wait(lambda: store.incidents.all() and store.outbox.all(store.incidents.all()[0].id), 10,
              "the incident and its plan")
        incident = store.incidents.all()[0]
        ring_order = [d for d in store.outbox.all(incident.id) if d.kind == "call"]
        # Two neighbours hear their phone ring, read the SMS and reply.
        for delivery, text in zip(ring_order[:2], ACK_TEXTS):
            _wait(lambda: store.outbox.get(delivery.id).state == "sent", DEADLINE_SECONDS,
                  "a ring call")
            neighbour = roster.household(delivery.household_id)
            with printed:
                print(f"  +{time.monotonic() - started[0]:5.1f}s  "
                      + words["ack"].format(name=neighbour.name, text=text), file=out, flush=True)
            emulator.sms(neighbour.primary_phone, text)
        _wait(lambda: len(store.incidents.acks(incident.id)) == 2
              and store.outbox.pending_count() == 0
              and not daemon.siren.is_on, DEADLINE_SECONDS, "the alarm to finish")
    finally:
        daemon.stop()
    summary = _summary(store, emulator, gpio, daemon.siren.pin, started[0])
    _print_summary(summary, words, lang, out)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False), file=out)
    return summary["failures"] == 0 and summary["pending"] == 0


def _summary(store, emulator, gpio, siren_pin: int, started: float) -> dict:
    figures = store.summary()
    modem_log = emulator.log()
    relay = [(t, level) for t, pin, level in gpio.history if pin == siren_pin]
    on_at = next((t for t, level in relay if level), None)
    off_at = next((t for t, level in relay if on_at is not None and t > on_at and not level),
                  None)
    return {
        "incidents": figures.incidents,
        "sms_sent": figures.sms_sent,
        "calls_placed": figures.calls_placed,
        "acks": figures.acks,
        "failures": figures.failures,
        "pending": figures.pending,
        "emulator_sms": sum(e["kind"] == "sms_sent" for e in modem_log),
        "emulator_calls": sum(e["kind"] == "call_placed" for e in modem_log),
        "delivery_reports": sum(e["kind"] == "delivery_report" for e in modem_log),
        # reports the box could not match to their SMS (filed, or still held at the end)
        "reports_unmatched": len(store.events_of_kinds(["delivery_report_unmatched"]))
        + store.reports.held_count(),
        "caller_rejected_after_s": next((e.get("rejected_after") for e in modem_log
                                         if e["kind"] == "call_received"), None),
        "siren_on_s": round(off_at - on_at, 2) if on_at and off_at else None,
        "events": figures.events,
        "duration_s": round(time.monotonic() - started, 1),
    }


def _print_summary(summary: dict, words: dict, lang: str, out) -> None:
    print(f"\n{words['summary']}:", file=out)
    labels = words_in(lang, "demo_summary.", SUMMARY)
    width = max(display_width(label) for label in labels.values()) + 2
    for key, value in summary.items():
        print(f"  {padded(labels.get(key, key), width)}{value}", file=out)
    verdict = words["ok"] if summary["failures"] == 0 and summary["pending"] == 0 else words["bad"]
    print(f"  => {verdict}", file=out, flush=True)
