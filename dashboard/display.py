"""How statuses, times and durations read on the dashboard.

Every status is shown as a word and a shape as well as a colour, so that it
reads without colour vision and in a screen reader. The *tone* names the CSS
class that colours it; the same tones colour the SVG pictures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from ciapp.statuses import CalculatedStatus, RunnerStatus, StepStatus


@dataclass(frozen=True)
class Look:
    word: str
    tone: str  # ok, bad, err, run, wait or off
    icon: str  # a text glyph, hidden from screen readers: the word says it


OK = "✓"
BAD = "✕"
ERR = "!"
RUN = "●"
WAIT = "○"
OFF = "⊘"

NOT_RUN = "NOT_RUN"

LOOKS: dict[str, Look] = {
    # Calculated statuses of jobs.
    CalculatedStatus.NEW: Look("New", "wait", WAIT),
    CalculatedStatus.STARTING_RUNNERS: Look("Starting", "run", RUN),
    CalculatedStatus.RUNNING: Look("Running", "run", RUN),
    CalculatedStatus.SUCCEEDED: Look("Succeeded", "ok", OK),
    CalculatedStatus.FAILURE: Look("Failed", "bad", BAD),
    CalculatedStatus.RUNNER_CANCELLED: Look("Cancelled", "off", OFF),
    CalculatedStatus.RUNNER_ERROR: Look("Runner error", "err", ERR),
    CalculatedStatus.JOB_ERROR: Look("Job error", "err", ERR),
    CalculatedStatus.BAD_LAYERFILE: Look("Bad Layerfile", "err", ERR),
    # Runner statuses that are not calculated statuses too.
    RunnerStatus.WAITING_PARENTS: Look("Waiting", "wait", WAIT),
    RunnerStatus.SUCCESS: Look("Succeeded", "ok", OK),
    RunnerStatus.ERROR: Look("Error", "err", ERR),
    RunnerStatus.CANCELLED: Look("Cancelled", "off", OFF),
    # Step statuses that are neither.
    StepStatus.SKIPPED: Look("Skipped", "off", "–"),
    # A step still NEW when its runner has finished never ran.
    NOT_RUN: Look("Not run", "off", "–"),
}

UNKNOWN = Look("Unknown", "wait", "?")

# A runner or a step that is NEW is queued, not "new" as a run is.
QUEUED = Look("Queued", "wait", WAIT)


def look(status: str, kind: str = "job") -> Look:
    """How a status of a job, a runner or a step is shown."""
    if status == "NEW" and kind != "job":
        return QUEUED
    return LOOKS.get(status, UNKNOWN)


def exact_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def ago(value: datetime, now: datetime | None = None) -> str:
    """A time as a short distance into the past ("4 min ago").

    static/js/live.js words it the same way when it refreshes these texts.
    """
    now = now or timezone.now()
    seconds = (now - value).total_seconds()
    if seconds < 45:
        return "just now"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = round(seconds / 3600)
    if hours < 24:
        return f"{hours} h ago"
    days = round(seconds / 86400)
    if days < 30:
        return "1 day ago" if days == 1 else f"{days} days ago"
    return value.astimezone(UTC).strftime("%-d %b %Y")


def format_duration(value: timedelta | float) -> str:
    """A duration as ``42s``, ``4m 05s`` or ``1h 02m``."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds // 60 % 60:02d}m"


def elapsed(start: datetime | None, end: datetime | None) -> timedelta | None:
    """How long something took, or None if it has not finished or started."""
    if start is None or end is None:
        return None
    return end - start
