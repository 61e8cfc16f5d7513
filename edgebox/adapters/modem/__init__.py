"""The GSM modem at the edge: AT over a serial port (a USB modem, or the emulator's pty)."""
from edgebox.adapters.modem.events import IncomingCall, IncomingSms, ModemLost, RingOutcome
from edgebox.adapters.modem.serial_modem import SerialModem

__all__ = ["IncomingCall", "IncomingSms", "ModemLost", "RingOutcome", "SerialModem"]
