"""The modem's power and SIM state, mixed into ``AtEngine``.

``reboot()`` (or ``power_off()``/``power_on()`` when the pty server unplugs the port) drops
whatever was in flight, like a real module losing power: the command being answered, calls,
held URCs and every pending timer. What the modem had already written stays written. After
power-up the profile's boot lines follow (``RDY`` ... ``SMS Ready``); the ones from
``+CPIN: READY`` on wait until the SIM is ready.
"""
from __future__ import annotations

from typing import Callable


class ModemPower:
    """Needs the engine's ``settings``, ``services``, ``timers``, ``network``, ``log`` and I/O state."""

    def power_off(self) -> None:
        """Lose power: the command in flight, calls, held URCs and pending timers are gone."""
        for service in list(self.services.values()):
            stop = getattr(service, "power_off", None)
            if stop is not None:
                stop()
        self.timers.clear()
        self.powered = False
        self.forget_pending_io()

    def power_on(self) -> None:
        """Boot: power-up settings, forgotten stuck commands, then the profile's boot lines."""
        self.powered = True
        self.reset()
        self.network.stuck.clear()
        self.log.record("booted")
        lines = list(self.profile.boot_lines)
        sim_part = lines.index("+CPIN: READY") if "+CPIN: READY" in lines else len(lines)
        for line in lines[:sim_part]:
            self.emit_urc(line)
        self.when_sim_ready(lambda: self._sim_came_up(lines[sim_part:]))

    def reboot(self, boot_seconds: float | None = None) -> None:
        """Reset in place (a UART modem): off now, booted after ``boot_seconds``."""
        self.power_off()
        delay = self.latency.reboot if boot_seconds is None else boot_seconds
        self.timers.schedule(delay, self.power_on)

    def request_reboot(self) -> None:
        """AT+CFUN=1,1 after its OK went out."""
        if self.reboot_handler is not None:
            self.reboot_handler()
        else:
            self.timers.schedule(0.0, self.reboot)

    # -- the SIM -----------------------------------------------------------------------------

    def reachable(self) -> bool:
        """Whether the network can reach this modem with a call or an SMS now."""
        return self.powered and self.network.registered and self.sim_ready()

    def sim_ready(self) -> bool:
        return self.clock() >= self.network.sim_ready_at

    def sim_not_ready(self, seconds: float) -> None:
        """The SIM stops answering now and comes back after ``seconds`` (+CPIN: READY then)."""
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        self.network.sim_ready_at = self.clock() + seconds
        self.emit_urc("+CPIN: NOT READY")
        lines = list(self.profile.boot_lines)
        lines = lines[lines.index("+CPIN: READY"):] if "+CPIN: READY" in lines else ["+CPIN: READY"]
        self.when_sim_ready(lambda: self._sim_came_up(lines))

    def _sim_came_up(self, lines: list[str]) -> None:
        for line in lines:
            self.emit_urc(line)
        self.check_reachable()

    def check_reachable(self) -> None:
        """Hand over what the network kept for the modem while it could not be reached."""
        if self.reachable():
            self.services["sms"].deliver_waiting()

    def when_sim_ready(self, action: Callable[[], object]) -> None:
        wait = self.network.sim_ready_at - self.clock()
        if wait <= 0:
            action()
        else:
            self.timers.schedule(wait, lambda: action() if self.sim_ready() else None)
