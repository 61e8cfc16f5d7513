"""What is known about each modem, from the store: its last health reading, its balance, the
state its worker last reported (ready, unavailable, out of service, lost) and how it speaks
into ring calls (``speech``: a sound file mechanism, "tts" or "none"; see speech_out)."""
from __future__ import annotations

STATE_EVENTS = {"modem_ready": "ready", "modem_unavailable": "unavailable",
                "modem_lost": "lost", "modem_out_of_service": "out of service",
                "modem_back_in_service": "recovering", "modem_reset": "resetting",
                "modem_restarted": "ready"}


def modem_status(store, names: list[str]) -> dict[str, dict]:
    status = {name: {"state": "never seen"} for name in names}
    for reading in store.health.latest():
        entry = status.setdefault(reading.modem, {"state": "never seen"})
        entry.update({k: getattr(reading, k) for k in ("signal", "registration", "technology",
                                                       "sim", "operator", "network_time",
                                                       "error")})
        entry["checked_at"] = reading.at
    for event in store.events_of_kinds([*STATE_EVENTS, "modem_balance", "modem_speech"]):
        entry = status.setdefault(event.data.get("modem", ""), {"state": "never seen"})
        if event.data.get("speech"):  # modem_ready says it, modem_speech when it changed
            entry["speech"] = event.data["speech"]
        if event.kind == "modem_speech":
            continue
        if event.kind == "modem_balance":
            entry["balance"] = event.data.get("balance")
        else:
            entry["state"] = STATE_EVENTS[event.kind]
    return status
