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


from edgebox.i18n import Text, Typed


class EdgeboxError(Exception):
    """Base of every error edgebox raises on purpose. Its message is English (logs, tracebacks);
    one made of a ``Text`` is said in a reader's language by ``edgebox.i18n.said``."""


FILE = "(file)"  # the key of a ConfigError about the config file as a whole


class ConfigError(EdgeboxError):
    """A config key is missing or wrong. ``problem`` is a ``Text`` (edgebox.i18n), so the CLI,
    the selftest and edgebox-status.txt say it in Chinese first."""

    def __init__(self, key: str, problem: Text | str):
        # "(file)": the file as a whole (not TOML, not there), said as a word; a key is a name
        # typed as it is, marked so in Chinese
        name = Text("config.the_file", "(file)") if key == FILE else Typed((key,))
        super().__init__(Text("config.problem", "config key '{name}': {problem}", name=name,
                              problem=problem))
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
