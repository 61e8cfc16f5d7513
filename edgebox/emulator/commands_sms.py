"""SMS commands of 3GPP TS 27.005 in PDU and text mode, and delivery of SMS from the network.

A submit fails with ``+CMS ERROR: <profile.cms_unregistered>`` without network coverage, or with
the code a ``sms_error`` fault set for that recipient, after the usual submit latency (the
module tries the network first). SMS sent to the box while it cannot be reached wait at the
service centre and arrive once it can.

The log shows each message the network took (``sms_sent``, with ``submit_seconds``: how long the
network kept the host waiting for it, Ctrl-Z to ``+CMGS``, over all its parts) and, when the
engine traces, each ``AT+CMGS`` the host types (``cmgs_command``, as the command arrives).
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

from edgebox.emulator.at_parser import EXEC, READ, SET, TEST, AtCommand, AtSyntaxError
from edgebox.emulator.delivery_reports import DeliveryReports
from edgebox.emulator.modem_errors import CmsError
from edgebox.emulator.replies import Reply
from edgebox.emulator.sms_codec import (UCS2, DeliverPdu, SmsCodecError, choose_encoding,
                                        decode_submit_pdu, encode_deliver_pdus, text_mode_timestamp,
                                        ucs2_hex)
from edgebox.emulator.sms_store import (MESSAGE_STORAGES, REC_READ, REC_UNREAD, STATUS_BY_NAME,
                                        STATUS_NAMES, STORAGE_NAMES, SentMessage, SmsStorage,
                                        StoredSms, SubmitAssembler)

if TYPE_CHECKING:  # the engine imports this module; here it is only a type
    from edgebox.emulator.at_engine import AtEngine

CHARSETS = ("IRA", "GSM", "UCS2")


class SmsService:
    """SMS state of the modem: storages, +CPMS selection, references."""

    def __init__(self, engine: AtEngine):
        self.engine = engine
        self.storages = {name: SmsStorage(name, engine.profile.sms_capacity) for name in STORAGE_NAMES}
        self.selected = ["SM", "SM", "SM"]  # +CPMS: read/delete, write/send, receive
        self.smsc = engine.profile.smsc
        self.assembler = SubmitAssembler()
        self._next_cmgs_reference = 1
        self._next_concat_reference = 1
        self.reports = DeliveryReports(engine, self)
        self.waiting_at_smsc: list[tuple[str, str]] = []  # sent to the box while unreachable
        # Numbers that are another emulated modem (EmulatorServer.link_sms): what this modem
        # sends there is handed to that one's network side.
        self.peers: dict[str, Callable[[str], None]] = {}

    def deliver_waiting(self) -> None:
        """The box is reachable again: the service centre hands over what it kept."""
        waiting, self.waiting_at_smsc = self.waiting_at_smsc, []
        for sender, text in waiting:
            self.deliver(sender, text)

    def storage(self, slot: int) -> SmsStorage:
        return self.storages[self.selected[slot]]

    # -- from the network to the host -------------------------------------------------------

    def deliver(self, sender: str, text: str) -> dict:
        """An SMS from ``sender`` arrives: store and announce it (+CMTI) or route it (+CMT)."""
        engine = self.engine
        if not engine.reachable():
            self.waiting_at_smsc.append((sender, text))
            return engine.log.record("sms_waiting", number=sender, text=text)
        timestamp = engine.wallclock().replace(microsecond=0)
        pdus = encode_deliver_pdus(sender, text, timestamp, self.smsc, self._next_concat_reference)
        self._next_concat_reference = (self._next_concat_reference + 1) % 256
        mode, mt = engine.settings.cnmi[0], engine.settings.cnmi[1]
        lost = 0
        for pdu in pdus:
            if mode != 0 and mt in (2, 3):
                engine.emit_urc(*self._direct_delivery(sender, timestamp, pdu))
                continue
            receive = self.storage(2)
            stored = receive.store(sender, timestamp, pdu)
            if stored is None:
                lost += 1  # a real network keeps retrying; here the part is gone
            elif mode != 0 and mt == 1:
                engine.emit_urc(f'+CMTI: "{receive.name}",{stored.index}')
        entry = {"number": sender, "text": text, "parts": len(pdus)}
        if lost:
            entry["lost_parts"] = lost
        return engine.log.record("sms_received", **entry)

    def _direct_delivery(self, sender: str, timestamp, pdu: DeliverPdu) -> list[str]:
        if self.engine.settings.cmgf == 0:
            return [f"+CMT: ,{pdu.tpdu_length}", pdu.hex]
        header = f'+CMT: "{self.engine.encode_text(sender)}","","{text_mode_timestamp(timestamp)}"'
        return [header + self._detail_fields(sender, pdu), self._text_body(pdu)]

    # -- showing stored messages -------------------------------------------------------------

    def show(self, message: StoredSms, listing: bool) -> list[str]:
        index = f"{message.index}," if listing else ""
        if self.engine.settings.cmgf == 0:
            return [f"+CMGL: {index}{message.status},,{message.pdu.tpdu_length}" if listing
                    else f"+CMGR: {message.status},,{message.pdu.tpdu_length}", message.pdu.hex]
        number = self.engine.encode_text(message.sender)
        stamp = text_mode_timestamp(message.timestamp)
        head = "+CMGL: " if listing else "+CMGR: "
        header = f'{head}{index}"{STATUS_NAMES[message.status]}","{number}","","{stamp}"'
        return [header + self._detail_fields(message.sender, message.pdu), self._text_body(message.pdu)]

    def _detail_fields(self, sender: str, pdu: DeliverPdu) -> str:
        """The +CSDH=1 extras: <tooa>,<fo>,<pid>,<dcs>,<sca>,<tosca>,<length>."""
        if not self.engine.settings.csdh:
            return ""
        dcs = 8 if pdu.encoding == UCS2 else 0
        length = len(pdu.text.encode("utf-16-be")) if pdu.encoding == UCS2 else len(pdu.text)
        return (f',{address_type(sender)},{pdu.first_octet},0,{dcs},'
                f'"{self.engine.encode_text(self.smsc)}",{address_type(self.smsc)},{length}')

    def _text_body(self, pdu: DeliverPdu) -> str:
        # Text mode cannot show UCS2 messages in an 8-bit character set; modems show them as hex.
        if pdu.encoding == UCS2:
            return ucs2_hex(pdu.text)
        return self.engine.encode_text(pdu.text)

    # -- from the host to the network --------------------------------------------------------

    def submit_pdu(self, tpdu_length: int, typed: str) -> Reply:
        pdu_hex = "".join(typed.split())
        try:
            octets = bytes.fromhex(pdu_hex)
            if not octets or len(octets) - 1 - octets[0] != tpdu_length:
                raise CmsError(304)
            part = decode_submit_pdu(pdu_hex)
        except (ValueError, SmsCodecError):
            raise CmsError(304) from None
        failure = self._failure(part.number)
        if failure is not None:
            return failure
        reference = self._take_cmgs_reference()
        began = self.engine.clock()

        def sent():
            self.reports.part_sent(part.number, reference, part.status_report)
            self._submitted(self.assembler.add(part, reference, self.engine.clock() - began))
        return Reply([f"+CMGS: {reference}"], delay=self.engine.latency.submit_seconds(),
                     on_answer=sent)

    def submit_text(self, number: str, typed: str) -> Reply:
        text = self.engine.decode_text(typed.replace("\r", "\n").strip("\n"))
        dcs = self.engine.settings.csmp[3]
        encoding = UCS2 if (dcs & 0x0C) == 0x08 or choose_encoding(text) == UCS2 else "gsm7"
        failure = self._failure(number)
        if failure is not None:
            return failure
        reference = self._take_cmgs_reference()
        wants_report = bool(self.engine.settings.csmp[0] & 0x20)
        began = self.engine.clock()

        def sent():
            self.reports.part_sent(number, reference, wants_report)
            self._submitted(SentMessage(number, text, 1, encoding, reference,
                                        self.engine.clock() - began))
        return Reply([f"+CMGS: {reference}"], delay=self.engine.latency.submit_seconds(),
                     on_answer=sent)

    def _failure(self, number: str) -> Reply | None:
        """The +CMS ERROR answer a submit to ``number`` gets now, if it fails."""
        engine = self.engine
        code = None
        if not engine.network.registered:
            code = engine.profile.cms_unregistered
        else:
            code = engine.network.take_sms_error(number, engine.profile.country_code)
        if code is None:
            return None
        engine.log.record("sms_failed", number=number, code=code)
        return Reply(final=engine.error_text(CmsError(code)), delay=engine.latency.submit_seconds())

    def _take_cmgs_reference(self) -> int:
        reference = self._next_cmgs_reference
        self._next_cmgs_reference = (reference + 1) % 256
        return reference

    def _submitted(self, message: SentMessage | None) -> None:
        if message is not None:
            self.engine.log.record("sms_sent", number=message.number, text=message.text,
                                   parts=message.parts, encoding=message.encoding,
                                   reference=message.reference,
                                   submit_seconds=message.submit_seconds)
            peer = self.peers.get(message.number)
            if peer is not None:
                # Its own thread: the peer takes its own lock, never while this one is held.
                threading.Thread(target=peer, args=(message.text,), name="sms-peer",
                                 daemon=True).start()


def address_type(number: str) -> int:
    return 145 if number.startswith("+") else 129


def sms_commands(engine: AtEngine) -> dict:
    service = SmsService(engine)
    engine.services["sms"] = service
    settings = lambda: engine.settings  # noqa: E731 - ATZ replaces the settings object

    def cmgf(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CMGF: (0,1)"])
        if command.form == READ:
            return Reply([f"+CMGF: {settings().cmgf}"])
        (mode,) = command.int_values() or [0]
        if mode not in (0, 1):
            raise CmsError(302)
        settings().cmgf = mode
        return Reply()

    def cscs(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CSCS: (" + ",".join(f'"{name}"' for name in CHARSETS) + ")"])
        if command.form == READ:
            return Reply([f'+CSCS: "{settings().cscs}"'])
        name = (command.values() or [""])[0].upper()
        if name not in CHARSETS:
            raise AtSyntaxError(f"unsupported character set {name}")
        settings().cscs = name
        return Reply()

    def csca(engine, command: AtCommand) -> Reply:
        if command.form == READ:
            return Reply([f'+CSCA: "{engine.encode_text(service.smsc)}",{address_type(service.smsc)}'])
        if command.form == SET and command.values():
            service.smsc = engine.decode_text(command.values()[0])
        return Reply()

    def csmp(engine, command: AtCommand) -> Reply:
        if command.form == READ:
            return Reply(["+CSMP: " + ",".join(map(str, settings().csmp))])
        if command.form == SET:
            given = command.int_values()
            current = list(settings().csmp)
            for position, value in enumerate(given[:4]):
                if value is not None:
                    current[position] = value
            settings().csmp = tuple(current)
        return Reply()

    def csms(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CSMS: (0,1)"])
        if command.form == READ:
            return Reply(["+CSMS: 0,1,1,1"])
        return Reply(["+CSMS: 1,1,1"])

    def cpms(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            # Status reports ("SR") can be read and deleted, not written or received into.
            readable = "(" + ",".join(f'"{name}"' for name in STORAGE_NAMES) + ")"
            choice = "(" + ",".join(f'"{name}"' for name in MESSAGE_STORAGES) + ")"
            return Reply([f"+CPMS: {readable},{choice},{choice}"])
        if command.form == SET:
            names = [name.upper() for name in command.values()][:3]
            if not names or any(name not in (STORAGE_NAMES if slot == 0 else MESSAGE_STORAGES)
                                for slot, name in enumerate(names)):
                raise CmsError(302)
            service.selected[:len(names)] = names
            counts = [f"{len(service.storage(slot))},{service.storage(slot).capacity}" for slot in range(3)]
            return Reply(["+CPMS: " + ",".join(counts)])
        shown = [f'"{s.name}",{len(s)},{s.capacity}' for s in (service.storage(i) for i in range(3))]
        return Reply(["+CPMS: " + ",".join(shown)])

    def cnmi(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply(["+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"])
        if command.form == READ:
            return Reply(["+CNMI: " + ",".join(map(str, settings().cnmi))])
        given = command.int_values()
        current = list(settings().cnmi)
        for position, value in enumerate(given[:5]):
            if value is not None:
                current[position] = value
        if not 0 <= current[0] <= 3 or not 0 <= current[1] <= 3:
            raise CmsError(302)
        settings().cnmi = tuple(current)
        return Reply()

    def csdh(engine, command: AtCommand) -> Reply:
        if command.form == READ:
            return Reply([f"+CSDH: {settings().csdh}"])
        if command.form == TEST:
            return Reply(["+CSDH: (0,1)"])
        settings().csdh = (command.int_values() or [0])[0] or 0
        return Reply()

    def cmgs(engine, command: AtCommand) -> Reply:
        if command.form == TEST:
            return Reply()
        if command.form != SET or not command.values():
            raise AtSyntaxError("AT+CMGS needs a parameter")
        if settings().cmgf == 0:
            (length, *_) = command.int_values()
            if not length or not 7 <= length <= 164:
                raise CmsError(304)
            if engine.trace:
                engine.log.record("cmgs_command", mode="pdu", length=length)
            return Reply(prompt=lambda typed: service.submit_pdu(length, typed))
        number = engine.decode_text(command.values()[0])
        if engine.trace:
            engine.log.record("cmgs_command", mode="text", number=number)
        return Reply(prompt=lambda typed: service.submit_text(number, typed))

    def cmgr(engine, command: AtCommand) -> Reply:
        (index, *_) = command.int_values() or [None]
        storage = service.storage(0)
        if index is None or not 1 <= index <= storage.capacity:
            raise CmsError(321)
        message = storage.get(index)
        if message is None:
            return Reply()
        lines = service.show(message, listing=False)
        if message.status == REC_UNREAD:
            message.status = REC_READ
        return Reply(lines)

    def cmgl(engine, command: AtCommand) -> Reply:
        pdu_mode = settings().cmgf == 0
        if command.form == TEST:
            return Reply(["+CMGL: (0-4)" if pdu_mode else
                          "+CMGL: (" + ",".join(f'"{n}"' for n in STATUS_BY_NAME) + ")"])
        wanted = (command.values() or [""])[0]
        if pdu_mode:
            status = int(wanted) if wanted.isdigit() else (REC_UNREAD if wanted == "" else -1)
        else:
            status = STATUS_BY_NAME.get(wanted.upper() or "REC UNREAD", -1)
        if status not in STATUS_NAMES:
            raise CmsError(302 if pdu_mode else 305)
        lines = []
        for message in service.storage(0).listing(status):
            lines += service.show(message, listing=True)
            if message.status == REC_UNREAD:
                message.status = REC_READ
        return Reply(lines)

    def cmgd(engine, command: AtCommand) -> Reply:
        storage = service.storage(0)
        if command.form == TEST:
            return Reply([f"+CMGD: (1-{storage.capacity}),(0-4)"])
        index, flag = (command.int_values() + [None, None])[:2]
        flag = flag or 0
        if not 0 <= flag <= 4:
            raise CmsError(302)
        if flag:
            storage.delete_by_flag(flag)
        elif index is None or not 1 <= index <= storage.capacity:
            raise CmsError(321)
        else:
            storage.delete(index)
        return Reply()

    def cnma(engine, command: AtCommand) -> Reply:
        return Reply()

    def cmms(engine, command: AtCommand) -> Reply:
        """More messages to send (27.005 3.5.6): SMS daemons ask for it before a batch."""
        if command.form == TEST:
            return Reply(["+CMMS: (0-2)"])
        if command.form == READ:
            return Reply([f"+CMMS: {settings().cmms}"])
        (mode, *_) = command.int_values() or [0]
        if mode not in (0, 1, 2):
            raise CmsError(302)
        settings().cmms = mode or 0
        return Reply()

    handlers = {"+CMGF": cmgf, "+CSCS": cscs, "+CSCA": csca, "+CSMP": csmp, "+CSMS": csms,
                "+CPMS": cpms, "+CNMI": cnmi, "+CSDH": csdh, "+CMGS": cmgs, "+CMGR": cmgr,
                "+CMGL": cmgl, "+CMGD": cmgd, "+CNMA": cnma, "+CMMS": cmms}
    return {name: _reject_exec(handler) if name in NEED_PARAMETERS else handler
            for name, handler in handlers.items()}


NEED_PARAMETERS = {"+CMGF", "+CSCS", "+CNMI", "+CMGR", "+CMGD", "+CSMP"}


def _reject_exec(handler):
    """Commands that make no sense without parameters answer ERROR to a bare ``AT+X``."""
    def guarded(engine, command: AtCommand) -> Reply:
        if command.form == EXEC:
            raise AtSyntaxError(f"{command.name} needs parameters")
        return handler(engine, command)
    return guarded
