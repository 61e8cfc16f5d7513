"""SMS delivery (status) reports from the simulated network.

When the box submits a part whose SMS-SUBMIT asks for a report (TP-SRR; in text mode the first
``AT+CSMP`` value), the network answers ``latency.delivery_report`` seconds after ``+CMGS`` with
an SMS-STATUS-REPORT carrying that part's ``+CMGS`` reference. How the modem passes it on follows
``AT+CNMI``'s ``<ds>`` when the report arrives:

- ``ds=1``: ``+CDS: <length>`` then the PDU (PDU mode), or
  ``+CDS: <fo>,<mr>,"<ra>",<tora>,"<scts>","<dt>",<st>`` (text mode);
- ``ds=2``: kept in the "SR" storage and announced as ``+CDSI: "SR",<index>``;
- ``ds=0``: dropped.

Each recipient's outcome is set from the control side: delivered (TP-ST 0), failed (TP-ST 68,
a permanent error) or none (the network never reports).

A fault (``network.report_slot``) makes the modem announce stored reports wrongly, whatever
``<ds>`` asks, as some firmwares do: "empty" announces ``+CDSI: "SM",<n>`` for a slot with
nothing in it (the report is kept in "SR" unannounced); "other_memory" keeps it in "SR" but
names "SM" in the announcement. Reading that slot gives an empty answer (just OK).
"""
from __future__ import annotations

from edgebox.emulator.calls import canonical_number
from edgebox.emulator.sms_codec import (DELIVERED, FAILED, STATUS_REPORT_FIRST_OCTET,
                                        encode_status_report_pdu, text_mode_timestamp)

OUTCOMES = ("delivered", "failed", "none")
STATUS_OCTET = {"delivered": DELIVERED, "failed": FAILED}


class DeliveryReports:
    def __init__(self, engine, sms_service):
        self.engine = engine
        self.sms = sms_service
        self._outcomes: dict[str, str] = {}

    def set_delivery(self, number: str, status: str = "delivered") -> None:
        if status not in OUTCOMES:
            raise ValueError(f"delivery status must be one of {OUTCOMES}")
        self._outcomes[canonical_number(number, self.engine.profile.country_code)] = status

    def part_sent(self, number: str, reference: int, requested: bool) -> None:
        """A part went out with ``+CMGS: <reference>``; schedule its report if one was asked for."""
        if not requested:
            return
        outcome = self._outcomes.get(canonical_number(number, self.engine.profile.country_code),
                                     "delivered")
        if outcome == "none":
            return
        submitted = self.engine.wallclock().replace(microsecond=0)
        self.engine.timers.schedule(self.engine.latency.report_seconds(),
                                    lambda: self._arrives(number, reference, submitted, outcome))

    def _arrives(self, number: str, reference: int, submitted, outcome: str) -> None:
        engine = self.engine
        discharged = engine.wallclock().replace(microsecond=0)
        status = STATUS_OCTET[outcome]
        pdu = encode_status_report_pdu(self.sms.smsc, reference, number, submitted, discharged, status)
        ds = engine.settings.cnmi[3]
        routed = "dropped"
        if engine.network.report_slot and ds != 0:
            routed = self._misannounce(number, discharged, pdu, engine.network.report_slot)
        elif ds == 1:
            routed = "cds"
            if engine.settings.cmgf == 0:
                engine.emit_urc(f"+CDS: {pdu.tpdu_length}", pdu.hex)
            else:
                engine.emit_urc(f'+CDS: {STATUS_REPORT_FIRST_OCTET},{reference},"{engine.encode_text(number)}",'
                                f'{145 if number.startswith("+") else 129},'
                                f'"{text_mode_timestamp(submitted)}","{text_mode_timestamp(discharged)}",'
                                f'{status}')
        elif ds == 2:
            stored = self.sms.storages["SR"].store(number, discharged, pdu)
            if stored is not None:
                routed = "cdsi"
                engine.emit_urc(f'+CDSI: "SR",{stored.index}')
        engine.log.record("delivery_report", number=number, reference=reference, status=outcome,
                          routed=routed)

    def _misannounce(self, number: str, discharged, pdu, how: str) -> str:
        stored = self.sms.storages["SR"].store(number, discharged, pdu)
        if stored is None:
            return "dropped"
        if how == "other_memory":
            index = stored.index
        else:
            sim = self.sms.storages["SM"]
            index = next(i for i in range(sim.capacity, 0, -1) if sim.get(i) is None)
        self.engine.emit_urc(f'+CDSI: "SM",{index}')
        return f"cdsi_{how}"
