"""The roster in force on the event loop, followed by its generation in the store."""
from __future__ import annotations

from edgebox.daemon.ports import RosterTable

class RosterView:
    """Why a generation number in the database and not SIGHUP: every writer (``edgebox roster
    import``, the web page, a leader's SMS) already commits to the store, whichever process or
    user it runs as, so none needs to find, or be allowed to signal, the daemon; a signal sent
    while the daemon starts would be lost, a generation is not; and the test is one primary-key
    read per turn. The roster is immutable, so swapping the reference is safe for the threads
    that read it."""

    def __init__(self, table: RosterTable):
        """``table``: the store's roster table."""
        self._table = table
        self.generation, self.roster = table.snapshot()

    def follow(self) -> bool:
        """Take a roster saved since the last look; True when it changed."""
        if self._table.generation() == self.generation:
            return False
        self.generation, self.roster = self._table.snapshot()
        return True

    def reload(self) -> None:
        """Take the roster this thread has just saved at once; its new generation is still
        followed (and logged as loaded) on the event loop's next turn."""
        self.roster = self._table.load()
