"""A few AT commands straight over pyserial, for the selftest.

The daemon's modem adapter is not used on purpose: its start-up collects (and deletes) SMS
stored on the SIM, which must stay there for the daemon to handle as alarms or acknowledgements.
"""
from __future__ import annotations

import time

import serial
from gsmmodem.pdu import encodeSmsSubmitPdu

from edgebox.errors import ModemError, ModemTimeout

FINAL = ("OK", "ERROR")
CTRL_Z = "\x1a"


class AtProbe:
    def __init__(self, port: str, baudrate: int = 115200, flow_control: str = "none",
                 timeout: float = 10):
        self.timeout = timeout
        try:
            # exclusive, as the daemon opens it: neither can open the port under the other
            self._serial = serial.serial_for_url(port, baudrate=baudrate, timeout=0.2,
                                                 exclusive=True,
                                                 rtscts=flow_control == "rtscts",
                                                 dsrdtr=flow_control == "dsrdtr")
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ModemError(f"cannot open {port}: {exc}") from exc

    def close(self) -> None:
        self._serial.close()

    def command(self, text: str, timeout: float | None = None) -> list[str]:
        """The lines the modem answered (without the echo), ending with OK; ModemError on ERROR."""
        self._write(text + "\r")
        lines = self._read_until(lambda line: line in FINAL or line.startswith(
            ("+CME ERROR", "+CMS ERROR")), timeout or self.timeout, text)
        if lines[-1] != "OK":
            raise ModemError(f"modem refused {text}: {lines[-1]}")
        return [line for line in lines if line != text]

    def send_sms(self, number: str, text: str, timeout: float = 60) -> None:
        pdu = encodeSmsSubmitPdu(number, text)[0]  # one part: the selftest text is short
        self.command("AT+CMGF=0")
        self._write(f"AT+CMGS={pdu.tpduLength}\r")
        self._read_until(lambda line: line.startswith(">"), self.timeout, "AT+CMGS", prompt=True)
        self._write(str(pdu) + CTRL_Z)
        lines = self._read_until(lambda line: line in FINAL or "ERROR" in line, timeout, "AT+CMGS")
        if lines[-1] != "OK":
            raise ModemError(f"the network did not take the SMS: {lines[-1]}")

    def _write(self, text: str) -> None:
        try:
            self._serial.write(text.encode("ascii"))
        except (serial.SerialException, OSError) as exc:
            raise ModemError(f"cannot write to the modem: {exc}") from exc

    def _read_until(self, done, timeout: float, what: str, prompt: bool = False) -> list[str]:
        deadline = time.monotonic() + timeout
        buffer = b""
        lines: list[str] = []
        while time.monotonic() < deadline:
            try:
                buffer += self._serial.read(256)
            except (serial.SerialException, OSError) as exc:
                raise ModemError(f"cannot read from the modem: {exc}") from exc
            if prompt and b">" in buffer:
                return [">"]
            while b"\n" in buffer:
                raw, buffer = buffer.split(b"\n", 1)
                line = raw.decode("ascii", "replace").strip()
                if line:
                    lines.append(line)
                    if done(line):
                        return lines
        raise ModemTimeout(f"no answer to {what} within {timeout:g} s")
