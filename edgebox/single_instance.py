"""One daemon per database and per modem port.

Two daemons on one database would both claim the outbox and answer every alarm twice; two on
one modem port split its lines between them, so a caller's ``+CLIP`` reaches one and the
``OK`` of the other's command goes astray (the call is logged as "?" and nobody is texted).

- The database: ``edgebox run`` holds an ``flock`` on ``<database>.lock`` beside it for its
  whole life, with its PID and command written in the file. The kernel drops the lock when
  the process ends, however it ends, so a crash never leaves a stale lock to clean up (the
  file stays; only the lock matters). Tools that must not run beside the daemon (the siren
  test, the panel watch) take the same lock while they run.
- Modem ports are opened with pyserial's ``exclusive=True``, an ``flock`` on the device
  (TIOCEXCL would not do: root, and anything with CAP_SYS_ADMIN, opens an exclusive tty
  anyway). Before starting, ``edgebox run`` looks for a holder of each configured port.

Who holds a lock is read from ``/proc/locks`` (Linux), which names the PID of every ``flock``
holder by device and inode: no need to open the port, which would raise DTR on a modem in a
call, nor to take the database lock just to look.
"""
from __future__ import annotations

import fcntl
import os

from edgebox.errors import EdgeboxError

PROC_LOCKS = "/proc/locks"


class InUse(EdgeboxError):
    """Another process holds the database or a modem port."""


def lock_path(database: str) -> str:
    return f"{database}.lock"


def flock_holder(path: str, proc_locks: str = PROC_LOCKS) -> int | None:
    """The PID of the process holding an ``flock`` on ``path``; None when none does (or this
    system does not say)."""
    try:
        stat = os.stat(path)
        with open(proc_locks, encoding="ascii", errors="replace") as locks:
            lines = locks.read().splitlines()
    except OSError:
        return None
    inode = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    for line in lines:
        # "3: FLOCK  ADVISORY  WRITE 4387 fe:00:2180330 0 EOF"; "3: -> FLOCK …" is a waiter.
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == inode:
            try:
                return int(fields[4])
            except ValueError:
                return None
    return None


def _who(pid: int | None, described: str = "") -> str:
    if pid is None:
        return f"another process{f' ({described})' if described else ''}"
    return f"process {pid}{f' ({described})' if described else ''}"


def lock_owner(database: str) -> tuple[int, str] | None:
    """(PID, command) of the process holding the database's lock (a running ``edgebox run``,
    or a tool that stands in for it), or None when none does."""
    if database == ":memory:":
        return None
    pid = flock_holder(lock_path(database))
    if pid is None:
        return None
    try:
        with open(lock_path(database), encoding="utf-8", errors="replace") as written:
            written_pid, _, what = written.read(200).strip().partition(" ")
    except OSError:
        written_pid, what = "", ""
    return pid, what if written_pid == str(pid) else ""


class DatabaseLock:
    """The ``flock`` on ``<database>.lock``, held from ``acquire`` until ``release`` or the
    process ends. ``what`` is written beside the PID so the refusal says who holds it."""

    def __init__(self, database: str, what: str):
        self.database = database
        self.path = lock_path(database)
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> "DatabaseLock":
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except PermissionError:
            # made by root (a tool run by hand before the daemon's first start): an flock
            # needs no write access, only the PID note is left as root wrote it
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise EdgeboxError(f"cannot open lock file {self.path}: "
                                   f"{exc.strerror or exc}") from exc
        except OSError as exc:
            raise EdgeboxError(f"cannot create lock file {self.path}: "
                               f"{exc.strerror or exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder, described = self._read_holder(fd)
            os.close(fd)
            raise InUse(f"database {self.database} is in use by "
                        f"{_who(flock_holder(self.path) or holder, described)}; "
                        "stop it first") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {self.what}\n".encode(), 0)
        except OSError:
            pass  # opened read-only (above), or a full disk: the lock holds all the same
        self._fd = fd
        return self

    @staticmethod
    def _read_holder(fd: int) -> tuple[int | None, str]:
        """(PID, command) as the holder wrote them in the file; what can be read of them."""
        try:
            text = os.pread(fd, 200, 0).decode("utf-8", errors="replace").strip()
        except OSError:
            return None, ""
        pid, _, described = text.partition(" ")
        return (int(pid) if pid.isdigit() else None), described

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = None

    def __enter__(self) -> "DatabaseLock":
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()


def check_ports_free(ports: list[str]) -> None:
    """Refuse when another process holds one of these modem ports (see the module's note)."""
    for port in ports:
        holder = flock_holder(port)
        if holder is not None and holder != os.getpid():
            raise InUse(f"modem port {port} is in use by {_who(holder)}; stop it first")
