"""The modem's power and SIM state, mixed into ``AtEngine``.

``reboot()`` (or ``power_off()``/``power_on()`` when the pty server unplugs the port) drops
whatever was in flight, like a real module losing power: the command being answered, calls,
held URCs and every pending timer. What the modem had already written stays written. After
power-up the profile's boot lines follow (``RDY`` ... ``SMS Ready``); the ones from
``+CPIN: READY`` on wait until the SIM is ready, and on profiles with ``boot_urcs_in_answers``
the ones after it go out inside the answers to the next identification commands (AT+CGMI,
AT+CGMM, ATI …), one per answer, or on their own once booting is done (``BOOT_LINES_LATE``
times the reboot latency after power-up: a module takes about that long again from RDY to
"SMS Ready").

``reboot_in_place`` is a brown-out on a UART module: the port stays, the module prints its
power-down line, restarts, prints its boot lines and is back at its power-up settings. With
``lines_lost`` nothing of that reaches the host (a restart while the host was writing): only
the settings show it. With ``sim_seconds`` the SIM is still not ready that long after the
module answers again (``+CPIN: NOT READY``, SIM commands refused), as a real SIM may be while
the host sets the modem up again.

``sim_not_ready(None)`` holds the SIM not ready until ``release_sim()``: a test can then be
sure the host met it, whatever the machine's load.
"""
from __future__ import annotations

from typing import Callable

# SIM800: RDY about 3 s after power-on, "SMS Ready" some 5-10 s after that.
BOOT_LINES_LATE = 2.0
IDENTIFICATION = frozenset({"+CGMI", "+CGMM", "+GMI", "+GMM", "I", "+CGMR", "+GMR"})


class ModemPower:
    """Needs the engine's ``settings``, ``services``, ``timers``, ``network``, ``log`` and I/O state."""

    def power_off(self) -> None:
        """Lose power: the command in flight, calls, held URCs and pending timers are gone."""
        for service in list(self.services.values()):
            stop = getattr(service, "power_off", None)
            if stop is not None:
                stop()
        self.timers.clear()
        self.sim_waiters = []
        self.powered = False
        self.late_boot_lines = []
        self.forget_pending_io()

    def power_on(self, announce: bool = True) -> None:
        """Boot: power-up settings, forgotten stuck commands, then the profile's boot lines
        (unless ``announce`` is off: lines the host never sees)."""
        self.powered = True
        self.reset()
        self.network.stuck.clear()
        self.rtc_started = (self.clock(), None)
        self.log.record("booted")
        lines = list(self.profile.boot_lines) if announce else []
        if "+CPIN: READY" in lines:
            at = lines.index("+CPIN: READY")
            before, sim_lines, late = lines[:at], lines[at:at + 1], lines[at + 1:]
        else:
            before, sim_lines, late = lines, [], []
        for line in before:
            self.emit_urc(line)
        if self.profile.boot_urcs_in_answers and late:
            self.late_boot_lines = late
            self.when_sim_ready(lambda: self._sim_came_up(sim_lines, check=False))
            self.timers.schedule(BOOT_LINES_LATE * self.latency.reboot,
                                 self._flush_late_boot_lines)
        else:
            self.when_sim_ready(lambda: self._sim_came_up(sim_lines + late))

    def take_late_boot_line(self, command_name: str) -> str | None:
        """A boot line still to come, to go out inside the answer to ``command_name``."""
        if command_name in IDENTIFICATION and self.late_boot_lines and self.sim_ready():
            line = self.late_boot_lines.pop(0)
            self.log.record("boot_line_in_answer", line=line, command=command_name)
            if not self.late_boot_lines:
                self.check_reachable()
            return line
        return None

    def _flush_late_boot_lines(self) -> None:
        # They follow "+CPIN: READY": a SIM still not ready holds them back too.
        if not self.sim_ready():
            self.when_sim_ready(self._flush_late_boot_lines)
            return
        lines, self.late_boot_lines = self.late_boot_lines, []
        if lines:
            self._sim_came_up(lines)

    def reboot(self, boot_seconds: float | None = None, announce: bool = True) -> None:
        """Reset in place (a UART modem): off now, booted after ``boot_seconds``."""
        self.power_off()
        delay = self.latency.reboot if boot_seconds is None else boot_seconds
        self.timers.schedule(delay, lambda: self.power_on(announce))

    def reboot_in_place(self, lines_lost: bool = False, sim_seconds: float = 0.0) -> None:
        """A brown-out: the power-down line (SIMCom), then a restart on the same port, the SIM
        ready ``sim_seconds`` after the module."""
        if sim_seconds < 0:
            raise ValueError("sim_seconds must not be negative")
        if self.profile.power_down_line and not lines_lost:
            self.write_raw(f"\r\n{self.profile.power_down_line}\r\n".encode("ascii"))
        if sim_seconds:
            self.network.sim_ready_at = self.clock() + self.latency.reboot + sim_seconds
        self.reboot(announce=not lines_lost)

    def request_reboot(self) -> None:
        """AT+CFUN=1,1 after its OK went out."""
        if self.reboot_handler is not None:
            self.reboot_handler()
        else:
            self.timers.schedule(0.0, self.reboot)

    # -- the SIM -----------------------------------------------------------------------------

    def reachable(self) -> bool:
        """Whether the network can reach this modem with a call or an SMS now (not before its
        boot lines are all out: "SMS Ready" says it can take SMS)."""
        return (self.powered and self.network.registered and self.sim_ready()
                and not self.late_boot_lines)

    def sim_ready(self) -> bool:
        return self.clock() >= self.network.sim_ready_at

    def sim_not_ready(self, seconds: float | None) -> None:
        """The SIM stops answering now and comes back after ``seconds`` (+CPIN: READY then),
        or with None when ``release_sim()`` is called."""
        if seconds is not None and seconds <= 0:
            raise ValueError("seconds must be positive")
        self.network.sim_ready_at = float("inf") if seconds is None else self.clock() + seconds
        self.emit_urc("+CPIN: NOT READY")
        lines = list(self.profile.boot_lines)
        lines = lines[lines.index("+CPIN: READY"):] if "+CPIN: READY" in lines else ["+CPIN: READY"]
        self.when_sim_ready(lambda: self._sim_came_up(lines))

    def _sim_came_up(self, lines: list[str], check: bool = True) -> None:
        for line in lines:
            self.emit_urc(line)
        if check:
            self.check_reachable()

    def check_reachable(self) -> None:
        """Hand over what the network kept for the modem while it could not be reached."""
        if self.reachable():
            self.services["sms"].deliver_waiting()

    def release_sim(self) -> None:
        """The SIM held by ``sim_not_ready(None)`` is ready now."""
        self.network.sim_ready_at = min(self.network.sim_ready_at, self.clock())
        waiters, self.sim_waiters = self.sim_waiters, []
        for action in waiters:
            action()

    def when_sim_ready(self, action: Callable[[], object]) -> None:
        wait = self.network.sim_ready_at - self.clock()
        if wait <= 0:
            action()
        elif wait == float("inf"):
            self.sim_waiters.append(action)
        else:
            self.timers.schedule(wait, lambda: action() if self.sim_ready() else None)
