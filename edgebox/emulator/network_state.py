"""What the simulated network and SIM look like to the modem, as the control side sets it.

This state belongs to the world outside the modem, so it survives a modem reboot or an unplug:
coverage, signal, the operator's balance answer, how wrong the network clock is, and the
commands a fault has made hang.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from edgebox.emulator.calls import canonical_number

DEFAULT_BALANCE = "尊敬的客户，您的账户余额为12.50元。"
DEFAULT_RSSI = 23  # about -67 dBm: a good rural signal


@dataclass
class SmsErrorRule:
    code: int
    remaining: int | None  # None: every submit to that number fails


@dataclass
class NetworkState:
    registered: bool = True
    roaming: bool = False
    rssi: int = DEFAULT_RSSI  # +CSQ scale: 0-31, 99 unknown
    balance_text: str = DEFAULT_BALANCE
    report_slot: str | None = None  # "empty" / "other_memory": reports announced wrongly
    ussd_style: str | None = None  # how USSD answers are encoded; None: as the profile does
    clock_offset: float = 0.0  # seconds the network (NITZ) clock is ahead of true time
    sim_ready_at: float = float("-inf")  # engine clock time from which the SIM answers
    stuck: list[list] = field(default_factory=list)  # [prefix, remaining count] pairs
    sms_errors: dict[str, SmsErrorRule] = field(default_factory=dict)  # by canonical number

    def set_signal(self, registered: bool, rssi: int) -> None:
        if not (0 <= rssi <= 31 or rssi == 99):
            raise ValueError("rssi must be 0-31 or 99 (unknown)")
        self.registered = bool(registered)
        self.rssi = int(rssi)

    # -- commands that never answer ----------------------------------------------------------

    def add_stuck(self, prefix: str, count: int = 1) -> None:
        if count < 1 or not prefix.upper().startswith("AT"):
            raise ValueError("stuck needs a prefix starting with AT and a count of at least 1")
        self.stuck.append([prefix.upper(), count])

    def take_stuck(self, line: str) -> bool:
        """True (and one use consumed) if the command line ``line`` must get no answer."""
        upper = line.upper()
        for rule in self.stuck:
            if upper.startswith(rule[0]):
                rule[1] -= 1
                if rule[1] <= 0:
                    self.stuck.remove(rule)
                return True
        return False

    # -- submits that fail -------------------------------------------------------------------

    def add_sms_error(self, number: str, code: int, count: int | None, country_code: str) -> None:
        if count is not None and count < 1:
            raise ValueError("count must be at least 1, or None for always")
        self.sms_errors[canonical_number(number, country_code)] = SmsErrorRule(int(code), count)

    def take_sms_error(self, number: str, country_code: str) -> int | None:
        """The +CMS ERROR code a submit to ``number`` gets, or None when it goes through."""
        key = canonical_number(number, country_code)
        rule = self.sms_errors.get(key)
        if rule is None:
            return None
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                del self.sms_errors[key]
        return rule.code
