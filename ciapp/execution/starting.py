"""Starting a job: finding its Layerfiles and making its runners."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ciapp import layerfile as lf
from ciapp.execution import scheduling
from ciapp.execution.lease import JobLease
from ciapp.git import CommitFiles, GitError, Mirror
from ciapp.models import InvalidTransition, Job, Runner
from ciapp.statuses import JobErrorKind, JobStatus, RunnerStatus

logger = logging.getLogger(__name__)


class BadLayerfiles(Exception):
    """The commit's Layerfiles cannot make a run; the message says why."""


@dataclass
class RunnerPlan:
    layerfile: lf.Layerfile
    name: str
    depends_on: list[str] = field(default_factory=list)
    parent_path: str = ""


def start(job_id: int, worker: str) -> None:
    """Take a NEW job through STARTING_RUNNERS to SEE_RUNNERS, or to ERROR."""
    job = Job.objects.select_related("repository__organization").get(pk=job_id)
    try:
        job.set_status(JobStatus.STARTING_RUNNERS)
    except InvalidTransition:
        logger.info("job %s was started already", job)
        return

    logger.info("starting job %s at %s", job, job.commit_sha[:12])
    with JobLease(job, worker):
        try:
            plans = plan(job)
        except BadLayerfiles as e:
            job.set_status(
                JobStatus.ERROR, error_kind=JobErrorKind.LAYERFILE, error_message=str(e)
            )
            return
        except GitError as e:
            job.set_status(
                JobStatus.ERROR, error_kind=JobErrorKind.INTERNAL, error_message=str(e)
            )
            return
        _make_runners(job, plans)
    scheduling.schedule(job)


def plan(job: Job) -> list[RunnerPlan]:
    """Read and check the Layerfiles of the job's commit."""
    if not job.commit_sha:
        raise GitError("the job has no commit to run")
    files = CommitFiles(
        Mirror(job.repository_id, job.repository.git_source), job.commit_sha
    )
    files.ensure_present()

    parsed: dict[str, lf.Layerfile] = {}
    for file in files.files():
        if _is_layerfile(file.path) and file.mode in ("100644", "100755"):
            try:
                parsed[file.path] = lf.parse(files.read(file), file.path)
            except lf.LayerfileError as e:
                raise BadLayerfiles(str(e))
    if not parsed:
        raise BadLayerfiles(
            f"There is no file named Layerfile in the repository at "
            f"{job.commit_sha[:12]}."
        )

    plans = {}
    for path, layerfile in sorted(parsed.items()):
        parent = layerfile.parent_path
        if parent is not None and parent not in parsed:
            raise BadLayerfiles(
                f"{path}:{layerfile.base.line}: FROM {layerfile.base.source}: there "
                f"is no Layerfile at {parent}."
            )
        for waited in layerfile.wait_paths:
            if waited not in parsed:
                line = _line_of(layerfile, lf.Wait)
                raise BadLayerfiles(
                    f"{path}:{line}: WAIT: there is no Layerfile at {waited}."
                )
        depends_on = ([parent] if parent else []) + [
            p for p in layerfile.wait_paths if p != parent
        ]
        plans[path] = RunnerPlan(
            layerfile, lf.runner_name(layerfile), depends_on, parent or ""
        )
    _check_cycles(plans)
    return list(plans.values())


def _is_layerfile(path: str) -> bool:
    parts = path.split("/")
    return parts[-1] == lf.LAYERFILE_NAME and ".git" not in parts[:-1]


def _line_of(layerfile: lf.Layerfile, kind: type[lf.Instruction]) -> int:
    return next(i.line for i in layerfile.instructions if isinstance(i, kind))


def _check_cycles(plans: dict[str, RunnerPlan]) -> None:
    done: set[str] = set()

    def visit(path: str, trail: list[str]) -> None:
        if path in trail:
            cycle = trail[trail.index(path) :] + [path]
            first = plans[cycle[0]].layerfile
            line = (
                first.base.line
                if plans[cycle[0]].parent_path == cycle[1]
                else (_line_of(first, lf.Wait))
            )
            raise BadLayerfiles(
                f"{cycle[0]}:{line}: these Layerfiles wait for each other, so none "
                f"can start: {' → '.join(cycle)}."
            )
        if path in done:
            return
        for dependency in plans[path].depends_on:
            visit(dependency, [*trail, path])
        done.add(path)

    for path in plans:
        visit(path, [])


def _make_runners(job: Job, plans: list[RunnerPlan]) -> None:
    with transaction.atomic():
        locked = job.locked()
        cancelled = locked.cancel_requested_at is not None
        for plan in plans:
            copies = plan.layerfile.split
            for copy in range(1, copies + 1):
                Runner.objects.create(
                    job=locked,
                    layerfile_path=plan.layerfile.path,
                    name=plan.name,
                    index=copy,
                    split_index=copy if copies > 1 else 0,
                    depends_on=plan.depends_on,
                    parent_path=plan.parent_path,
                    status=RunnerStatus.CANCELLED if cancelled else RunnerStatus.NEW,
                    error_message="Cancelled before it started." if cancelled else "",
                    finished_at=timezone.now() if cancelled else None,
                )
        locked.set_status(JobStatus.SEE_RUNNERS)
