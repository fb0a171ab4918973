"""Charts as inline SVG, drawn on the server: no script, no external file, printable, readable by screen readers.

Widths are computed in Decimal from the money they stand for; colours come from the page's stylesheet (the
``s-*`` classes), so the same chart prints and meets the contrast of its legend. A chart that only repeats
figures written beside it is hidden from assistive technology; one that stands alone carries a text label.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

from app.grants.rules import Figures
from app.portal.format import Formatter

WIDTH = Decimal(1000)
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Segment:
    value: Decimal
    kind: str
    """``spent``, ``refunded``, ``held``, ``undisbursed`` (a CSS class ``s-<kind>``)."""


def position_segments(figures: Figures) -> list[Segment]:
    """Where the agreed amount stands: reported spent, refunded, still held, not yet disbursed (they add up to
    the amount: spent + refunded + held = disbursed)."""
    return [
        Segment(figures.spent_reported, "spent"),
        Segment(figures.refunded, "refunded"),
        Segment(figures.held, "held"),
        Segment(figures.undisbursed, "undisbursed"),
    ]


def _scaled(value: Decimal, whole: Decimal, span: Decimal = WIDTH) -> Decimal:
    if whole <= 0 or value <= 0:
        return Decimal(0)
    return (value / whole * span).quantize(TENTH, rounding=ROUND_HALF_UP)


def _svg_open(view_width: Decimal, height: int, label: str | None, css: str) -> str:
    common = f'class="{css}" viewBox="0 0 {view_width} {height}" preserveAspectRatio="none" height="{height}"'
    if label is None:
        return f'<svg {common} aria-hidden="true" focusable="false">'
    text = escape(label)
    return f'<svg {common} role="img" aria-label="{text}"><title>{text}</title>'


def stacked_bar(segments: Sequence[Segment], label: str | None = None, *, height: int = 28, css: str = "bar") -> Markup:
    """One horizontal bar split into ``segments``, each as wide as its share of their sum."""
    whole = sum((segment.value for segment in segments), Decimal(0))
    parts = [_svg_open(WIDTH, height, label, css)]
    parts.append(f'<rect class="s-track" x="0" y="0" width="{WIDTH}" height="{height}"/>')
    x = Decimal(0)
    for segment in segments:
        width = _scaled(segment.value, whole)
        if width > 0:
            parts.append(f'<rect class="s-{segment.kind}" x="{x}" y="0" width="{width}" height="{height}"/>')
            x += width
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escape()d text only


def position_bar(figures: Figures, label: str | None = None, *, height: int = 28, css: str = "bar") -> Markup:
    return stacked_bar(position_segments(figures), label, height=height, css=css)


def meter(value: Decimal, largest: Decimal, kind: str = "spent", *, height: int = 12) -> Markup:
    """A bar as long as ``value`` against the ``largest`` of its column (the figure is written beside it)."""
    parts = [_svg_open(WIDTH, height, None, "meter")]
    width = _scaled(value, largest)
    if width > 0:
        parts.append(f'<rect class="s-{kind}" x="0" y="0" width="{width}" height="{height}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escape()d text only


# --- the payment timeline of one grant -----------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A point of a cumulative line: on ``day`` the total reached ``total``."""

    day: date
    total: Decimal


@dataclass(frozen=True)
class Mark:
    day: date
    text: str


TIMELINE_W, TIMELINE_H = 640, 300
LABEL_ROW = 27
"""Each mark's label has a row of its own under the axis (at most four marks: signing, two dues, voting day), so
labels never overlap, at the larger type phones get too (portal.css)."""
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 12, 12, 30, 4 * LABEL_ROW + 12


def _x(day: date, first: date, last: date) -> Decimal:
    span = Decimal(max((last - first).days, 1))
    inner = Decimal(TIMELINE_W - PAD_LEFT - PAD_RIGHT)
    return (Decimal(PAD_LEFT) + Decimal((day - first).days) / span * inner).quantize(TENTH)


def _y(total: Decimal, top: Decimal) -> Decimal:
    inner = Decimal(TIMELINE_H - PAD_TOP - PAD_BOTTOM)
    return (Decimal(TIMELINE_H - PAD_BOTTOM) - _scaled(total, top, inner)).quantize(TENTH)


def _path(steps: Sequence[Step], first: date, last: date, top: Decimal) -> str:
    """A staircase: flat until the day a total changes, then straight up."""
    points = [f"M{_x(first, first, last)},{_y(Decimal(0), top)}"]
    for step in steps:
        x = _x(step.day, first, last)
        points.append(f"H{x}")
        points.append(f"V{_y(step.total, top)}")
    points.append(f"H{_x(last, first, last)}")
    return " ".join(points)


def timeline(  # noqa: PLR0917 - the chart's data, then its words: one call in one template
    paid: Sequence[Step],
    required: Sequence[Step],
    marks: Sequence[Mark],
    amount: Decimal,
    label: str,
    fmt: Formatter,
) -> Markup:
    """Money paid over time (a solid staircase) against what the regulation required by each due date (dashed),
    with the dates that matter marked; ``label`` says in words what the chart shows."""
    days = [step.day for step in (*paid, *required)] + [mark.day for mark in marks]
    if not days or amount <= 0:
        return Markup("")
    first, last = min(days), max(days)
    top = max([amount, *(step.total for step in paid)])
    text = escape(label)
    parts = [
        f'<svg class="timeline" viewBox="0 0 {TIMELINE_W} {TIMELINE_H}" role="img" aria-label="{text}">',
        f"<title>{text}</title>",
        f'<line class="axis" x1="{PAD_LEFT}" x2="{TIMELINE_W - PAD_RIGHT}" y1="{_y(Decimal(0), top)}"'
        f' y2="{_y(Decimal(0), top)}"/>',
    ]
    for mark in marks:
        x = _x(mark.day, first, last)
        parts.append(f'<line class="mark" x1="{x}" x2="{x}" y1="{PAD_TOP}" y2="{TIMELINE_H - PAD_BOTTOM}"/>')
    if required:
        parts.append(f'<path class="required" d="{_path(required, first, last, top)}"/>')
    parts.append(f'<path class="paid" d="{_path(paid, first, last, top)}"/>')
    for step in paid:
        parts.append(f'<circle class="dot" cx="{_x(step.day, first, last)}" cy="{_y(step.total, top)}" r="4"/>')
    parts.append(f'<text x="{PAD_LEFT}" y="{_y(top, top) - 8}">{escape(fmt.rupiah_short(top))}</text>')
    baseline = TIMELINE_H - PAD_BOTTOM
    for index, mark in enumerate(marks):
        x = _x(mark.day, first, last)
        anchor = "start" if x < TIMELINE_W / 3 else ("end" if x > TIMELINE_W * 2 / 3 else "middle")
        y = baseline + (index % 4 + 1) * LABEL_ROW
        parts.append(f'<text x="{x}" y="{y}" text-anchor="{anchor}">{escape(mark.text)} {fmt.month(mark.day)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escape()d text only
