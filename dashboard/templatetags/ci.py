"""Template tags and filters of the dashboard: statuses, times, pictures."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ciapp.models import Job, Runner
from dashboard import display

register = template.Library()


@register.simple_tag
def status(value: str, kind: str = "job") -> SafeString:
    """A status as a coloured word with a shape, e.g. ``✕ Failed``.

    The enum value is the title, as the search language spells it.
    """
    look = display.look(value, kind)
    return format_html(
        '<span class="status tone-{}" title="{}"><span class="icon" '
        'aria-hidden="true">{}</span> {}</span>',
        look.tone,
        value,
        look.icon,
        look.word,
    )


@register.simple_tag
def when(value: datetime | None) -> SafeString:
    """A relative time, with the exact time in its title."""
    if value is None:
        return SafeString("–")
    return format_html(
        '<time datetime="{}" title="{}" data-ago>{}</time>',
        value.isoformat(),
        display.exact_time(value),
        display.ago(value),
    )


@register.simple_tag
def exact(value: datetime | None) -> SafeString:
    """An exact time, in UTC."""
    if value is None:
        return SafeString("–")
    return format_html(
        '<time datetime="{}">{}</time>', value.isoformat(), display.exact_time(value)
    )


@register.simple_tag
def took(start: datetime | None, end: datetime | None) -> SafeString:
    """How long something took; a live counter while it is still going."""
    if start is None:
        return SafeString("–")
    if end is None:
        # static/js/live.js counts on from here.
        return format_html(
            '<span class="ticking" data-since="{}">{}</span>',
            start.isoformat(),
            display.format_duration(timezone.now() - start),
        )
    return format_html("{}", display.format_duration(end - start))


@register.filter
def short_sha(value: str) -> str:
    return value[:7]


@register.filter
def ticks(value: str) -> SafeString:
    """Text with its `backquoted` parts set as code, the rest escaped."""
    parts = value.split("`")
    if len(parts) % 2 == 0:  # an unpaired backquote: show the text as it is
        return format_html("{}", value)
    html = SafeString("")
    for i, part in enumerate(parts):
        html += (
            format_html("<code>{}</code>", part) if i % 2 else format_html("{}", part)
        )
    return html


@register.simple_tag
def mark_term(text: str, term: str) -> SafeString:
    """The search with the offending term marked, if it can be found."""
    at = text.find(term) if term else -1
    if at < 0:
        return format_html("{}", text)
    return format_html("{}<mark>{}</mark>{}", text[:at], term, text[at + len(term) :])


@register.simple_tag
def run_took(item: Job | Runner) -> SafeString:
    """How long a job or a runner ran, counted from its creation when it
    finished without ever starting (a job that could not start)."""
    start = item.started_at
    if start is None and item.finished_at is not None:
        start = item.created_at
    return took(start, item.finished_at)
