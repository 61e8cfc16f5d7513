"""Message storage of the simulated modem and reassembly of what the host submits.

Storages are named like on a real module ("SM" on the SIM, "ME" in the phone); indices start at
1 and are reused once a message is deleted, which is what hosts see on real hardware.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edgebox.emulator.sms_codec import DeliverPdu, SubmittedPart

REC_UNREAD, REC_READ, STO_UNSENT, STO_SENT = 0, 1, 2, 3
ALL = 4
STATUS_NAMES = {REC_UNREAD: "REC UNREAD", REC_READ: "REC READ", STO_UNSENT: "STO UNSENT",
                STO_SENT: "STO SENT", ALL: "ALL"}
STATUS_BY_NAME = {name: number for number, name in STATUS_NAMES.items()}
MESSAGE_STORAGES = ("SM", "ME")  # where messages are written and received
STORAGE_NAMES = MESSAGE_STORAGES + ("SR",)  # plus the status-report storage


@dataclass
class StoredSms:
    """One received SMS part as the modem keeps it."""

    index: int
    status: int
    sender: str
    timestamp: datetime
    pdu: DeliverPdu


class SmsStorage:
    def __init__(self, name: str, capacity: int):
        self.name = name
        self.capacity = capacity
        self._messages: dict[int, StoredSms] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def store(self, sender: str, timestamp: datetime, pdu: DeliverPdu) -> StoredSms | None:
        """Keep a received part at the lowest free index; None when the storage is full."""
        for index in range(1, self.capacity + 1):
            if index not in self._messages:
                message = StoredSms(index, REC_UNREAD, sender, timestamp, pdu)
                self._messages[index] = message
                return message
        return None

    def get(self, index: int) -> StoredSms | None:
        return self._messages.get(index)

    def delete(self, index: int) -> bool:
        return self._messages.pop(index, None) is not None

    def listing(self, status: int) -> list[StoredSms]:
        return [message for index, message in sorted(self._messages.items())
                if status == ALL or message.status == status]

    def delete_by_flag(self, flag: int) -> None:
        """AT+CMGD=<i>,<flag> with flag 1–4: delete read / read+sent / read+sent+unsent / all."""
        doomed = {1: {REC_READ}, 2: {REC_READ, STO_SENT}, 3: {REC_READ, STO_SENT, STO_UNSENT},
                  4: {REC_UNREAD, REC_READ, STO_SENT, STO_UNSENT}}[flag]
        for index in [i for i, message in self._messages.items() if message.status in doomed]:
            del self._messages[index]


@dataclass
class SentMessage:
    number: str
    text: str
    parts: int
    encoding: str
    reference: int  # +CMGS reference of the last part the host submitted
    submit_seconds: float = 0.0  # the network's wait for every part, Ctrl-Z to +CMGS, summed


class SubmitAssembler:
    """Joins the parts of a concatenated SMS the host submits one AT+CMGS at a time."""

    def __init__(self):
        self._pending: dict[tuple[str, int, int], dict[int, tuple[SubmittedPart, float]]] = {}

    def add(self, part: SubmittedPart, cmgs_reference: int,
            waited: float = 0.0) -> SentMessage | None:
        """The whole message once its last missing part arrives, else None. ``waited``: the
        network's submit wait for this part, summed over the parts in ``submit_seconds``."""
        if part.concat_reference is None or part.part_count <= 1:
            return SentMessage(part.number, part.text, 1, part.encoding, cmgs_reference, waited)
        key = (part.number, part.concat_reference, part.part_count)
        parts = self._pending.setdefault(key, {})
        parts[part.part_number] = (part, waited)
        if len(parts) < part.part_count:
            return None
        del self._pending[key]
        ordered = [parts[number][0] for number in sorted(parts)]
        encoding = "ucs2" if any(p.encoding == "ucs2" for p in ordered) else "gsm7"
        return SentMessage(part.number, "".join(p.text for p in ordered), part.part_count,
                           encoding, cmgs_reference, sum(w for _, w in parts.values()))
