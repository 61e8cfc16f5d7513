"""Control-side operations of ``EmulatorServer`` beyond calls and SMS: the network's condition,
delivery outcomes, and injected faults.

Every fault is logged as ``{"kind": "fault", "fault": <name>, ...its arguments}`` before it
takes effect, so a test can line it up with what the box did next. The port-level faults
(``unplug``, ``reboot`` on USB profiles) are carried out by the pty thread; these methods return
once the port is gone.
"""
from __future__ import annotations

from edgebox.emulator.commands_health import announce_registration


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

    def sim_not_ready(self, seconds: float) -> None:
        """The SIM stops answering for ``seconds`` (+CPIN: NOT READY, +CME ERROR: 10)."""
        def change():
            self._fault("sim_not_ready", seconds=seconds)
            self.engine.sim_not_ready(float(seconds))
        self._control(change)

    def _fault(self, name: str, **details) -> None:
        self.engine.log.record("fault", fault=name, **details)
