"""Give the daemon's threads their Python names in the kernel too.

Python (before 3.14) leaves every thread of the process named "python" in /proc, so `top -H`,
`ps -L` and the idle benchmark cannot tell the event loop from a modem worker. A thread may
rename any thread of its own process through /proc/self/task/<id>/comm (Linux 2.6.33 and later),
so one pass over the live threads names them all, the library's reader threads included.
"""
from __future__ import annotations

import threading
from pathlib import Path

COMM_LENGTH = 15  # the kernel keeps 15 bytes of a thread's name


def label_threads() -> int:
    """Write each live thread's name to its /proc comm; how many were named. Nothing happens
    where /proc is missing or read-only: the names only help whoever looks."""
    named = 0
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        name = thread.name.encode("utf-8")[:COMM_LENGTH].decode("utf-8", "ignore")
        try:
            Path(f"/proc/self/task/{thread.native_id}/comm").write_text(name)
        except OSError:  # the thread ended meanwhile, or no /proc here
            continue
        named += 1
    return named
