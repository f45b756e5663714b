"""Statuses of jobs, runners and steps, and how a job's outcome is derived.

A job has two statuses. ``JobStatus`` is the job's own life cycle: it is set
by whoever starts the job and never looks at runners. ``CalculatedStatus`` is
what users look at; it is derived from the job status and the statuses of the
job's current runners by :func:`calculate_status`, and stored on the job so
that filtering by it is an index lookup.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models


class JobStatus(models.TextChoices):
    NEW = "NEW"
    STARTING_RUNNERS = "STARTING_RUNNERS"
    SEE_RUNNERS = "SEE_RUNNERS"
    ERROR = "ERROR"


class JobErrorKind(models.TextChoices):
    """Why a job in ``JobStatus.ERROR`` could not start."""

    NONE = "", "No error"
    LAYERFILE = "LAYERFILE", "Layerfile invalid or missing"
    INTERNAL = "INTERNAL", "Internal error"


class RunnerStatus(models.TextChoices):
    NEW = "NEW"
    WAITING_PARENTS = "WAITING_PARENTS"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


class StepStatus(models.TextChoices):
    NEW = "NEW"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"


class CalculatedStatus(models.TextChoices):
    NEW = "NEW"
    JOB_ERROR = "JOB_ERROR"
    BAD_LAYERFILE = "BAD_LAYERFILE"
    STARTING_RUNNERS = "STARTING_RUNNERS"
    FAILURE = "FAILURE"
    RUNNER_CANCELLED = "RUNNER_CANCELLED"
    RUNNER_ERROR = "RUNNER_ERROR"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"


# Groupings used by the search language (``running``, ``done``, ``failed``)
# and by the dashboard.
RUNNING_STATUSES = frozenset(
    {
        CalculatedStatus.NEW,
        CalculatedStatus.STARTING_RUNNERS,
        CalculatedStatus.RUNNING,
    }
)
DONE_STATUSES = frozenset(CalculatedStatus) - RUNNING_STATUSES
FAILED_STATUSES = frozenset(
    {
        CalculatedStatus.JOB_ERROR,
        CalculatedStatus.BAD_LAYERFILE,
        CalculatedStatus.FAILURE,
        CalculatedStatus.RUNNER_ERROR,
    }
)

# A runner in one of these statuses has finished and will not change again.
RUNNER_FINAL_STATUSES = frozenset(
    {
        RunnerStatus.SUCCESS,
        RunnerStatus.FAILURE,
        RunnerStatus.ERROR,
        RunnerStatus.CANCELLED,
    }
)
RUNNER_ACTIVE_STATUSES = frozenset(RunnerStatus) - RUNNER_FINAL_STATUSES

# Which runner status may follow which. Final statuses have no successor: a
# finished runner is retried by creating a new runner, never by reopening it.
RUNNER_TRANSITIONS: dict[RunnerStatus, frozenset[RunnerStatus]] = {
    RunnerStatus.NEW: frozenset(
        {
            RunnerStatus.WAITING_PARENTS,
            RunnerStatus.RUNNING,
            RunnerStatus.ERROR,
            RunnerStatus.CANCELLED,
        }
    ),
    RunnerStatus.WAITING_PARENTS: frozenset(
        {RunnerStatus.RUNNING, RunnerStatus.ERROR, RunnerStatus.CANCELLED}
    ),
    RunnerStatus.RUNNING: frozenset(RUNNER_FINAL_STATUSES),
    RunnerStatus.SUCCESS: frozenset(),
    RunnerStatus.FAILURE: frozenset(),
    RunnerStatus.ERROR: frozenset(),
    RunnerStatus.CANCELLED: frozenset(),
}


def calculate_status(
    job_status: str,
    error_kind: str,
    runner_statuses: Iterable[str],
) -> CalculatedStatus:
    """Derive a job's calculated status.

    ``runner_statuses`` holds the status of the newest attempt of each of the
    job's runners; runners that were retried must not be passed in.
    """
    if job_status == JobStatus.NEW:
        return CalculatedStatus.NEW
    if job_status == JobStatus.ERROR:
        if error_kind == JobErrorKind.LAYERFILE:
            return CalculatedStatus.BAD_LAYERFILE
        return CalculatedStatus.JOB_ERROR
    if job_status == JobStatus.STARTING_RUNNERS:
        return CalculatedStatus.STARTING_RUNNERS

    seen = set(runner_statuses)
    if RunnerStatus.FAILURE in seen:
        return CalculatedStatus.FAILURE
    if RunnerStatus.CANCELLED in seen:
        return CalculatedStatus.RUNNER_CANCELLED
    if RunnerStatus.ERROR in seen:
        return CalculatedStatus.RUNNER_ERROR
    if seen & RUNNER_ACTIVE_STATUSES:
        return CalculatedStatus.RUNNING
    # NB: a job that saw no runners at all counts as SUCCEEDED. Starting a job
    # never gets there: a repository without a Layerfile is BAD_LAYERFILE.
    return CalculatedStatus.SUCCEEDED
