"""The selftest's checks. Each returns one or more Results; none raises.

Modem checks talk AT over the configured port, so they need the port to themselves: when
another process (the daemon) holds it, they are skipped and the report says how to free it.
"""
from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from edgebox import __built__
from edgebox.adapters.modem import readings
from edgebox.errors import EdgeboxError
from edgebox.selftest.speech_check import check_speech

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
WEAK_SIGNAL, NO_SIGNAL = 10, 5  # CSQ rssi: 10 is about -93 dBm, 5 about -103 dBm
MIN_FREE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Result:
    name: str
    status: str
    detail: str
    fix: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def port_holders(port: str, proc: Path = Path("/proc")) -> list[tuple[int, str]]:
    """(pid, command) of every other process with ``port`` open.

    On a pseudo-terminal (an emulated modem) the process serving it holds the slave side too;
    it is the modem, not a user of the port, and is recognised by its master side.
    """
    device = os.path.realpath(port)
    pty_index = device.removeprefix("/dev/pts/") if device.startswith("/dev/pts/") else None
    holders = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            fds = list((entry / "fd").iterdir())
            opened = any(os.path.realpath(fd) == device for fd in fds)
            if opened and pty_index is not None and _serves_pty(entry, fds, pty_index):
                continue
            command = (entry / "comm").read_text().strip() if opened else ""
        except OSError:  # the process ended, or is not ours to look at
            continue
        if opened:
            holders.append((int(entry.name), command))
    return holders


def _serves_pty(process: Path, fds: list[Path], index: str) -> bool:
    for fd in fds:
        if os.path.realpath(fd) in ("/dev/ptmx", "/dev/pts/ptmx"):
            info = (process / "fdinfo" / fd.name).read_text()
            if f"tty-index:\t{index}\n" in info:
                return True
    return False


def check_modem(settings, config, sms_to: str | None, sms_text: str) -> list[Result]:
    from edgebox.selftest.at_probe import AtProbe
    label = f"modem {settings.name}"
    if not os.path.exists(settings.port):
        return [Result(f"{label} present", FAIL, f"{settings.port} does not exist",
                       "Check the modem's USB cable and power; `ls -l /dev/edgebox*` lists the "
                       "names the box gave its modems. For a modem not recognised, set "
                       "MODEM_PORT in edgebox.txt.")]
    results = [Result(f"{label} present", PASS, f"{settings.port} -> "
                      f"{os.path.realpath(settings.port)}")]
    holders = port_holders(settings.port)
    if holders:
        who = ", ".join(f"{command} (pid {pid})" for pid, command in holders)
        return results + [Result(f"{label} free", FAIL,
                                 f"the daemon holds the modem: {who} has {settings.port} open",
                                 "Stop it with `systemctl stop edgebox`, run the selftest again, "
                                 "then `systemctl start edgebox`.")]
    try:
        probe = AtProbe(settings.port, settings.baudrate, settings.flow_control,
                        timeout=config.modem_command_timeout)
    except EdgeboxError as exc:
        return results + [Result(f"{label} answering", FAIL, str(exc),
                                 "Another program may hold the port; reboot the box.")]
    try:
        return results + _talk(probe, label, settings, config, sms_to, sms_text)
    finally:
        probe.close()


def _talk(probe, label, settings, config, sms_to, sms_text) -> list[Result]:
    results = []
    try:
        probe.command("ATE0")
        maker = " ".join(line for line in probe.command("AT+CGMI") if line != "OK")
        model = " ".join(line for line in probe.command("AT+CGMM") if line != "OK")
    except EdgeboxError as exc:
        return [Result(f"{label} answering", FAIL, str(exc),
                       "Power-cycle the modem (unplug it for 10 s). A SIM800 on the UART needs "
                       "the right baud rate and its TX/RX crossed.")]
    results.append(Result(f"{label} answering", PASS, f"{maker} {model}".strip()))
    results.append(Result(f"{label} speech in calls", *check_speech(
        probe, maker, model, config, settings.audio_port)))
    live = _live_voice_port(label, settings, config, maker, model)
    if live is not None:
        results.append(live)
    sim = readings.sim_state(_answer(probe, "AT+CPIN?"))
    if sim == "SIM PIN" and settings.pin:
        _answer(probe, f'AT+CPIN="{settings.pin}"')
        time.sleep(2)  # the SIM takes a moment to unlock
        sim = readings.sim_state(_answer(probe, "AT+CPIN?"))
    if sim != "READY":
        results.append(Result(f"{label} SIM ready", FAIL, f"SIM state: {sim or 'no answer'}",
                              "Insert the SIM (contacts down, power off first). If it asks for "
                              "a PIN, set SIM_PIN in edgebox.txt."))
        return results
    results.append(Result(f"{label} SIM ready", PASS, "READY"))
    registration = readings.best_registration(
        readings.registration(_answer(probe, "AT+CREG?")),
        readings.registration(_answer(probe, "AT+CEREG?")))
    operator = readings.operator(_answer(probe, "AT+COPS?")) or ""
    state, technology = registration or ("no answer", "")
    if state in readings.REGISTERED:
        results.append(Result(f"{label} registered", PASS,
                              f"{state} {technology} {operator}".strip()))
    else:
        results.append(Result(f"{label} registered", FAIL, f"registration: {state}",
                              "Check the antenna is screwed on, the SIM is active and has "
                              "credit, and the operator covers this place."))
    rssi = readings.signal(_answer(probe, "AT+CSQ"))
    if rssi is None or rssi < NO_SIGNAL:
        results.append(Result(f"{label} signal", FAIL, f"CSQ {rssi if rssi is not None else '99 (unknown)'}",
                              "Move the antenna higher or to a window; use an antenna on a cable."))
    elif rssi < WEAK_SIGNAL:
        results.append(Result(f"{label} signal", WARN, f"CSQ {rssi} (weak)",
                              "Calls and SMS may fail in bad weather: move the antenna higher."))
    else:
        results.append(Result(f"{label} signal", PASS, f"CSQ {rssi}"))
    if sms_to:
        try:
            probe.send_sms(sms_to, sms_text, timeout=config.modem_sms_timeout)
            results.append(Result(f"{label} test SMS", PASS, f"sent to {sms_to}; check it arrived"))
        except EdgeboxError as exc:
            results.append(Result(f"{label} test SMS", FAIL, str(exc),
                                  "Check the SIM has credit and can send SMS (try it in a phone)."))
    return results


def _answer(probe, command: str) -> list[str]:
    try:
        return probe.command(command)
    except EdgeboxError:
        return []


def check_siren(config, pulse_seconds: float) -> Result:
    if config.siren_backend != "rpi":
        return Result("siren", SKIP, "the siren is simulated on this box (siren.backend is "
                      f"'{config.siren_backend}': not a Raspberry Pi)")
    if pulse_seconds <= 0:
        return Result("siren", SKIP, "not pulsed (--siren-seconds 0)")
    from edgebox.adapters.gpio.siren import GpioSiren, load_gpio
    try:
        siren = GpioSiren(load_gpio("rpi"), config.siren_pin, config.siren_active_high)
        siren.on()
        time.sleep(pulse_seconds)
        siren.close()
    except (RuntimeError, OSError) as exc:
        return Result("siren", FAIL, f"GPIO {config.siren_pin}: {exc}",
                      "If the daemon is running it holds the pin: `systemctl stop edgebox`. "
                      "Otherwise check SIREN_PIN in edgebox.txt.")
    return Result("siren", PASS, f"GPIO {config.siren_pin} pulsed for {pulse_seconds:g} s: the "
                  "relay should have clicked and the siren sounded",
                  "If nothing was heard: check the relay's wiring and SIREN_ACTIVE (high/low).")


def check_storage(config) -> Result:
    database = Path(config.box_database)
    directory = database.parent
    probe = directory / f".selftest-{uuid.uuid4().hex}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"edgebox selftest")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()
        free = shutil.disk_usage(directory).free
    except OSError as exc:
        return Result("storage writable", FAIL, f"{directory}: {exc.strerror or exc}",
                      "The data partition may be full or damaged: replace the SD card (a "
                      "high-endurance one) and provision again.")
    if free < MIN_FREE_BYTES:
        return Result("storage writable", FAIL, f"only {free // 1024} KiB free in {directory}",
                      "Export the roster, then reflash a larger card.")
    if database.exists():
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
                verdict = db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as exc:
            verdict = str(exc)
        if verdict != "ok":
            return Result("storage writable", FAIL, f"database check: {verdict}",
                          "The database is damaged: replace the SD card and provision again.")
    return Result("storage writable", PASS, f"{directory}: {free // (1024 * 1024)} MiB free")


def check_roster(config) -> Result:
    """The box has households in groups to alert (read-only: the selftest changes nothing)."""
    from edgebox.domain.messages import render
    database = Path(config.box_database)
    fix = ("Import the village sheet: `edgebox roster import 花名册.csv`, or put roster.csv on "
           "the boot partition and reboot.")
    empty = f"{render('zh', 'no_roster')} / {render('en', 'no_roster')}"
    if not database.exists():
        return Result("roster", FAIL, f"{empty} ({database} does not exist)", fix)
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
            households, groups = db.execute(
                "SELECT (SELECT count(DISTINCT household_id) FROM group_members),"
                " (SELECT count(DISTINCT group_id) FROM group_members)").fetchone()
    except sqlite3.Error as exc:
        return Result("roster", FAIL, f"cannot read the roster: {exc}", fix)
    if not households:
        return Result("roster", FAIL, empty, fix)
    return Result("roster", PASS, f"{households} households in {groups} groups")


def check_clock(now: datetime | None = None) -> Result:
    now = now or datetime.now(timezone.utc)
    if now < __built__:
        return Result("clock", FAIL, f"{now:%Y-%m-%d %H:%M} UTC is before this software was "
                      "built: the clock is not set",
                      "Wait a few minutes with the modem registered (the network sets the "
                      "clock), or connect the LAN cable for internet time.")
    return Result("clock", PASS, f"{now.astimezone():%Y-%m-%d %H:%M %Z}")


def check_uplink(config, timeout: float = 5) -> Result:
    from edgebox.config_file import KEYS
    url = config.get("uplink.url") if "uplink.url" in KEYS else ""
    if not url:
        return Result("uplink", SKIP, "no upload address configured (UPLOAD_URL)")
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return Result("uplink", FAIL, f"{host}:{port} not reachable: {exc}",
                      "Check the LAN cable or the mobile data APN in edgebox.txt; the alarms "
                      "work without it and the log is uploaded later.")
    return Result("uplink", PASS, f"{host}:{port} reachable")


def check_buttons(config) -> Result | None:
    """The panel's buttons read "released" while nobody touches them (None: no panel support)."""
    from edgebox.config_file import KEYS
    if "panel.button_siren" not in KEYS:
        return None
    from edgebox.adapters.gpio.buttons import BUTTONS, Button
    wired = {name: config.get(f"panel.button_{name}") for name in BUTTONS
             if config.get(f"panel.button_{name}")}
    if not wired:
        return Result("buttons", SKIP, "no panel buttons configured")
    if config.siren_backend != "rpi":
        return Result("buttons", SKIP, "GPIO is simulated on this box (not a Raspberry Pi)")
    from edgebox.adapters.gpio.siren import load_gpio
    try:
        gpio = load_gpio("rpi")
        gpio.setmode(gpio.BCM)
        stuck = [f"{name} (GPIO {pin})" for name, pin in wired.items()
                 if Button(gpio, name, pin, config.get("panel.buttons_active_low")).read()]
        gpio.cleanup(list(wired.values()))
    except (RuntimeError, OSError) as exc:
        return Result("buttons", FAIL, str(exc),
                      "If the daemon is running it holds the pins: `systemctl stop edgebox`.")
    if stuck:
        return Result("buttons", FAIL, f"pressed while nobody touches them: {', '.join(stuck)}",
                      "Check the button wiring, and panel.buttons_active_low for boards that "
                      "switch to 3.3 V.")
    return Result("buttons", PASS, f"{len(wired)} button(s) read released: "
                  f"{', '.join(f'{n} (GPIO {p})' for n, p in wired.items())}")


def check_config_notices(config) -> list[Result]:
    """A key the box still reads but that moved (config.MOVED_TO_MODEMS): what to change."""
    return [Result("config", WARN, notice, "Edit the config file as it says; the next release "
                   "no longer reads the old key.") for notice in config.notices]


def _live_voice_port(label, settings, config, maker: str, model: str) -> Result | None:
    """The live loudspeaker reads the caller's voice on this modem's audio serial port (SIM7600,
    Huawei): without ``audio_port`` it could not, and the caller would hear nothing happen."""
    from edgebox.adapters.audio.call_audio import SERIAL, route_for
    from edgebox.adapters.modem.dialect import detect
    if not (config.speaker_enabled and config.speaker_live_numbers and settings.voice):
        return None
    route = route_for(detect(maker, model).family, f"{maker} {model}", config.speaker_call_audio)
    if route.kind != SERIAL or settings.audio_port:
        return None
    return Result(f"{label} live voice port", WARN, "no audio_port: the live loudspeaker cannot "
                  "hear callers on this modem",
                  "Set audio_port in its [[modems]] table to the modem's audio serial port "
                  "(SIM7600: its 'Audio' interface, ttyUSB4; Huawei: the voice port, ttyUSB1; "
                  "a udev name is safer).")


def check_speaker(config) -> Result:
    """The loudspeaker's audio device: listed by ``aplay -l`` (alsa backend), or simulated.
    Nothing is played: the selftest may run at night; ``edgebox speaker test`` plays."""
    if not config.speaker_enabled:
        return Result("loudspeaker", SKIP, "not enabled (speaker.enabled)")
    if config.speaker_backend != "alsa":
        return Result("loudspeaker", SKIP, "simulated (speaker.backend is 'simulated'): "
                      f"what would play is written to {config.speaker_simulated_file}")
    from edgebox.adapters.audio import AudioError, list_playback_devices
    try:
        devices = list_playback_devices()
    except (AudioError, OSError) as exc:
        return Result("loudspeaker", FAIL, str(exc), "apt-get install alsa-utils")
    if not devices:
        return Result("loudspeaker", FAIL, "aplay -l lists no sound card",
                      "Pi 3/4: dtparam=audio=on in config.txt for the 3.5 mm jack; Pi 5: "
                      "plug in the USB sound card")
    return Result("loudspeaker", PASS, f"device {config.speaker_device}; cards: "
                  + "; ".join(devices), "Play a test with `edgebox speaker test`.")
