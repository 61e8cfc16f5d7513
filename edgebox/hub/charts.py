"""Small bar charts drawn as inline SVG on the server: no JavaScript, no CDN, no internet.

Every label goes through XML escaping; the numbers are the only other thing written.
"""
from __future__ import annotations

from xml.sax.saxutils import escape


def _nice_ceiling(value: float) -> float:
    """1, 2, 5, 10, 20, 50 … at or above ``value`` (at least 1), for a readable axis."""
    step = 1.0
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(title: str, labels: list[str], values: list[float], width: int = 560,
              height: int = 180, colour: str = "#c0392b", unit: str = "") -> str:
    """A vertical bar chart with a y axis from 0, one bar per label, value over each bar."""
    left, right, top, bottom = 36, 8, 24, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_ceiling(max(values, default=0))
    slot = plot_w / max(1, len(values))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="15" class="chart-title">{escape(title)}</text>']
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" '
                     f'class="axis">{peak * fraction:g}</text>')
    for index, (label, value) in enumerate(zip(labels, values)):
        bar_h = plot_h * (value / peak) if peak else 0
        x = left + index * slot + slot * 0.15
        y = top + plot_h - bar_h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                     f'height="{bar_h:.1f}" fill="{colour}"><title>{escape(label)}: '
                     f'{value:g}{escape(unit)}</title></rect>')
        if value:
            parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle"'
                         f' class="value">{value:g}</text>')
        parts.append(f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 14}" '
                     f'text-anchor="middle" class="axis">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def month_labels(months: list[str]) -> list[str]:
    """'2026-05' → '5月' style short labels, with the year on January and the first bar."""
    out = []
    for index, month in enumerate(months):
        year, number = month.split("-")
        out.append(f"{year[2:]}/{int(number)}" if index == 0 or number == "01"
                   else str(int(number)))
    return out
