"""Jobs and runners made directly in the database, for tests."""

from __future__ import annotations

from typing import Any

from ciapp.models import Job, Repository, Runner
from ciapp.statuses import JobStatus, RunnerStatus


def make_job(repository: Repository, **fields: Any) -> Job:
    fields.setdefault("commit_sha", "9abc2ac68d52afe1a5a3fbc724d031af5a397204")
    fields.setdefault("branch", "master")
    fields.setdefault("commit_title", "Fix the build")
    fields.setdefault("commit_author", "Ada Lovelace")
    fields.setdefault("run_start_reason", "Manual run created by API")
    return Job.create(repository, **fields)


def start_job(job: Job, *layerfiles: str) -> list[Runner]:
    """Take a NEW job to SEE_RUNNERS with one NEW runner per Layerfile."""
    job.set_status(JobStatus.STARTING_RUNNERS)
    runners = [
        Runner.objects.create(job=job, layerfile_path=path, name=path.split("/")[0])
        for path in layerfiles or ("Layerfile",)
    ]
    job.set_status(JobStatus.SEE_RUNNERS)
    return runners


def finish(runner: Runner, status: RunnerStatus) -> None:
    runner.transition(RunnerStatus.RUNNING)
    runner.transition(status)
