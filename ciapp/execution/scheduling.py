"""Which runner runs when: dependencies, queues, and work whose worker died."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import Enum

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ciapp.execution.identity import host_queue
from ciapp.models import InvalidTransition, Job, Runner
from ciapp.statuses import (
    RUNNER_FINAL_STATUSES,
    JobErrorKind,
    JobStatus,
    RunnerStatus,
    StepStatus,
)

logger = logging.getLogger(__name__)


class Readiness(Enum):
    READY = "ready"
    WAIT = "wait"
    BLOCKED = "blocked"


def readiness(
    runner: Runner, current: dict[str, list[Runner]]
) -> tuple[Readiness, Runner | None]:
    """Whether the Layerfiles a runner depends on let it start.

    ``current`` maps each Layerfile path to the newest attempts of its
    runners. A dependency is met when all of them succeeded; it blocks the
    runner for good when one of them ended otherwise (that runner is
    returned too).
    """
    waiting = False
    for path in runner.depends_on:
        for other in current.get(path, []):
            if other.status == RunnerStatus.SUCCESS:
                continue
            if other.status in RUNNER_FINAL_STATUSES:
                return Readiness.BLOCKED, other
            waiting = True
    return (Readiness.WAIT if waiting else Readiness.READY), None


def schedule(job: Job) -> None:
    """Queue the job's runners that can start; end those that never can.

    Safe to call at any time and from any worker: it works under the job's
    row lock, and a runner is queued once.
    """
    with transaction.atomic():
        locked = job.locked()
        changed = True
        while changed:
            changed = False
            current: dict[str, list[Runner]] = {}
            for runner in locked.runners.filter(was_retried=False).order_by("pk"):
                current.setdefault(runner.layerfile_path, []).append(runner)
            for runners in current.values():
                for runner in runners:
                    changed |= _schedule_one(runner, current)


def _schedule_one(runner: Runner, current: dict[str, list[Runner]]) -> bool:
    if runner.status not in (RunnerStatus.NEW, RunnerStatus.WAITING_PARENTS):
        return False
    verdict, culprit = readiness(runner, current)
    if verdict is Readiness.BLOCKED:
        assert culprit is not None
        # An error upstream stays an error, so the job's outcome names it;
        # anything else upstream cancels what depended on it.
        status = (
            RunnerStatus.ERROR
            if culprit.status == RunnerStatus.ERROR
            else RunnerStatus.CANCELLED
        )
        runner.transition(
            status,
            error_message=(
                f"Not run: {culprit.layerfile_path} ({culprit.runner_id}) ended "
                f"{culprit.status}."
            ),
        )
        return True
    if verdict is Readiness.WAIT:
        if runner.status == RunnerStatus.NEW:
            runner.transition(RunnerStatus.WAITING_PARENTS)
        return False
    if runner.state.get("queued"):
        return False
    queue = "default"
    if runner.parent_path:
        parent = current[runner.parent_path][0]
        queue = host_queue(parent.host)
    enqueue_runner(runner, queue)
    return False


def enqueue_runner(runner: Runner, queue: str) -> None:
    """Put a runner on a queue, in the caller's transaction."""
    from ciapp.execution.tasks import run_runner

    Runner.objects.filter(pk=runner.pk).update(state={**runner.state, "queued": queue})
    runner.state = {**runner.state, "queued": queue}
    run_runner.using(queue_name=queue).enqueue(runner.pk)


def enqueue_job(job: Job) -> None:
    from ciapp.execution.tasks import start_job

    start_job.enqueue(job.pk)


def retry(runner: Runner) -> Runner:
    """Retry a finished runner and queue the new attempt when it can start."""
    new = runner.retry()
    schedule(new.job)
    new.refresh_from_db()
    return new


def resume_after_button(runner: Runner) -> None:
    """Queue a runner whose BUTTON was pressed, on the host that has its files."""
    from ciapp.execution.tasks import run_runner

    run_runner.using(queue_name=host_queue(runner.host)).enqueue(runner.pk)


def kill_leftovers(runner_key: str) -> int:
    from ciapp.execution.executor import kill_leftovers as kill

    return kill(runner_key)


def reap() -> int:
    """End work whose worker stopped renewing its lease, and queue again work
    whose task was lost with its worker. Returns how many of either."""
    now = timezone.now()
    ended = 0
    for runner in Runner.objects.filter(
        status=RunnerStatus.RUNNING, lease_expires_at__lt=now
    ).select_related("job"):
        try:
            runner.transition(
                RunnerStatus.ERROR,
                error_message=(
                    f"The worker running it ({runner.lease_owner}) stopped "
                    f"answering; its lease ran out at {runner.lease_expires_at}."
                ),
            )
        except InvalidTransition:
            continue
        logger.warning("runner %s of job %s lost its worker", runner, runner.job)
        _end_lost_steps(runner)
        if runner.host == settings.CI_HOST_NAME:
            kill_leftovers(f"{runner.job.uuid}:{runner.pk}")
        schedule(runner.job)
        ended += 1

    ended += _queue_lost_tasks(now)

    for job in Job.objects.filter(
        status=JobStatus.STARTING_RUNNERS, lease_expires_at__lt=now
    ):
        try:
            job.set_status(
                JobStatus.ERROR,
                error_kind=JobErrorKind.INTERNAL,
                error_message=(
                    f"The worker starting it ({job.lease_owner}) stopped answering."
                ),
            )
        except InvalidTransition:
            continue
        logger.warning("job %s lost the worker starting it", job)
        ended += 1
    return ended


def _queue_lost_tasks(now: datetime) -> int:
    """Queue again the work whose task a worker took and then died with.

    A worker that dies after taking a task from the queue, but before it
    takes the job or runner the task names, leaves that job or runner NEW
    with no task ready to run it. Starting and running are safe to repeat:
    the worker that comes second finds nothing to take.
    """
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from ciapp.execution.tasks import run_runner, start_job

    stale = now - timedelta(seconds=2 * settings.CI_LEASE_SECONDS)
    ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    queued = 0
    lost_jobs = Job.objects.filter(status=JobStatus.NEW, created_at__lt=stale)
    if lost_jobs.exists():
        waiting = {
            tuple(t["args"])
            for t in ready.filter(task_path=start_job.module_path).values_list(
                "args_kwargs", flat=True
            )
        }
        for job in lost_jobs:
            if (job.pk,) not in waiting:
                logger.warning("queueing job %s again: its task was lost", job.pk)
                start_job.enqueue(job.pk)
                queued += 1
    lost_runners = Runner.objects.filter(
        status=RunnerStatus.NEW,
        was_retried=False,
        job__status=JobStatus.SEE_RUNNERS,
        created_at__lt=stale,
        state__has_key="queued",
    )
    if lost_runners.exists():
        waiting = {
            tuple(t["args"])
            for t in ready.filter(task_path=run_runner.module_path).values_list(
                "args_kwargs", flat=True
            )
        }
        for runner in lost_runners:
            if (runner.pk,) not in waiting:
                logger.warning("queueing runner %s again: its task was lost", runner.pk)
                run_runner.using(queue_name=runner.state["queued"]).enqueue(runner.pk)
                queued += 1
    return queued


def _end_lost_steps(runner: Runner) -> None:
    runner.steps.filter(status=StepStatus.RUNNING).update(
        status=StepStatus.ERROR, finished_at=timezone.now()
    )
    runner.steps.filter(status=StepStatus.NEW).update(status=StepStatus.SKIPPED)
