"""``edgebox emulator …``: run a modem emulator and drive it from the command line."""
from __future__ import annotations

import json
import signal
import threading

import click

from edgebox.emulator.control import EmulatorClient
from edgebox.emulator.fault_controls import REPORT_SLOT_FAULTS
from edgebox.emulator.profiles import PROFILES, USSD_STYLES, get_profile
from edgebox.emulator.pty_server import EmulatorServer
from edgebox.emulator.timing import Latency

control_option = click.option("--control", "control", required=True, metavar="SOCKET",
                              help="Unix socket of the running emulator.")


@click.group()
def emulator():
    """A GSM modem emulator on a pty, for tests and demos without hardware.

    \b
    Example:
      edgebox emulator serve --link /tmp/modem --control /tmp/emu.sock
    """


@emulator.command()
@click.option("--link", metavar="PATH", help="Stable symlink to the pty (replaced if stale).")
@click.option("--control", metavar="SOCKET", required=True, help="Unix socket for control commands.")
@click.option("--profile", default="generic", show_default=True, type=click.Choice(sorted(PROFILES)),
              help="Which modem to imitate.")
@click.option("--time-scale", type=float, default=1.0, show_default=True,
              help="Every network duration times this (0.05: twenty times faster); never 0.")
@click.option("--sms-latency", type=float, default=None,
              help="Typical seconds per SMS part before +CMGS answers [real networks: 2.75,"
                   " with a tail to 15].")
@click.option("--call-setup", type=float, default=None,
              help="Typical seconds from ATD until the callee's phone alerts [5, 3.5-7].")
@click.option("--ring-timeout", type=float, default=None,
              help="Seconds of alerting before NO ANSWER [30].")
@click.option("--tts-per-char", type=float, default=None,
              help="Seconds of TTS playback per character [0.25].")
@click.option("--delivery-report", type=float, default=None,
              help="Typical seconds from +CMGS until a requested delivery report arrives [4].")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the timing's jitter: the same seed, the same run.")
@click.option("--reboot-time", type=float, default=0.5, show_default=True,
              help="Seconds a reset (AT+CFUN=1,1, fault reboot) keeps the modem away.")
@click.option("--sim-not-ready", type=float, default=None, metavar="SECONDS",
              help="The SIM is not ready for this long after start.")
@click.option("--log-file", type=click.Path(dir_okay=False), default=None,
              help="Also append every log entry to this file as a JSON line, as it happens.")
@click.option("--audio-dir", type=click.Path(file_okay=False), default=None,
              help="Also write every sound played into a call here (call-<id>-<n>.wav).")
@click.option("--boot", is_flag=True,
              help="Power the modem up with the emulator: its boot lines are the first output.")
@click.option("--profile-flag", "profile_flags", multiple=True,
              type=click.Choice(["clip_without_ring", "interleave_urcs"]),
              help="Turn on a dialect quirk of the profile (repeatable).")
def serve(link, control, profile, time_scale, sms_latency, call_setup, ring_timeout,
          tts_per_char, delivery_report, seed, reboot_time, sim_not_ready, log_file, audio_dir,
          boot, profile_flags):
    """Run the emulator until SIGTERM or Ctrl-C.

    Example: edgebox emulator serve --link /tmp/modem --control /tmp/modem.sock --profile ec25
    """
    given = {"sms_submit": sms_latency, "call_setup": call_setup, "ring_timeout": ring_timeout,
             "tts_per_char": tts_per_char, "delivery_report": delivery_report}
    try:
        latency = Latency.realistic(scale=time_scale, seed=seed, reboot=reboot_time,
                                    **{name: value for name, value in given.items()
                                       if value is not None})
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--time-scale") from exc
    chosen = get_profile(profile).with_changes(**{flag: True for flag in profile_flags})
    server = EmulatorServer(chosen, latency=latency, link=link, control=control,
                            sim_not_ready=sim_not_ready, boot=boot, audio_dir=audio_dir)
    if log_file:
        journal = open(log_file, "a", encoding="utf-8")

        def write(entry: dict) -> None:
            journal.write(json.dumps(entry, ensure_ascii=False) + "\n")
            journal.flush()  # line by line: what was written survives a kill -9
        server.engine.log.add_sink(write)
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    server.start()
    try:
        click.echo(f"emulator ready: port={server.port} link={link or ''} control={control}")
        click.get_text_stream("stdout").flush()
        while not stopping.wait(1.0):
            pass
    finally:
        server.stop()
        if log_file:
            journal.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@emulator.command()
@control_option
@click.argument("number")
@click.option("--rings", type=int, default=10, show_default=True, help="Rings before the caller gives up.")
@click.option("--ring-interval", type=float, default=None,
              help="Seconds between rings (default: the modem's own cadence, 5-6 s scaled).")
def call(control, number, rings, ring_interval):
    """Ring the box from NUMBER and wait until the call ends.

    Example: edgebox emulator call --control /tmp/modem.sock +8613800138000 --rings 5
    """
    entry = EmulatorClient(control).call(number, rings=rings, ring_interval=ring_interval, wait=True)
    click.echo(describe(entry))


@emulator.command()
@control_option
@click.argument("number")
@click.argument("text")
def sms(control, number, text):
    """Deliver an SMS with TEXT from NUMBER to the box.

    Example: edgebox emulator sms --control /tmp/modem.sock +8613800138000 "我家着火了"
    """
    entry = EmulatorClient(control).sms(number, text)
    click.echo(describe(entry))


@emulator.command()
@control_option
@click.option("--json", "as_json", is_flag=True, help="One JSON array on one line.")
def log(control, as_json):
    """Print everything the emulator saw, in order.

    Example: edgebox emulator log --control /tmp/modem.sock --json
    """
    entries = EmulatorClient(control).log()
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False))
        return
    for entry in entries:
        click.echo(describe(entry))


FAULT_KINDS = ("unplug", "reboot", "reboot-in-place", "random-reboots", "report-slot", "garbage",
               "stuck", "sms-error", "sim-not-ready", "network", "ussd-style")


@emulator.command()
@control_option
@click.argument("kind", type=click.Choice(FAULT_KINDS))
@click.option("--seconds", type=float, help="unplug, sim-not-ready: how long.")
@click.option("--data-hex", help="garbage: the bytes to write, in hex (e.g. 00FF0D0A2B43).")
@click.option("--prefix", help='stuck: command lines starting with this never answer (e.g. "AT+CSQ").')
@click.option("--count", type=int, help="stuck, sms-error: how many times (sms-error: always if left out).")
@click.option("--number", help="sms-error: the recipient whose submits fail.")
@click.option("--code", type=int, help="sms-error: the +CMS ERROR code (e.g. 500, 38).")
@click.option("--registered/--unregistered", default=None, help="network: coverage or none.")
@click.option("--rssi", type=int, help="network: +CSQ signal, 0-31 or 99.")
@click.option("--lines-lost", is_flag=True,
              help="reboot-in-place: the host never sees its power-down and boot lines.")
@click.option("--mean-seconds", type=float,
              help="random-reboots: average seconds between restarts in place (0: stop).")
@click.option("--seed", type=int, help="random-reboots: for a repeatable run.")
@click.option("--how", type=click.Choice([*REPORT_SLOT_FAULTS, "off"]),
              help="report-slot: +CDSI names an empty slot or the wrong memory; off: as asked.")
@click.option("--style", type=click.Choice(USSD_STYLES),
              help="ussd-style: how USSD answers are encoded from now on.")
def fault(control, kind, seconds, data_hex, prefix, count, number, code, registered, rssi,
          lines_lost, mean_seconds, seed, how, style):
    """Inject a fault into a running emulator.

    \b
    Example: edgebox emulator fault --control /tmp/modem.sock unplug --seconds 3
    Others:  ... fault --control S stuck --prefix AT+CMGS --count 2
             ... fault --control S sms-error --number +8613800138000 --code 500
             ... fault --control S network --unregistered --rssi 99
             ... fault --control S garbage --data-hex 00FF0D0A2B43
             ... fault --control S reboot | sim-not-ready --seconds 5
             ... fault --control S reboot-in-place [--lines-lost]
             ... fault --control S random-reboots --mean-seconds 60 --seed 7
             ... fault --control S report-slot --how empty
             ... fault --control S ussd-style --style packed
    """
    client = EmulatorClient(control)

    def need(value, option):
        if value is None:
            raise click.UsageError(f"{kind} needs {option}")
        return value

    if kind == "unplug":
        client.unplug(need(seconds, "--seconds"))
    elif kind == "reboot":
        client.reboot()
    elif kind == "reboot-in-place":
        client.reboot_in_place(lines_lost)
    elif kind == "random-reboots":
        mean = need(mean_seconds, "--mean-seconds")
        client.random_reboots(mean if mean > 0 else None, seed)
    elif kind == "report-slot":
        chosen = need(how, "--how")
        client.report_slot(None if chosen == "off" else chosen)
    elif kind == "ussd-style":
        client.set_ussd_style(need(style, "--style"))
    elif kind == "garbage":
        try:
            data = bytes.fromhex(need(data_hex, "--data-hex"))
        except ValueError:
            raise click.BadParameter("not hex", param_hint="--data-hex") from None
        client.garbage(data)
    elif kind == "stuck":
        client.stuck(need(prefix, "--prefix"), count if count is not None else 1)
    elif kind == "sms-error":
        client.sms_error(need(number, "--number"), need(code, "--code"), count)
    elif kind == "sim-not-ready":
        client.sim_not_ready(need(seconds, "--seconds"))
    else:
        client.network(need(registered, "--registered/--unregistered"), rssi)
    click.echo(f"fault {kind} injected")


def describe(entry: dict) -> str:
    """One human-readable line for a log entry."""
    kind, at = entry["kind"], f"{entry['at']:9.3f}s"
    if kind == "sms_sent":
        return (f"{at} sms_sent      to {entry['number']} ({entry['parts']} part(s), {entry['encoding']},"
                f" ref {entry['reference']}): {entry['text']}")
    if kind == "sms_received":
        return f"{at} sms_received  from {entry['number']} ({entry['parts']} part(s)): {entry['text']}"
    if kind == "call_received":
        after = f" after {entry['rejected_after']:.1f}s" if entry.get("rejected_after") is not None else ""
        return f"{at} call_received from {entry['number']}: {entry['outcome']}{after}"
    if kind == "call_placed":
        return (f"{at} call_placed   to {entry['number']}: {entry['outcome']} "
                f"(alerting {entry['alerting_seconds']:.1f}s, duration {entry['duration']:.1f}s)")
    details = {key: value for key, value in entry.items() if key != "clock"}  # `at` says it
    return f"{at} {kind} {json.dumps(details, ensure_ascii=False)}"
