"""A job's runners grouped into attempts, and a fingerprint of their state.

A retry makes a new runner for the same Layerfile (and the same ``SPLIT``
copy); the run page shows the newest attempt of each and folds the earlier
ones under it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, IntegerField, Prefetch, When
from django.db.models.functions import Length, Right

from ciapp.models import Job, Runner, Step
from ciapp.statuses import StepStatus
from dashboard.paging import LIVE_MARKUP_VERSION

# The run page shows the end of each log, up to this many characters; the
# whole log is one click away as plain text.
LOG_TAIL_CHARS = 64 * 1024


@dataclass
class Attempts:
    current: Runner
    earlier: list[Runner] = field(default_factory=list)

    @property
    def key(self) -> int:
        """Stable across retries: the first attempt's key."""
        return (self.earlier[0] if self.earlier else self.current).pk


def runners_with_steps(job: Job) -> list[Runner]:
    """The job's runners with their steps, in two queries.

    Steps carry ``log_tail`` and ``log_length`` instead of the whole log, so
    that a long log costs the page at most :data:`LOG_TAIL_CHARS`.
    """
    steps = (
        Step.objects.defer("log")
        .annotate(log_length=Length("log"), log_tail=Right("log", LOG_TAIL_CHARS))
        .order_by("position")
    )
    return list(
        job.runners.order_by("layerfile_path", "split_index", "index").prefetch_related(
            Prefetch("steps", queryset=steps)
        )
    )


def group_attempts(runners: Sequence[Runner]) -> list[Attempts]:
    """Group runners by Layerfile and SPLIT copy, newest attempt first."""
    groups: dict[tuple[str, int], list[Runner]] = {}
    for runner in runners:
        groups.setdefault((runner.layerfile_path, runner.split_index), []).append(
            runner
        )
    result = []
    for attempts in groups.values():
        attempts.sort(key=lambda r: (not r.was_retried, r.index))
        *earlier, current = attempts
        result.append(Attempts(current, earlier))
    return result


# One row per step (or per runner without steps) of a job, as fingerprinted.
StateRow = tuple[
    int, str, datetime, bool, int | None, str | None, datetime | None,
    datetime | None, int | None,
]  # fmt: skip


def state_rows(runners: Iterable[Runner]) -> list[StateRow]:
    """The rows :func:`fingerprint` reads, from loaded runners and steps."""
    rows: list[StateRow] = []
    for r in runners:
        head = (r.pk, r.status, r.status_change_time, r.was_retried)
        steps = list(r.steps.all())
        if not steps:
            rows.append((*head, None, None, None, None, None))
        for s in steps:
            running = s.status == StepStatus.RUNNING
            length = s.log_length if running else None  # type: ignore[attr-defined]
            rows.append((*head, s.pk, s.status, s.started_at, s.finished_at, length))
    return rows


def load_state_rows(job: Job) -> list[StateRow]:
    """The same rows as :func:`state_rows`, in one query and without logs.

    Only a running step's log can still grow, so only its length is read.
    """
    running_log = Case(
        When(steps__status=StepStatus.RUNNING, then=Length("steps__log")),
        output_field=IntegerField(),
    )
    return list(
        Runner.objects.filter(job=job).values_list(
            "pk",
            "status",
            "status_change_time",
            "was_retried",
            "steps__pk",
            "steps__status",
            "steps__started_at",
            "steps__finished_at",
            running_log,
        )
    )


def _stamp(value: datetime | None) -> str:
    return "" if value is None else f"{value.timestamp():.6f}"


def fingerprint(job: Job, rows: Iterable[StateRow]) -> str:
    """An ETag for the live part of the run page."""
    digest = hashlib.sha256(LIVE_MARKUP_VERSION.encode())
    digest.update(
        f"{job.status}|{job.calculated_status}|{_stamp(job.status_change_time)}|"
        f"{_stamp(job.finished_at)}\n".encode()
    )
    for row in sorted(rows, key=lambda row: (row[0], row[4] or 0)):
        r_pk, r_status, r_changed, retried, s_pk, s_status, started, done, n = row
        digest.update(
            f"{r_pk}|{r_status}|{_stamp(r_changed)}|{retried}|{s_pk}|{s_status}|"
            f"{_stamp(started)}|{_stamp(done)}|{n}\n".encode()
        )
    return f'"{digest.hexdigest()[:32]}"'
