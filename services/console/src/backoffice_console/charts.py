"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, nothing the CSP has to allow.

Only SVG presentation attributes are used (no ``style`` attributes: the console's CSP forbids inline
styles). Every chart carries ``role="img"`` and a label; the page shows the same figures in a table
next to it, so the picture is never the only way to read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from markupsafe import Markup, escape

INK = "#1d2430"
MUTED = "#5b6575"
GRID = "#d9dee6"
PALETTE = ("#1f5fbf", "#c0392b", "#1c7a43", "#9a5b00", "#6c3fa0", "#00798c", "#8a6d3b", "#5b6575")
SPENT, COMMITTED, RESERVED, FREE, OVER = "#1f5fbf", "#5f8fd6", "#f0c060", "#e4e8ef", "#b3261e"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str
    """The value as the table shows it (formatted for the user's language)."""


def _num(value: object) -> float:
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0


def _svg(width: int, height: int, label: str, body: str, cls: str) -> Markup:
    return Markup(  # noqa: S704 - every text in it went through escape(); the rest are numbers
        f'<svg class="chart {cls}" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def bars(items: Sequence[Bar], label: str, *, width: int = 640, colour: str = PALETTE[0]) -> Markup:
    """Horizontal bars, largest scale = the largest value; the formatted value stands at each bar's end."""
    if not items:
        return Markup("")
    row, left, right = 26, 170, 110
    height = row * len(items) + 8
    top = max((i.value for i in items), default=0.0) or 1.0
    span = width - left - right
    parts = [f'<line x1="{left}" y1="0" x2="{left}" y2="{height}" stroke="{GRID}"/>']
    for n, item in enumerate(items):
        y = 4 + n * row
        w = max(0.0, item.value) / top * span
        parts.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="{INK}">'
            f"{escape(_clip(item.label, 24))}</text>"
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="16" rx="2" fill="{colour}" '
            f'data-value="{item.value}"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="12" fill="{MUTED}">{escape(item.shown)}</text>'
        )
    return _svg(width, height, label, "".join(parts), "bars")


def line(points: Sequence[Bar], label: str, *, width: int = 640, height: int = 200) -> Markup:
    """A trend: one point per period (oldest first), the value axis from zero to the largest value."""
    if not points:
        return Markup("")
    left, right, top_pad, bottom = 16, 16, 22, 28
    top = max((p.value for p in points), default=0.0) or 1.0
    inner_w, inner_h = width - left - right, height - top_pad - bottom
    step = inner_w / max(1, len(points) - 1)
    xy = [
        (left + (i * step if len(points) > 1 else inner_w / 2), top_pad + inner_h - max(0.0, p.value) / top * inner_h)
        for i, p in enumerate(points)
    ]
    parts = [
        f'<line x1="{left}" y1="{top_pad + inner_h}" x2="{width - right}" y2="{top_pad + inner_h}" stroke="{GRID}"/>'
    ]
    if len(xy) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>')
    for (x, y), p in zip(xy, points, strict=True):
        anchor = "start" if x < left + 40 else "end" if x > width - right - 40 else "middle"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[0]}" data-value="{p.value}"/>'
            f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="{anchor}" font-size="11" fill="{INK}">'
            f"{escape(p.shown)}</text>"
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="11" fill="{MUTED}">'
            f"{escape(_clip(p.label, 12))}</text>"
        )
    return _svg(width, height, label, "".join(parts), "line")


def utilisation(balances: dict[str, object], label: str, *, width: int = 220) -> Markup:
    """One budget as a bar: spent, committed and reserved from the left, the rest free; red past 100 %."""
    budget = _num(balances.get("budget"))
    spent, committed, reserved = (_num(balances.get(k)) for k in ("spent", "committed", "reserved"))
    used = spent + committed + reserved
    scale = max(budget, used) or 1.0
    height, x = 14, 0.0
    parts = [f'<rect x="0" y="0" width="{width}" height="{height}" rx="3" fill="{FREE}"/>']
    for amount, colour, kind in (
        (spent, SPENT, "spent"),
        (committed, COMMITTED, "committed"),
        (reserved, RESERVED, "reserved"),
    ):
        w = max(0.0, amount) / scale * width
        if w > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colour}" data-kind="{kind}"/>'
            )
            x += w
    if used > budget > 0:
        mark = budget / scale * width
        parts.append(
            f'<line x1="{mark:.1f}" y1="-2" x2="{mark:.1f}" y2="{height + 2}" stroke="{OVER}" stroke-width="2"/>'
        )
    return _svg(width, height, label, "".join(parts), "utilisation" + (" over" if used > budget else ""))


def duration(seconds: object, locale: str = "en") -> str:
    """Seconds as a person reads them: 45 s, 12 min, 3.5 h, 2.1 d (German decimal comma)."""
    value = _num(seconds)
    if value < 90:
        text = f"{value:.0f} s"
    elif value < 90 * 60:
        text = f"{value / 60:.0f} min"
    elif value < 36 * 3600:
        text = f"{value / 3600:.1f} h"
    else:
        text = f"{value / 86400:.1f} d"
    return text.replace(".", ",") if locale == "de" else text
