"""The GSM modem at the edge: AT over a serial port (a USB modem, or the emulator's pty)."""
from edgebox.adapters.modem.events import (DeliveryReport, IncomingCall, IncomingSms, ModemLost,
                                           RingOutcome, UssdReply)
from edgebox.adapters.modem.serial_modem import SerialModem

__all__ = ["DeliveryReport", "IncomingCall", "IncomingSms", "ModemLost", "RingOutcome",
           "SerialModem", "UssdReply"]
