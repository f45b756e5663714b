"""Small pictures drawn on the server as SVG.

The outcome strip and the duration sparkline are inline SVG in the pages;
their colours come from CSS classes (``tone-ok`` …) so they follow the page's
palette. The badge is a standalone SVG document for READMEs, so it carries its
own colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape as quote
from statistics import median

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString

from dashboard.display import format_duration, look


@dataclass(frozen=True)
class Point:
    """One run as the pictures need it."""

    label: str  # e.g. "#42 main: Failed"
    href: str
    status: str
    seconds: float | None  # None while it runs or if it never started


CELL = 10  # width of one run in the strip, gap included
STRIP_HEIGHT = 16
SPARK_WIDTH = 120
SPARK_HEIGHT = 24


def outcome_strip(points: Sequence[Point]) -> SafeString:
    """Oldest to newest, one coloured and linked bar per run.

    Thirty runs of thirty repositories make 1,800 escapes a page: the
    standard library's ``html.escape``, which Django's wraps, is used
    directly (the same text, without the wrapping's cost).
    """
    if not points:
        return SafeString("")
    counts: dict[str, int] = {}
    bars = []
    for i, point in enumerate(points):
        status = look(point.status)
        counts[status.word.lower()] = counts.get(status.word.lower(), 0) + 1
        # Failures stand taller, so the strip reads without colour.
        tall = status.tone in ("bad", "err")
        bars.append(
            f'<a href="{quote(point.href)}"><rect class="tone-{status.tone}" '
            f'x="{i * CELL}" y="{0 if tall else 4}" width="{CELL - 2}" '
            f'height="{STRIP_HEIGHT if tall else 12}" rx="1.5">'
            f"<title>{quote(point.label)}</title></rect></a>"
        )
    summary = ", ".join(f"{n} {word}" for word, n in counts.items())
    return format_html(
        '<svg class="strip" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-label="{label}">{bars}</svg>',
        w=len(points) * CELL,
        h=STRIP_HEIGHT,
        label=f"Last {len(points)} runs: {summary}",
        bars=SafeString("".join(bars)),
    )


def duration_sparkline(points: Sequence[Point]) -> SafeString:
    """A line of the durations of the finished runs, oldest to newest."""
    finished = [p for p in points if p.seconds is not None]
    if len(finished) < 2:
        return SafeString("")
    values = [p.seconds or 0.0 for p in finished]
    top = max(values) or 1.0
    step = (SPARK_WIDTH - 4) / (len(values) - 1)

    def y(value: float) -> float:
        return round(SPARK_HEIGHT - 2 - value / top * (SPARK_HEIGHT - 4), 1)

    line = " ".join(f"{round(2 + i * step, 1)},{y(v)}" for i, v in enumerate(values))
    last_x = round(2 + (len(values) - 1) * step, 1)
    label = (
        f"Durations of the last {len(values)} finished runs: median "
        f"{format_duration(median(values))}, longest {format_duration(top)}, "
        f"latest {format_duration(values[-1])}"
    )
    return format_html(
        '<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'role="img" aria-label="{label}"><title>{label}</title>'
        '<polyline points="{line}"/><circle cx="{x}" cy="{y}" r="2"/></svg>',
        w=SPARK_WIDTH,
        h=SPARK_HEIGHT,
        label=label,
        line=line,
        x=last_x,
        y=y(values[-1]),
    )


# Colours of the badge, close to the page's tones but readable on white text.
BADGE_COLOURS = {
    "ok": "#1a7f37",
    "bad": "#cf222e",
    "err": "#bc4c00",
    "run": "#9a6700",
    "wait": "#6e7781",
    "off": "#6e7781",
}


def _text_width(text: str) -> int:
    """Roughly how wide ``text`` is in 11 px Verdana, in pixels."""
    narrow = set("fijlrtI1!.,:;'|() ")
    wide = set("mwMW@%")
    width = 0.0
    for char in text:
        if char in narrow:
            width += 4.2
        elif char in wide:
            width += 10.0
        elif char.isupper():
            width += 7.6
        else:
            width += 6.8
    return round(width)


def badge(label: str, message: str, tone: str) -> str:
    """A flat two-part status badge as a whole SVG document."""
    left = _text_width(label) + 12
    right = _text_width(message) + 12
    width = left + right
    colour = BADGE_COLOURS.get(tone, BADGE_COLOURS["wait"])
    title = escape(f"{label}: {message}")
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="20" role="img" aria-label="{title}">'
        f"<title>{title}</title>"
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3"/></clipPath>'
        '<g clip-path="url(#r)">'
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        "</g>"
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2}" y="14">{escape(message)}</text>'
        "</g></svg>"
    )
