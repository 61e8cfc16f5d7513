"""The composition root: the one place that turns a Config into a running Daemon.

Everything the daemon talks to is chosen here from the config (which modem port, which GPIO
backend, which database), so tests and the demo build the very same object graph with other
settings instead of patching internals.
"""
from __future__ import annotations

import logging
import os
import queue
import threading

from edgebox.adapters.gpio.panel import panel_settings
from edgebox.adapters.gpio.siren import GpioSiren, load_gpio
from edgebox.adapters.modem.fake_port import is_fake_port
from edgebox.adapters.modem.serial_modem import SerialModem
from edgebox.daemon.call_speech import CallSpeech
from edgebox.daemon.check_ins import CheckIns, check_in_settings
from edgebox.daemon.inbox_policy import InboxPolicy
from edgebox.daemon.modem_worker import ModemWorker
from edgebox.daemon.policy import AlarmPolicy, alarm_settings
from edgebox.daemon.roster_view import RosterView
from edgebox.daemon.service import AlarmCore, Daemon, DiskFull, loop_settings, utc_now
from edgebox.daemon.siren_control import SirenControl, siren_settings
from edgebox.daemon.sms_admin import SmsAdministration, admin_settings
from edgebox.daemon.systemd_notify import SystemdNotifier
from edgebox.daemon.timers import AlarmTimers, ladder_settings
from edgebox.daemon.worker_settings import worker_settings
from edgebox.daemon.workers import ModemWorkers
from edgebox.domain.timeline import contacts_of, describe
from edgebox.errors import ConfigError
from edgebox.i18n import Text, message
from edgebox.store import SqliteStore

log = logging.getLogger("edgebox")


def import_configured_roster(config, store) -> None:
    """Import ``box.roster_csv`` at start when it is new or changed since its last import
    (edgebox.roster_io.sheet_import says why); a bad sheet stops the start, naming the line."""
    if not config.box_roster_csv:
        return
    from edgebox.roster_io.sheet_import import import_sheet_if_changed
    try:
        import_sheet_if_changed(store, config.box_roster_csv, config.box_region, utc_now(),
                                source=config.box_roster_csv)
    except FileNotFoundError:
        raise ConfigError("box.roster_csv", Text("config.no_file", "{path} does not exist",
                                                 path=config.box_roster_csv)) from None


def build_modems(config, events: queue.Queue) -> dict:
    """A SerialModem per ``[[modems]]`` table, or a FakeModem for a ``fake://`` port (tests
    of the alarm policy in process; see edgebox.adapters.modem.fake)."""
    modems = {}
    for index, m in enumerate(config.modems, start=1):
        if is_fake_port(m.port):
            from edgebox.adapters.modem.fake import fake_modem_for  # the emulator, for tests
            modems[m.name] = fake_modem_for(m, config, events, index)
        else:
            modems[m.name] = SerialModem(
                m.port, m.baudrate, m.flow_control, m.pin, config.modem_command_timeout,
                config.modem_sms_timeout, name=m.name, events=events,
                delivery_reports=config.modem_delivery_reports, audio_port=m.audio_port)
    return modems


def build_workers(config, store, modems: dict, events: queue.Queue, clock,
                  stop: threading.Event) -> ModemWorkers:
    """One worker per configured modem; what they learn comes back on ``events``. They share
    one speech cache: a sentence rung by two modems is rendered once."""
    speech = CallSpeech.from_config(config)
    settings = worker_settings(config)
    return ModemWorkers({
        m.name: ModemWorker(m, settings, store, modems[m.name], clock, stop, events, speech)
        for m in config.modems}, store.outbox, clock, speech)


def build_core(config, store, workers: ModemWorkers, siren, clock,
               rosters=None) -> AlarmCore:
    """The deciding classes, each given its ports and its own section of the config
    (``rosters``: the roster source, the store's RosterView unless a test gives its own)."""
    rosters = rosters if rosters is not None else RosterView(store.roster)
    incidents, deliveries = store.incidents, store.outbox  # the alarm path's tables
    sounding = SirenControl(siren, store, clock, siren_settings(config))
    check_ins = CheckIns(store, incidents, store.check_ins, rosters, workers, workers, clock,
                         check_in_settings(config))
    timers = AlarmTimers(store, incidents, deliveries, rosters, workers, sounding, clock,
                         ladder_settings(config), check_ins)
    alarms_settings = alarm_settings(config)
    alarms = AlarmPolicy(store, incidents, deliveries, rosters, workers, workers, sounding, clock,
                         alarms_settings, timers, check_ins)
    admin = SmsAdministration(store, deliveries, store.roster, store.leader_pins, rosters,
                              workers, clock, admin_settings(config))
    inbox = InboxPolicy(store, incidents, deliveries, store.inbox, rosters, alarms, admin,
                        workers, sounding, clock, alarms_settings)
    return AlarmCore(rosters, sounding, alarms, inbox, timers)


def build_services(config, store) -> list:
    """Companions of the alarm loops that the config asks for (each has start() and stop())."""
    services = []
    from edgebox.uplink.settings import uplink_settings
    settings = uplink_settings(config)
    if settings is not None:  # uplink.url set: ship the log to the county hub
        from edgebox.uplink.uploader import Uploader
        services.append(Uploader(settings, store, language=config.box_language,
                                 office=config.numbers_office,
                                 township=config.numbers_township))
    else:  # no uplink: the uploader's disk watch still runs, so the office hears of a full disk
        from edgebox.uplink.diskwatch import disk_watch_service
        services.append(disk_watch_service(config, store))
    from edgebox.uplink.sms_uplink import sms_uplink_service
    sms = sms_uplink_service(config, store)
    if sms is not None:  # uplink.sms_to set: reports by SMS to the hub's modem, link or not
        services.append(sms)
    return services


def add_office_services(daemon: Daemon, config, store, gpio, panel, clock) -> None:
    """The siren panel (it also steps the siren's patterns and maximum on-time, so it runs
    even with no button or LED wired) and, when ``web.listen`` is set, the web panel: a
    process of its own (edgebox.web.process), whose office actions this process collects from
    the store (edgebox.daemon.office_inbox); its roster edits reach the alarm loop by the
    roster's generation, like any other writer's (Daemon.follow_roster)."""
    from edgebox.adapters.gpio.panel import PanelService
    from edgebox.daemon.office_status import office_lights
    from edgebox.uplink.settings import uplink_settings
    uplink = uplink_settings(config) is not None
    daemon.services.append(PanelService(gpio, panel, daemon.siren, daemon.office, store,
                                        lambda: office_lights(daemon, uplink), clock))
    if config.web_listen:
        if os.path.isfile(config.source):
            from edgebox.daemon.office_inbox import OfficeInbox
            from edgebox.daemon.web_process import WebPanelProcess
            daemon.services.append(OfficeInbox(daemon.events, store.inbox))
            daemon.services.append(WebPanelProcess(config.source, store, clock))
        else:  # the panel's process reads the config file: one made in memory has none
            log.error("web panel not started: the config is not a file (%s)", config.source)


def report_full_disk(events: queue.Queue, store) -> None:
    """The disk filled and the store gave up its reserve to go on (a ``disk_full`` event,
    seen after the commit on whichever thread made it): the event loop is told, and texts the
    office (Daemon.on_disk_full)."""
    store.subscribe(lambda event: events.put(DiskFull()) if event.kind == "disk_full"
                    else None)


def build_daemon(config, gpio=None, clock=utc_now) -> Daemon:
    for notice in config.notices:  # a key that moved: the box runs, the technician is told
        log.warning("config %s: %s", config.source, notice)
    store = SqliteStore(config.box_database, reserve=True,  # room for alarms on a full disk
                        idle_checkpoints=True)  # the WAL is copied back between alarms
    import_configured_roster(config, store)
    events: queue.Queue = queue.Queue()  # every modem's events, in the order they happened
    try:
        gpio = gpio or load_gpio(config.siren_backend)
    except RuntimeError as exc:
        raise ConfigError("siren.backend", message(exc)) from exc  # a Text: load_gpio's
    panel = panel_settings(config)
    siren = GpioSiren(gpio, config.siren_pin, config.siren_active_high, panel.patterns,
                      panel.siren_max_seconds)
    stop = threading.Event()  # every alarm loop's: set once, and each one ends
    workers = build_workers(config, store, build_modems(config, events), events, clock, stop)
    daemon = Daemon(loop_settings(config), store, workers,
                    build_core(config, store, workers, siren, clock), siren, events, stop,
                    clock=clock, services=build_services(config, store))
    add_office_services(daemon, config, store, gpio, panel, clock)
    from edgebox.speaker.service import add_loudspeaker
    add_loudspeaker(daemon, config, store, gpio, clock)  # [speaker]: a listener of the log
    report_full_disk(events, store)
    if SystemdNotifier.wanted():  # under systemd: READY=1, then watchdog pings while alive
        daemon.services.append(SystemdNotifier(daemon.stale_loops))
    contacts = contacts_of(config.numbers_office, config.numbers_township)
    store.subscribe(lambda event: log.info(describe(event.as_dict(), daemon.roster, config.box_language,
                                                    contacts)))
    return daemon
