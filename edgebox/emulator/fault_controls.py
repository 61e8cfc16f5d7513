"""Control-side operations of ``EmulatorServer`` beyond calls and SMS: the network's condition,
delivery outcomes, and injected faults.

Every fault is logged as ``{"kind": "fault", "fault": <name>, ...its arguments}`` before it
takes effect, so a test can line it up with what the box did next. The port-level faults
(``unplug``, ``reboot`` on USB profiles) are carried out by the pty thread; these methods return
once the port is gone.
"""
from __future__ import annotations

import random

from edgebox.emulator.commands_health import announce_registration
from edgebox.emulator.profiles import USSD_STYLES

REPORT_SLOT_FAULTS = ("empty", "other_memory")


class FaultControls:
    """Mixed into ``EmulatorServer``, which provides ``engine``, ``_control`` and the pty plumbing."""

    # -- the network's condition -------------------------------------------------------------

    def network(self, registered: bool, rssi: int | None = None, roaming: bool = False) -> None:
        """Coverage lost or back: +CREG/+CEREG and +CSQ follow; submits fail while unregistered."""
        def change():
            network = self.engine.network
            new_rssi = network.rssi if rssi is None else int(rssi)
            self._fault("network", registered=bool(registered), rssi=new_rssi, roaming=bool(roaming))
            network.set_signal(registered, new_rssi)
            network.roaming = bool(roaming)
            announce_registration(self.engine)
            self.engine.check_reachable()
        self._control(change)

    def set_delivery(self, number: str, status: str = "delivered") -> None:
        """Outcome of delivery reports for SMS to ``number``: delivered, failed or none."""
        self._control(lambda: self.engine.services["sms"].reports.set_delivery(number, status))

    def set_balance(self, text: str) -> None:
        """What the operator answers to a balance USSD code."""
        self._control(lambda: setattr(self.engine.network, "balance_text", str(text)))

    def set_ussd_style(self, style: str | None) -> None:
        """How USSD answers are encoded from now on (see commands_health); None: the profile's."""
        if style is not None and style not in USSD_STYLES:
            raise ValueError(f"ussd style must be one of {USSD_STYLES}")
        self._control(lambda: setattr(self.engine.network, "ussd_style", style))

    def set_clock_offset(self, seconds: float) -> None:
        """Make the network time (AT+CCLK?) wrong by ``seconds`` (negative: behind)."""
        self._control(lambda: setattr(self.engine.network, "clock_offset", float(seconds)))

    # -- faults ------------------------------------------------------------------------------

    def unplug(self, seconds: float) -> None:
        """The USB modem is pulled out; ``seconds`` later it is back under a new /dev/pts name."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        self._control(lambda: self._fault("unplug", seconds=seconds))
        self._on_pty_thread(lambda: self._pull_out(seconds))

    def reboot(self) -> None:
        """The modem resets now: USB profiles re-enumerate like ``unplug``, a UART one stays."""
        self._control(lambda: self._fault("reboot", seconds=self.engine.latency.reboot))
        if self.engine.profile.usb:
            self._on_pty_thread(lambda: self._pull_out(self.engine.latency.reboot))
        else:
            self._control(self.engine.reboot)

    def reboot_in_place(self, lines_lost: bool = False, sim_seconds: float = 0.0) -> None:
        """A brown-out on a weak supply: the module restarts on the same port, whatever the
        profile (a UART), printing its power-down and boot lines (not with ``lines_lost``),
        and comes back at its power-up settings, its SIM ready ``sim_seconds`` later."""
        def restart():
            self._fault("reboot_in_place", lines_lost=bool(lines_lost),
                        seconds=self.engine.latency.reboot, sim_seconds=float(sim_seconds))
            self.engine.reboot_in_place(bool(lines_lost), float(sim_seconds))
        self._control(restart)

    def random_reboots(self, mean_seconds: float | None, seed: int | None = None,
                       lines_lost_share: float = 0.0) -> None:
        """Restart in place at random, on average every ``mean_seconds`` (exponential gaps,
        ``seed`` for a repeatable run); a ``lines_lost_share`` of them print nothing. None
        stops it."""
        if mean_seconds is not None and mean_seconds <= 0:
            raise ValueError("mean_seconds must be positive")
        if not 0.0 <= lines_lost_share <= 1.0:
            raise ValueError("lines_lost_share must be between 0 and 1")
        chance = random.Random(seed)

        def next_one():
            self._random_reboot = self._port_timers.schedule(
                chance.expovariate(1.0 / mean_seconds), fire)

        def fire():
            if self.port is not None:  # unplugged meanwhile: nothing to brown out
                lost = chance.random() < lines_lost_share
                with self._lock:
                    self._fault("reboot_in_place", lines_lost=lost, random=True,
                                seconds=self.engine.latency.reboot)
                    self.engine.reboot_in_place(lost)
            next_one()

        def change():
            previous = getattr(self, "_random_reboot", None)
            if previous is not None:
                previous.cancel()
            self._random_reboot = None
            self._fault("random_reboots", mean_seconds=mean_seconds, seed=seed,
                        lines_lost_share=lines_lost_share)
            if mean_seconds is not None:
                next_one()
        self._control(change)

    def report_slot(self, how: str | None) -> None:
        """Delivery reports announced by +CDSI at an empty slot or in the wrong memory
        (``REPORT_SLOT_FAULTS``); None: as ``AT+CNMI`` asks again."""
        if how is not None and how not in REPORT_SLOT_FAULTS:
            raise ValueError(f"report slot fault must be one of {REPORT_SLOT_FAULTS}")

        def change():
            self._fault("report_slot", how=how)
            self.engine.network.report_slot = how
        self._control(change)

    def garbage(self, data: bytes) -> None:
        """Write ``data`` to the host as it is: line noise, half lines, invalid UTF-8, NULs."""
        data = bytes(data)

        def write():
            self._fault("garbage", length=len(data))
            self.engine.write_raw(data)
        self._control(write)

    def stuck(self, prefix: str, count: int = 1) -> None:
        """The next ``count`` command lines starting with ``prefix`` never get an answer."""
        def change():
            self._fault("stuck", prefix=prefix, count=count)
            self.engine.network.add_stuck(prefix, int(count))
        self._control(change)

    def sms_error(self, number: str, code: int, count: int | None = None) -> None:
        """Submits to ``number`` answer ``+CMS ERROR: <code>`` (``count`` times, or always)."""
        def change():
            self._fault("sms_error", number=number, code=int(code), count=count)
            self.engine.network.add_sms_error(number, int(code), count, self.engine.profile.country_code)
        self._control(change)

    def sim_not_ready(self, seconds: float | None) -> None:
        """The SIM stops answering for ``seconds`` (+CPIN: NOT READY, +CME ERROR: 10), or
        with None until ``release_sim()``."""
        def change():
            self._fault("sim_not_ready", seconds=seconds)
            self.engine.sim_not_ready(None if seconds is None else float(seconds))
        self._control(change)

    def release_sim(self) -> None:
        """The SIM held by ``sim_not_ready(None)`` is ready now."""
        def change():
            self._fault("release_sim")
            self.engine.release_sim()
        self._control(change)

    def _fault(self, name: str, **details) -> None:
        self.engine.log.record("fault", fault=name, **details)
