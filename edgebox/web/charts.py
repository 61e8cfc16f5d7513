"""Pictures drawn on the server as SVG: an incident's timeline and the modems' signal.

Plain SVG strings (no JavaScript, no chart library): they print, they work in any browser on
the office PC, and the tests can read them.
"""
from __future__ import annotations

from datetime import datetime
from html import escape

from edgebox.adapters.modem.readings import REGISTERED
from edgebox.domain.timeline import RING_RESULT, STATUS, coded
from edgebox.store.times import parse_utc

# What the timeline marks, and how: (event kind, symbol, colour, legend key).
MARKS = {
    "incident_opened": ("●", "#b00020", "called"),
    "sms_sent": ("✉", "#1565c0", "texted"),
    "call_placed": ("☎", "#ef6c00", "rung"),
    "delivery_failed": ("✗", "#b00020", "failed"),
    "delivery_report": ("·", "#2e7d32", "delivered"),
    "ack_received": ("✔", "#2e7d32", "acknowledged"),
}
ROW, LEFT, WIDTH, TOP = 26, 150, 760, 30


def _nice_step(span: float) -> float:
    for step in (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200):
        if span / step <= 8:
            return step
    return 3600 * 6


def _elapsed_label(seconds: float) -> str:
    return f"+{int(seconds)}s" if seconds < 120 else f"+{int(seconds // 60)}min"


def incident_timeline(opened_at: str, events: list[dict], name_of, labels: dict,
                      lang: str = "zh") -> str:
    """One row per household involved (the caller first); a mark per text, ring, report and
    acknowledgement at its time since the alarm. ``name_of(household_id)`` gives the row's
    label, ``labels`` the legend's words."""
    start = parse_utc(opened_at)
    marks = []
    rows: list[str] = []
    for event in events:
        style = MARKS.get(event["kind"])
        household = event["data"].get("household")
        if style is None or not household:
            continue
        if household not in rows:
            rows.append(household)
        seconds = max(0.0, (parse_utc(event["at"]) - start).total_seconds())
        marks.append((rows.index(household), seconds, style, event))
    span = max([60.0] + [m[1] * 1.05 for m in marks])
    step = _nice_step(span)
    height = TOP + ROW * max(len(rows), 1) + 40
    plot = WIDTH - LEFT - 20
    x = lambda s: LEFT + plot * s / span  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {WIDTH} '
           f'{height}" width="100%" role="img" aria-label="{escape(labels["title"])}">']
    tick = 0.0
    while tick <= span:
        out.append(f'<line x1="{x(tick):.1f}" y1="{TOP - 8}" x2="{x(tick):.1f}" '
                   f'y2="{height - 34}" stroke="#ddd"/><text x="{x(tick):.1f}" y="{TOP - 12}" '
                   f'text-anchor="middle" fill="#666">{_elapsed_label(tick)}</text>')
        tick += step
    for index, household in enumerate(rows):
        y = TOP + ROW * index + ROW / 2
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">'
                   f'{escape(name_of(household))}</text><line x1="{LEFT}" y1="{y:.1f}" '
                   f'x2="{WIDTH - 20}" y2="{y:.1f}" stroke="#eee"/>')
    for index, seconds, (symbol, colour, key), event in marks:
        y = TOP + ROW * index + ROW / 2
        at = parse_utc(event["at"]).astimezone().strftime("%H:%M:%S")
        detail = (coded(lang, "ring.", RING_RESULT, event["data"].get("result"))
                  or coded(lang, "report.", STATUS, event["data"].get("status")))
        out.append(f'<text class="m" data-kind="{event["kind"]}" x="{x(seconds):.1f}" '
                   f'y="{y + 5:.1f}" text-anchor="middle" fill="{colour}">{symbol}<title>'
                   f'{at} {escape(labels[key])} {escape(str(detail))}</title></text>')
    legend_y = height - 12
    position = LEFT
    for symbol, colour, key in MARKS.values():
        out.append(f'<text x="{position}" y="{legend_y}" fill="{colour}">{symbol} '
                   f'{escape(labels[key])}</text>')
        position += 100
    out.append("</svg>")
    return "".join(out)


def signal_chart(rows: list[dict], start: datetime, end: datetime, labels: dict) -> str:
    """Signal (CSQ 0–31) of each modem from ``start`` to ``end``; a red band under every
    reading taken while the modem was not registered."""
    width, height, left, top, bottom = 760, 220, 40, 15, 30
    plot_w, plot_h = width - left - 15, height - top - bottom
    span = max((end - start).total_seconds(), 1.0)
    x = lambda at: left + plot_w * (parse_utc(at) - start).total_seconds() / span  # noqa: E731
    y = lambda csq: top + plot_h * (1 - csq / 31)  # noqa: E731
    colours = ["#1565c0", "#ef6c00", "#6a1b9a", "#00838f"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="signal" viewBox="0 0 {width} '
           f'{height}" width="100%" role="img" aria-label="{escape(labels["title"])}">']
    for csq in (0, 10, 20, 31):
        out.append(f'<line x1="{left}" y1="{y(csq):.1f}" x2="{width - 15}" y2="{y(csq):.1f}" '
                   f'stroke="#eee"/><text x="{left - 5}" y="{y(csq) + 4:.1f}" '
                   f'text-anchor="end" fill="#666">{csq}</text>')
    days = int(span // 86400)
    for day in range(days + 1):
        px = left + plot_w * (day * 86400) / span
        label = (start.astimezone().date().toordinal() + day)
        out.append(f'<text x="{px:.1f}" y="{height - 10}" fill="#666">'
                   f'{datetime.fromordinal(label).strftime("%m-%d")}</text>')
    modems = sorted({r["modem"] for r in rows})
    for number, modem in enumerate(modems):
        colour = colours[number % len(colours)]
        mine = [r for r in rows if r["modem"] == modem]
        for reading in mine:
            if reading["registration"] not in REGISTERED:
                out.append(f'<rect class="unregistered" x="{x(reading["at"]) - 2:.1f}" '
                           f'y="{top + plot_h - 6}" width="4" height="6" fill="#b00020">'
                           f'<title>{escape(modem)} {escape(str(reading["registration"]))}'
                           '</title></rect>')
        points = " ".join(f'{x(r["at"]):.1f},{y(r["signal"]):.1f}' for r in mine
                          if r["signal"] is not None)
        if points:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                       f'points="{points}"/>')
        out.append(f'<text x="{left + 10 + 90 * number}" y="{top + 10}" fill="{colour}">'
                   f'{escape(modem)}</text>')
    if not rows:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#666">'
                   f'{escape(labels["empty"])}</text>')
    out.append("</svg>")
    return "".join(out)
