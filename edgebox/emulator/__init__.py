"""A GSM modem emulator: an AT-command modem on a pseudo-terminal, with a simulated network.

The test suite, the demo and the benchmarks use it in place of the USB modem: the box's code
opens ``EmulatorServer.port`` (or its ``link``) like any serial port, while the test drives the
network side (ring the box, deliver an SMS, make members answer) and reads the log of what the
box did.
"""
from edgebox.emulator.control import EmulatorClient
from edgebox.emulator.profiles import PROFILES, Profile
from edgebox.emulator.pty_server import EmulatorServer
from edgebox.emulator.timing import Latency

__all__ = ["EmulatorServer", "EmulatorClient", "Latency", "Profile", "PROFILES"]
