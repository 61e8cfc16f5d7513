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
from edgebox.domain.timeline import MODEM_STATE
from edgebox.errors import EdgeboxError
from edgebox.i18n import Text, message
from edgebox.selftest.speech_check import check_speech, live_voice_port

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
# The checks' names (their English is what --json prints; the report says them in the box's
# language).
SIREN = Text("selftest.siren", "siren")
STORAGE = Text("selftest.storage", "storage writable")
ROSTER = Text("selftest.roster", "roster")
CLOCK = Text("selftest.clock", "clock")
UPLINK = Text("selftest.uplink", "uplink")
PANEL_BUTTONS = Text("selftest.buttons", "buttons")
LOUDSPEAKER = Text("selftest.loudspeaker", "loudspeaker")
CONFIG = Text("selftest.config", "config")
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
    label = settings.name
    present = Text("selftest.modem_present", "modem {modem} present", modem=label)
    if not os.path.exists(settings.port):
        return [Result(present, FAIL, Text("selftest.port_missing", "{port} does not exist",
                                           port=settings.port),
                       Text("selftest.port_missing_fix", "Check the modem's USB cable and power; "
                            "`ls -l /dev/edgebox*` lists the names the box gave its modems. For "
                            "a modem not recognised, set `MODEM_PORT` in edgebox.txt."))]
    results = [Result(present, PASS, f"{settings.port} -> {os.path.realpath(settings.port)}")]
    holders = port_holders(settings.port)
    if holders:
        who = ", ".join(f"{command} (pid {pid})" for pid, command in holders)
        return results + [Result(
            Text("selftest.modem_free", "modem {modem} free", modem=label), FAIL,
            Text("selftest.port_held", "the daemon holds the modem: {who} has {port} open",
                 who=who, port=settings.port),
            Text("selftest.port_held_fix", "Stop it with `systemctl stop edgebox`, run the "
                 "selftest again, then `systemctl start edgebox`."))]
    try:
        probe = AtProbe(settings.port, settings.baudrate, settings.flow_control,
                        timeout=config.modem_command_timeout)
    except EdgeboxError as exc:
        return results + [Result(_answering(label), FAIL, str(exc), Text(
            "selftest.port_busy_fix", "Another program may hold the port; reboot the box."))]
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
        return [Result(_answering(label), FAIL, str(exc), Text(
            "selftest.silent_fix", "Power-cycle the modem (unplug it for 10 s). A SIM800 on the "
            "UART needs the right baud rate and its TX/RX crossed."))]
    results.append(Result(_answering(label), PASS, f"{maker} {model}".strip()))
    results.append(Result(Text("selftest.modem_speech", "modem {modem} speech in calls",
                               modem=label), *check_speech(probe, maker, model, config,
                                                          settings.audio_port)))
    live = live_voice_port(settings, config, maker, model)
    if live is not None:
        results.append(Result(Text("selftest.modem_live_port", "modem {modem} live voice port",
                                   modem=label), *live))
    sim = readings.sim_state(_answer(probe, "AT+CPIN?"))
    if sim == "SIM PIN" and settings.pin:
        _answer(probe, f'AT+CPIN="{settings.pin}"')
        time.sleep(2)  # the SIM takes a moment to unlock
        sim = readings.sim_state(_answer(probe, "AT+CPIN?"))
    if sim != "READY":
        state = _state(sim) if sim else Text("selftest.no_answer", "no answer")
        results.append(Result(_sim_ready(label), FAIL,
                              Text("selftest.sim_state", "SIM state: {state}", state=state),
                              Text("selftest.sim_fix", "Insert the SIM (contacts down, power off "
                                   "first). If it asks for a PIN, set `SIM_PIN` in edgebox.txt.")))
        return results
    results.append(Result(_sim_ready(label), PASS, _state("READY")))
    registration = readings.best_registration(
        readings.registration(_answer(probe, "AT+CREG?")),
        readings.registration(_answer(probe, "AT+CEREG?")))
    operator = readings.operator(_answer(probe, "AT+COPS?")) or ""
    state, technology = registration or ("unknown", "")
    registered = Text("selftest.modem_registered", "modem {modem} registered", modem=label)
    if state in readings.REGISTERED:
        results.append(Result(registered, PASS, Text(
            "selftest.registration_ok", "{state} {technology} {operator}", state=_state(state),
            technology=technology, operator=operator)))
    else:
        results.append(Result(registered, FAIL, Text(
            "selftest.registration", "registration: {state}", state=_state(state)), Text(
            "selftest.registration_fix", "Check the antenna is screwed on, the SIM is active "
            "and has credit, and the operator covers this place.")))
    rssi = readings.signal(_answer(probe, "AT+CSQ"))
    signal = Text("selftest.modem_signal", "modem {modem} signal", modem=label)
    if rssi is None or rssi < NO_SIGNAL:
        results.append(Result(signal, FAIL, Text(
            "selftest.no_signal", "CSQ {rssi}", rssi=rssi) if rssi is not None else Text(
            "selftest.unknown_signal", "CSQ 99 (unknown)"), Text(
            "selftest.no_signal_fix", "Move the antenna higher or to a window; use an antenna "
            "on a cable.")))
    elif rssi < WEAK_SIGNAL:
        results.append(Result(signal, WARN, Text("selftest.weak_signal", "CSQ {rssi} (weak)",
                                                 rssi=rssi), Text(
            "selftest.weak_signal_fix", "Calls and SMS may fail in bad weather: move the "
            "antenna higher.")))
    else:
        results.append(Result(signal, PASS, f"CSQ {rssi}"))
    if sms_to:
        try:
            probe.send_sms(sms_to, sms_text, timeout=config.modem_sms_timeout)
            results.append(Result(_test_sms(label), PASS, Text(
                "selftest.sms_sent", "sent to {phone}; check it arrived", phone=sms_to)))
        except EdgeboxError as exc:
            results.append(Result(_test_sms(label), FAIL, str(exc), Text(
                "selftest.sms_fix", "Check the SIM has credit and can send SMS (try it in a "
                "phone).")))
    return results


def _answering(modem: str) -> Text:
    return Text("selftest.modem_answering", "modem {modem} answering", modem=modem)


def _sim_ready(modem: str) -> Text:
    return Text("selftest.modem_sim", "modem {modem} SIM ready", modem=modem)


def _test_sms(modem: str) -> Text:
    return Text("selftest.modem_test_sms", "modem {modem} test SMS", modem=modem)


def _state(code: str) -> Text | str:
    """A registration or SIM state (readings) in words, as the timeline names them."""
    return Text.coded("modem_state.", MODEM_STATE, code)


def _answer(probe, command: str) -> list[str]:
    try:
        return probe.command(command)
    except EdgeboxError:
        return []


def check_siren(config, pulse_seconds: float) -> Result:
    if config.siren_backend != "rpi":
        return Result(SIREN, SKIP, Text(
            "selftest.siren_simulated", "the siren is simulated on this box (`siren.backend` is "
            "`{backend}`: not a Raspberry Pi)", backend=config.siren_backend))
    if pulse_seconds <= 0:
        return Result(SIREN, SKIP, Text("selftest.siren_not_pulsed",
                                        "not pulsed (`--siren-seconds 0`)"))
    from edgebox.adapters.gpio.siren import GpioSiren, load_gpio
    try:
        siren = GpioSiren(load_gpio("rpi"), config.siren_pin, config.siren_active_high)
        siren.on()
        time.sleep(pulse_seconds)
        siren.close()
    except (RuntimeError, OSError) as exc:
        return Result(SIREN, FAIL, f"GPIO {config.siren_pin}: {exc}", Text(
            "selftest.siren_fix", "If the daemon is running it holds the pin: `systemctl stop "
            "edgebox`. Otherwise check `SIREN_PIN` in edgebox.txt."))
    seconds = f"{pulse_seconds:g}"
    return Result(SIREN, PASS, Text(
        "selftest.siren_pulsed", "GPIO {pin} pulsed for {seconds} s: the relay should have "
        "clicked and the siren sounded", pin=config.siren_pin, seconds=seconds),
        Text("selftest.siren_silent_fix", "If nothing was heard: check the relay's wiring and "
             "`SIREN_ACTIVE` (high/low)."))


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
        return Result(STORAGE, FAIL, f"{directory}: {exc.strerror or exc}", Text(
            "selftest.storage_fix", "The data partition may be full or damaged: replace the SD "
            "card (a high-endurance one) and provision again."))
    if free < MIN_FREE_BYTES:
        return Result(STORAGE, FAIL, Text("selftest.storage_low", "only {kib} KiB free in {dir}",
                                          kib=free // 1024, dir=directory),
                      Text("selftest.storage_low_fix",
                           "Export the roster, then reflash a larger card."))
    if database.exists():
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
                verdict = db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as exc:
            verdict = str(exc)
        if verdict != "ok":
            return Result(STORAGE, FAIL, Text("selftest.database_check", "database check: "
                                              "{verdict}", verdict=verdict), Text(
                "selftest.database_fix", "The database is damaged: replace the SD card and "
                "provision again."))
    return Result(STORAGE, PASS, Text("selftest.storage_free", "{dir}: {mib} MiB free",
                                      dir=directory, mib=free // (1024 * 1024)))


def check_roster(config) -> Result:
    """The box has households in groups to alert (read-only: the selftest changes nothing)."""
    from edgebox.domain.messages import TEMPLATES
    database = Path(config.box_database)
    fix = Text("selftest.roster_fix", "Import the village sheet: `edgebox roster import "
               "花名册.csv`, or put roster.csv on the boot partition and reboot.")
    empty = Text.coded("sms.", TEMPLATES, "no_roster")  # the words `edgebox run` says too
    if not database.exists():
        return Result(ROSTER, FAIL, Text("selftest.roster_missing", "{empty} ({database} does "
                                         "not exist)", empty=empty, database=database), fix)
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
            households, groups = db.execute(
                "SELECT (SELECT count(DISTINCT household_id) FROM group_members),"
                " (SELECT count(DISTINCT group_id) FROM group_members)").fetchone()
    except sqlite3.Error as exc:
        return Result(ROSTER, FAIL, Text("selftest.roster_unreadable",
                                         "cannot read the roster: {error}", error=exc), fix)
    if not households:
        return Result(ROSTER, FAIL, empty, fix)
    return Result(ROSTER, PASS, Text("selftest.roster_ok", "{households} households in {groups} "
                                     "groups", households=households, groups=groups))


def check_clock(now: datetime | None = None) -> Result:
    now = now or datetime.now(timezone.utc)
    if now < __built__:
        shown = f"{now:%Y-%m-%d %H:%M}"
        return Result(CLOCK, FAIL, Text(
            "selftest.clock_unset", "{now} UTC is before this software was built: the clock "
            "is not set", now=shown), Text(
            "selftest.clock_fix", "Wait a few minutes with the modem registered (the network "
            "sets the clock), or connect the LAN cable for internet time."))
    return Result(CLOCK, PASS, f"{now.astimezone():%Y-%m-%d %H:%M %Z}")


def check_uplink(config, timeout: float = 5) -> Result:
    from edgebox.config_file import KEYS
    url = config.get("uplink.url") if "uplink.url" in KEYS else ""
    if not url:
        return Result(UPLINK, SKIP, Text("selftest.uplink_off",
                                         "no upload address configured (`UPLOAD_URL`)"))
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    address = f"{host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        return Result(UPLINK, FAIL, Text("selftest.uplink_down", "{address} not reachable: "
                                         "{error}", address=address, error=exc), Text(
            "selftest.uplink_fix", "Check the LAN cable or the mobile data APN in edgebox.txt; "
            "the alarms work without it and the log is uploaded later."))
    return Result(UPLINK, PASS, Text("selftest.uplink_ok", "{address} reachable",
                                     address=address))


def check_buttons(config) -> Result | None:
    """The panel's buttons read "released" while nobody touches them (None: no panel support)."""
    from edgebox.config_file import KEYS
    if "panel.button_siren" not in KEYS:
        return None
    from edgebox.adapters.gpio.buttons import BUTTONS, Button
    wired = {name: config.get(f"panel.button_{name}") for name in BUTTONS
             if config.get(f"panel.button_{name}")}
    if not wired:
        return Result(PANEL_BUTTONS, SKIP, Text("selftest.no_buttons",
                                                "no panel buttons configured"))
    if config.siren_backend != "rpi":
        return Result(PANEL_BUTTONS, SKIP, Text("selftest.gpio_simulated",
                                          "GPIO is simulated on this box (not a Raspberry Pi)"))
    from edgebox.adapters.gpio.siren import load_gpio
    try:
        gpio = load_gpio("rpi")
        gpio.setmode(gpio.BCM)
        stuck = [f"{name} (GPIO {pin})" for name, pin in wired.items()
                 if Button(gpio, name, pin, config.get("panel.buttons_active_low")).read()]
        gpio.cleanup(list(wired.values()))
    except (RuntimeError, OSError) as exc:
        return Result(PANEL_BUTTONS, FAIL, message(exc), Text(
            "selftest.buttons_held_fix", "If the daemon is running it holds the pins: "
            "`systemctl stop edgebox`."))
    if stuck:
        return Result(PANEL_BUTTONS, FAIL, Text("selftest.buttons_stuck", "pressed while nobody "
                                          "touches them: {buttons}", buttons=", ".join(stuck)),
                      Text("selftest.buttons_stuck_fix", "Check the button wiring, and "
                           "`panel.buttons_active_low` for boards that switch to 3.3 V."))
    return Result(PANEL_BUTTONS, PASS, Text(
        "selftest.buttons_ok", "{count} button(s) read released: {buttons}", count=len(wired),
        buttons=", ".join(f"{n} (GPIO {p})" for n, p in wired.items())))


def check_config_notices(config) -> list[Result]:
    """A key the box still reads but that moved (config.MOVED_TO_MODEMS): what to change."""
    return [Result(CONFIG, WARN, notice, Text(
        "selftest.config_moved_fix", "Edit the config file as it says; the next release no "
        "longer reads the old key.")) for notice in config.notices]


def config_unreadable(error: Exception) -> Result:
    """The config cannot be read or is wrong: the one check there is, and what to do."""
    return Result(CONFIG, FAIL, message(error), Text(
        "selftest.config_fix", "Correct edgebox.txt on the boot partition; edgebox-status.txt "
        "says which line is wrong."))


def check_speaker(config) -> Result:
    """The loudspeaker's audio device: listed by ``aplay -l`` (alsa backend), or simulated.
    Nothing is played: the selftest may run at night; ``edgebox speaker test`` plays."""
    if not config.speaker_enabled:
        return Result(LOUDSPEAKER, SKIP, Text("selftest.speaker_off",
                                              "not enabled (`speaker.enabled`)"))
    if config.speaker_backend != "alsa":
        return Result(LOUDSPEAKER, SKIP, Text(
            "selftest.speaker_simulated", "simulated (`speaker.backend` is `simulated`): what "
            "would play is written to {file}", file=config.speaker_simulated_file))
    from edgebox.adapters.audio import AudioError, list_playback_devices
    try:
        devices = list_playback_devices()
    except (AudioError, OSError) as exc:
        return Result(LOUDSPEAKER, FAIL, str(exc), "`apt-get install alsa-utils`")
    if not devices:
        return Result(LOUDSPEAKER, FAIL, Text("selftest.no_sound_card",
                                              "`aplay -l` lists no sound card"), Text(
            "selftest.no_sound_card_fix", "Pi 3/4: `dtparam=audio=on` in config.txt for the "
            "3.5 mm jack; Pi 5: plug in the USB sound card"))
    cards = "; ".join(devices)
    return Result(LOUDSPEAKER, PASS, Text("selftest.speaker_ok", "device {device}; cards: "
                                          "{cards}", device=config.speaker_device, cards=cards),
                  Text("selftest.speaker_test", "Play a test with `edgebox speaker test`."))
