"""The tasks workers take from the queue."""

from __future__ import annotations

import logging

from django_tasks import task

from ciapp.execution.identity import worker_id

logger = logging.getLogger(__name__)


@task()
def start_job(job_id: int) -> None:
    from ciapp.execution import starting

    starting.start(job_id, worker_id())


@task()
def run_runner(runner_id: int) -> None:
    from ciapp.execution.executor import execute

    execute(runner_id, worker_id())
