"""API endpoints beyond webapp.io's documented three, in the same style:
read and list runs, read a runner's steps and logs, retry and cancel,
press a BUTTON."""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ciapp.api.auth import ApiRequest, allow_methods, token_required
from ciapp.api.responses import error, ok
from ciapp.api.views import BadInput, _repository
from ciapp.execution import scheduling
from ciapp.models import InvalidTransition, Job, Repository, Runner, format_go_time
from ciapp.names import whole_number
from ciapp.search import MAX_JOB_NUMBER, InvalidQuery, parse

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def _job(request: ApiRequest, repository: Repository, number: int) -> Job:
    job = None
    if number <= MAX_JOB_NUMBER:
        job = Job.objects.filter(repository=repository, number=number).first()
    if job is None:
        raise BadInput(
            f"There is no run {number} in {request.organization.name}/"
            f"{repository.name}.",
            404,
        )
    job.repository = repository
    return job


def _runner(request: ApiRequest, repo: str, job_uuid: str, runner_id: str) -> Runner:
    repository = _repository(request, repo)
    try:
        parsed = uuid.UUID(job_uuid)
    except ValueError:
        raise BadInput(f"'{job_uuid}' is not a run uuid.", 400)
    job = Job.objects.filter(repository=repository, uuid=parsed).first()
    if job is None:
        raise BadInput(
            f"There is no run for {request.organization.name} matching uuid "
            f"{job_uuid}.",
            404,
        )
    for runner in job.runners.all():
        if runner.runner_id == runner_id:
            job.repository = repository
            runner.job = job
            return runner
    raise BadInput(f"The run has no runner '{runner_id}'.", 404)


def _steps(runner: Runner) -> list[dict[str, Any]]:
    return [
        {
            "position": step.position,
            "line": step.line,
            "instruction": step.instruction,
            "status": step.status,
            "exit_code": step.exit_code,
            "started_at": step.started_at and format_go_time(step.started_at),
            "finished_at": step.finished_at and format_go_time(step.finished_at),
            "waiting_for_button": step.is_waiting_for_button,
            "log": step.log,
        }
        for step in runner.steps.all()
    ]


@allow_methods("GET")
@token_required
def job_detail(request: ApiRequest, repo: str, number: str) -> HttpResponse:
    """One run, with its runners."""
    try:
        job = _job(request, _repository(request, repo), int(number))
    except BadInput as e:
        return error(e.message, e.status)

    return ok(
        job=job.to_dict(),
        runners=[runner.to_dict() for runner in job.runners.all()],
        error=job.error_message,
    )


def job_list(request: ApiRequest, repo: str) -> HttpResponse:
    """A page of runs, newest first; ``before`` pages back."""
    try:
        repository = _repository(request, repo)
        query = parse(request.GET.get("search", ""))
        limit = _number(request.GET.get("limit"), "limit", PAGE_SIZE)
        before = _number(request.GET.get("before"), "before", None)
    except BadInput as e:
        return error(e.message, e.status)
    except InvalidQuery as e:
        return error(f"Invalid search: {e.message}", 400)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        return error(f"'limit' must be from 1 to {MAX_PAGE_SIZE}.", 400)

    jobs = Job.objects.filter(repository=repository).matching(query)
    if before is not None:
        jobs = jobs.filter(number__lt=before)
    page = list(jobs.order_by("-number")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    for job in page:
        job.repository = repository
    return ok(
        jobs=[job.to_dict() for job in page],
        next_before=page[-1].number if more else None,
    )


def _number(value: str | None, name: str, default: int | None) -> Any:
    if value is None or value == "":
        return default
    number = whole_number(value, MAX_JOB_NUMBER)
    if number is None:
        raise BadInput(
            f"'{name}' must be a whole number from 1 to {MAX_JOB_NUMBER}, "
            f"not {value!r}."
        )
    return number


@allow_methods("POST")
@token_required
def job_cancel(request: ApiRequest, repo: str, number: str) -> HttpResponse:
    """Cancel every runner of a run that has not finished."""
    try:
        job = _job(request, _repository(request, repo), int(number))
    except BadInput as e:
        return error(e.message, e.status)

    cancelled = job.cancel(by=f"API token {request.api_token.key_id}")
    return ok(job=job.to_dict(), cancelled_runners=cancelled)


@allow_methods("GET")
@token_required
def runner_detail(
    request: ApiRequest, repo: str, job_uuid: str, runner_id: str
) -> HttpResponse:
    """One runner, with its steps and their logs."""
    try:
        runner = _runner(request, repo, job_uuid, runner_id)
    except BadInput as e:
        return error(e.message, e.status)

    return ok(
        runner={**runner.to_dict(), "error": runner.error_message},
        steps=_steps(runner),
    )


@allow_methods("POST")
@token_required
def runner_action(
    request: ApiRequest, repo: str, job_uuid: str, runner_id: str, action: str
) -> HttpResponse:
    """Retry or cancel a runner, or press its BUTTON."""
    try:
        runner = _runner(request, repo, job_uuid, runner_id)
    except BadInput as e:
        return error(e.message, e.status)
    by = f"API token {request.api_token.key_id}"

    if action == "retry":
        try:
            new = scheduling.retry(runner)
        except InvalidTransition:
            return error(
                f"Runner {runner.runner_id} is {runner.status}"
                f"{' and was retried already' if runner.was_retried else ''}; only "
                "a finished runner that was not retried can be retried.",
                409,
            )
        return ok(runner=new.to_dict())

    if action == "cancel":
        if not runner.cancel(by):
            return error(f"Runner {runner.runner_id} has ended ({runner.status}).", 409)
        runner.refresh_from_db()
        return ok(runner=runner.to_dict())

    waiting = [step for step in runner.steps.all() if step.is_waiting_for_button]
    if not waiting or not waiting[0].press(by):
        return error(f"Runner {runner.runner_id} is not waiting at a BUTTON.", 409)
    scheduling.resume_after_button(runner)
    return ok(runner=runner.to_dict())


@csrf_exempt
@allow_methods("GET", "POST")
def run_collection(request: ApiRequest, repo: str) -> HttpResponse:
    """GET lists runs; POST starts one (webapp.io's endpoint)."""
    from ciapp.api.views import create

    if request.method == "POST":
        return create(request, repo=repo)
    return token_required(job_list)(request, repo=repo)
