"""Fixtures shared by the daemon tests."""
import pytest

from edgebox.emulator import EmulatorServer, Latency


@pytest.fixture
def emulator(tmp_path):
    """A generic emulated modem on a pty under tmp_path, with a fast network (a test module may
    define its own ``emulator`` fixture for another profile or latency)."""
    emulator = EmulatorServer(link=str(tmp_path / "modem"),
                              latency=Latency(sms_submit=0.05, call_setup=0.1, ring_timeout=0.6))
    emulator.start()
    yield emulator
    emulator.stop()
