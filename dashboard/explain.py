"""Why a run has the status it has, in words, for the run page.

The calculated status is derived from the newest attempt of each runner (see
:func:`ciapp.statuses.calculate_status`); this module names the runners that
decided it, and where in their Layerfile they stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ciapp.models import Job, Runner, Step
from ciapp.statuses import (
    RUNNER_FINAL_STATUSES,
    CalculatedStatus,
    RunnerStatus,
    StepStatus,
)


@dataclass(frozen=True)
class Culprit:
    runner: Runner
    what: str  # e.g. "failed at line 4"
    step: Step | None = None


@dataclass(frozen=True)
class Explanation:
    lead: str  # the sentence before the runners, or the whole of it
    culprits: list[Culprit] = field(default_factory=list)
    error: str = ""  # the job's own error message, shown as it is


def _stopped_at(runner: Runner, statuses: set[str]) -> Step | None:
    """The first step of ``runner`` in one of ``statuses``, if any."""
    for step in runner.steps.all():
        if step.status in statuses:
            return step
    return None


def _culprit(runner: Runner, verb: str, statuses: set[str]) -> Culprit:
    step = _stopped_at(runner, statuses)
    what = verb if step is None else f"{verb} at line {step.line}"
    if runner.error_message:
        what += f": {runner.error_message}"
    return Culprit(runner, what, step)


def _active(runner: Runner) -> Culprit:
    if runner.status == RunnerStatus.WAITING_PARENTS:
        return Culprit(runner, "is waiting for the Layerfiles it starts from")
    if runner.status == RunnerStatus.NEW:
        return Culprit(runner, "is queued for a worker")
    step = _stopped_at(runner, {StepStatus.RUNNING})
    if step is None:
        return Culprit(runner, "is running")
    if step.is_waiting_for_button:
        return Culprit(runner, f"waits at line {step.line} for its BUTTON", step)
    return Culprit(runner, f"is running line {step.line}", step)


def explain(job: Job, runners: Sequence[Runner]) -> Explanation:
    """Say why ``job`` has its calculated status.

    ``runners`` are all the job's runners with their steps prefetched; only
    the ones that were not retried count, as in the derivation.
    """
    current = [r for r in runners if not r.was_retried]

    def having(status: str) -> list[Runner]:
        return [r for r in current if r.status == status]

    match job.calculated_status:
        case CalculatedStatus.NEW:
            return Explanation("Waiting for a worker to read the Layerfiles.")
        case CalculatedStatus.STARTING_RUNNERS:
            return Explanation("Reading the Layerfiles and starting the runners.")
        case CalculatedStatus.BAD_LAYERFILE:
            return Explanation(
                "A Layerfile is invalid or missing.",
                error=job.error_message or "No message was recorded.",
            )
        case CalculatedStatus.JOB_ERROR:
            return Explanation(
                "The run could not start.",
                error=job.error_message or "No message was recorded.",
            )
        case CalculatedStatus.FAILURE:
            return Explanation(
                "Failed because",
                [
                    _culprit(r, "failed", {StepStatus.FAILURE})
                    for r in having(RunnerStatus.FAILURE)
                ],
            )
        case CalculatedStatus.RUNNER_CANCELLED:
            return Explanation(
                "Cancelled because",
                [
                    _culprit(r, "was cancelled", {StepStatus.CANCELLED})
                    for r in having(RunnerStatus.CANCELLED)
                ],
            )
        case CalculatedStatus.RUNNER_ERROR:
            return Explanation(
                "Errored because",
                [
                    _culprit(r, "hit an error", {StepStatus.ERROR})
                    for r in having(RunnerStatus.ERROR)
                ],
            )
        case CalculatedStatus.RUNNING:
            active = [r for r in current if r.status not in RUNNER_FINAL_STATUSES]
            return Explanation("Running:", [_active(r) for r in active])
        case CalculatedStatus.SUCCEEDED:
            if not current:
                return Explanation("Succeeded: the run had no runners.")
            if len(current) == 1:
                return Explanation("Succeeded: its one runner passed.")
            return Explanation(f"Succeeded: all {len(current)} runners passed.")
    return Explanation(f"The status is {job.calculated_status}.")
