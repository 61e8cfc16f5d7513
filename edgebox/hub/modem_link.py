"""The hub's own GSM modem: receives the boxes' SMS reports and the officers' replies, and texts
the duty officers each alert.

The same modem stack as a box (SerialModem over pyserial and python-gsmmodem-new, or FakeModem
in process): every received SMS is handed to ``keep`` and kept (a report, an acknowledgement) or
logged before the modem deletes its copy. A service thread raises alerts every
``check_seconds`` and texts each new one to its township's duty officers.

An officer replies ``1`` (the newest alert texted to them) or ``1 <alert number>``.
"""
from __future__ import annotations

import logging
import re
import threading
from datetime import datetime
from typing import Callable

from edgebox.errors import ModemError
from edgebox.hub import alerts, duty
from edgebox.hub.sms_ingest import ingest_report, keep_refused
from edgebox.store.times import utc_now
from edgebox.uplink.sms_format import BadReport, looks_like_report

log = logging.getLogger("edgebox.hub")
ACK = re.compile(r"^\s*1(?:\s+#?([0-9]{1,9}))?\s*$")
OPEN_RETRY_SECONDS = 30
SEND_ATTEMPTS = 3  # per alert and run; a failed alert stays unsent and is tried next run


class HubModemLink:
    def __init__(self, db, modem, rules: alerts.AlertRules = alerts.AlertRules(),
                 language: str = "zh", check_seconds: float = 60,
                 clock: Callable[[], datetime] = utc_now,
                 open_retry_seconds: float = OPEN_RETRY_SECONDS):
        self.db = db
        self.modem = modem
        self.rules = rules
        self.language = language
        self.check_seconds = check_seconds
        self.clock = clock
        self.open_retry_seconds = open_retry_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the service thread; it opens the modem (the web pages do not wait for it)."""
        self.modem.keep_incoming(self.keep)
        self._thread = threading.Thread(target=self._run, name="hub-modem", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=120)
        self.modem.stop()

    def trigger(self) -> None:
        self._wake.set()

    # ---- received SMS ----------------------------------------------------------------------

    def keep(self, sms, sent_at, swept: bool) -> None:
        """One received SMS, kept before the modem deletes its copy (a database error raises,
        so the copy stays on the SIM and is read again)."""
        now = self.clock()
        if looks_like_report(sms.text):
            try:
                report = ingest_report(self.db, sms.number, sms.text, now)
            except BadReport as exc:
                log.warning("SMS report from %s refused: %s", sms.number, exc)
                keep_refused(self.db, sms.number, sms.text, str(exc), now)
                return
            if report.kind == "E":  # the township must hear at once, not at the next check
                self.trigger()
            return
        match = ACK.match(sms.text)
        if match and duty.is_officer(self.db, sms.number):
            wanted = int(match[1]) if match[1] else None
            acked = alerts.acknowledge(self.db, sms.number, wanted, now)
            reply = (alerts.text(self.language, "ack", alert=acked) if acked is not None
                     else alerts.text(self.language, "nothing"))
            self._send(sms.number, reply)
            return
        log.info("SMS from %s is neither a report nor an officer's reply: %r", sms.number,
                 sms.text[:160])

    # ---- alerts ----------------------------------------------------------------------------

    def _open_modem(self) -> bool:
        """Open the modem, retrying every ``open_retry_seconds`` until it answers or the hub
        stops (a hub whose modem is unplugged still serves uploads and pages)."""
        while not self._stop.is_set():
            try:
                self.modem.start()
                return True
            except ModemError as exc:
                log.error("the hub's modem on %s did not start: %s", self.modem.port, exc)
            self._stop.wait(self.open_retry_seconds)
        return False

    def _run(self) -> None:
        if not self._open_modem():
            return
        while not self._stop.is_set():
            if not self.modem.alive:  # unplugged: open it again before the next run
                self.modem.stop()
                if not self._open_modem():
                    return
            try:
                self.run_once()
            except Exception:  # the link must outlive any surprise; the next run retries
                log.exception("hub alert run failed")
            self._wake.wait(self.check_seconds)
            self._wake.clear()

    def run_once(self) -> int:
        """Raise what is due and text every unsent alert; how many were texted."""
        alerts.raise_due(self.db, self.clock(), self.rules)
        sent = 0
        for alert in alerts.unsent(self.db):
            numbers = duty.officers_of(self.db, alert["township"])
            if not numbers:
                log.warning("alert %d: no duty officer for %s", alert["alert_id"],
                            alert["township"])
                continue
            message = alerts.alert_text(self.language, alert)
            reached = [n for n in numbers if self._send(n, message)]
            if reached:
                alerts.mark_sent(self.db, alert["alert_id"], reached, self.clock())
                sent += 1
        return sent

    def _send(self, number: str, message: str) -> bool:
        for attempt in range(1, SEND_ATTEMPTS + 1):
            if self._stop.is_set():
                return False
            try:
                self.modem.send_sms(number, message)
                return True
            except ModemError as exc:
                log.warning("SMS to %s failed (attempt %d): %s", number, attempt, exc)
        return False


def open_hub_modem(port: str, sms_timeout: float = 60):
    """The hub's modem on ``port``: a serial device (SerialModem, as on a box), or
    ``fake://<network>`` for a FakeNetwork made in the same process."""
    from edgebox.adapters.modem.fake import FakeModem
    from edgebox.adapters.modem.fake_port import SCHEME, is_fake_port
    from edgebox.adapters.modem.fake_network import FakeNetwork
    if is_fake_port(port):
        network = FakeNetwork.named(port[len(SCHEME):])
        if network is None:
            raise ModemError(f"fake network {port} does not exist in this process")
        return FakeModem(network, "hub", port=port, sms_timeout=sms_timeout)
    from edgebox.adapters.modem import SerialModem
    return SerialModem(port, sms_timeout=sms_timeout, name="hub")


def modem_link_factory(port: str, rules: alerts.AlertRules):
    """What ``create_app`` calls with its database to make the hub's modem link."""
    return lambda db: HubModemLink(db, open_hub_modem(port), rules)
