"""A box in a box for benchmarks: the real daemon (composition root and all) in this process,
talking AT over pseudo-terminals to N emulated modems with a chosen latency model."""
from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from edgebox.adapters.gpio.simulated import SimulatedGPIO
from edgebox.config import parse_config
from edgebox.daemon.app import build_daemon
from edgebox.daemon.service import utc_now
from edgebox.demo.village import build_village
from edgebox.emulator import EmulatorServer, Latency
from edgebox.store import SqliteStore


@contextmanager
def running_box(modems: int, latency: Latency, extra_config: str = "", roster=None):
    """Yield (daemon, emulators) with the demo village loaded; everything stopped after."""
    roster = roster or build_village()
    with tempfile.TemporaryDirectory(prefix="edgebox-bench-") as tmp:
        work = Path(tmp)
        emulators = [EmulatorServer(link=str(work / f"modem{i}"), latency=latency).start()
                     for i in range(modems)]
        daemon = None
        try:
            store = SqliteStore(work / "box.db")
            store.replace_roster(roster, utc_now(), source="bench")
            store.close()
            tables = "".join(f'[[modems]]\nname = "m{i}"\nport = "{e.link}"\n'
                             for i, e in enumerate(emulators))
            config = parse_config(f'[box]\ndatabase = "{work / "box.db"}"\n[siren]\n'
                                  f'on_seconds = 0\n{extra_config}\n{tables}', "bench")
            daemon = build_daemon(config, gpio=SimulatedGPIO())
            daemon.start()
            wait_until(lambda: daemon.modems_ready() == modems, 30)
            yield daemon, emulators
        finally:
            if daemon is not None:
                daemon.stop()
            for emulator in emulators:
                emulator.stop()


def wait_until(condition, timeout: float, poll: float = 0.01) -> float:
    """Seconds until ``condition()`` held; raises TimeoutError after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(poll)
    return time.monotonic() - start
