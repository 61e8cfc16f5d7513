"""The one exception hierarchy of edgebox.

    EdgeboxError
    ├── ConfigError        a config key is missing or wrong (names the key)
    ├── RosterError        a roster row or group breaks a rule (names the line)
    ├── StoreError         the database cannot be opened or migrated
    └── ModemError         the modem did not do what was asked
        ├── ModemTimeout   the modem did not answer in time
        └── ModemRestarted the modem restarted in place while a command waited for its answer

Third-party errors (pyserial, gsmmodem, sqlite3) are translated at the adapter boundary with
``raise ... from exc`` so callers only ever catch these.
"""


class EdgeboxError(Exception):
    """Base of every error edgebox raises on purpose."""


class ConfigError(EdgeboxError):
    def __init__(self, key: str, problem: str):
        super().__init__(f"config key '{key}': {problem}")
        self.key = key
        self.problem = problem


class RosterError(EdgeboxError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems) if problems else "roster is invalid")
        self.problems = list(problems)


class StoreError(EdgeboxError):
    pass


class ModemError(EdgeboxError):
    pass


class ModemTimeout(ModemError):
    pass


class ModemRestarted(ModemError):
    """The modem printed its boot lines (RDY, SMS Ready …) while a command waited: the command
    was lost with the restart, and the modem is back at its power-up settings."""
