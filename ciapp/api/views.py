"""The JSON API, mirroring webapp.io's documented endpoints."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.views.decorators.csrf import csrf_exempt

from ciapp.api.auth import ApiRequest, allow_methods, token_required
from ciapp.api.responses import error, ok
from ciapp.execution import scheduling
from ciapp.git import (
    GitError,
    Mirror,
    UnknownRevision,
    check_ref_name,
    check_revision,
)
from ciapp.models import Job, Repository
from ciapp.names import stored_repository_name
from ciapp.search import InvalidQuery, parse
from ciapp.statuses import JobErrorKind, JobStatus

logger = logging.getLogger(__name__)

CREATE_FIELDS = ("branch", "ref", "accept_buttons", "extra")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
API_RUN_START_REASON = "Manual run created by API"


class BadInput(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _repository(request: ApiRequest, name: str) -> Repository:
    """The named repository of the token's organization.

    Another organization's repository is reported exactly as a missing one.
    """
    if name == request.repository_name:  # looked up with the token
        repository = request.repository
    else:
        stored = stored_repository_name(name)
        repository = Repository.named(request.organization, stored) if stored else None
    if repository is None:
        raise BadInput(
            f"There is no repository {request.organization.name}/{name}.", 404
        )
    return repository


def _base_url(request: HttpRequest) -> str:
    return settings.PUBLIC_URL or request.build_absolute_uri("/").rstrip("/")


@allow_methods("GET")
@token_required
def search(request: ApiRequest, repo: str) -> HttpResponse:
    """The most recent job of a repository that matches a search."""
    try:
        repository = _repository(request, repo)
        query = parse(request.GET.get("search", ""))
    except BadInput as e:
        return error(e.message, e.status)
    except InvalidQuery as e:
        return error(f"Invalid search: {e.message}", 400)

    job = Job.newest_matching(repository, query)
    if job is None:
        return error(
            f"There are no runs in {request.organization.name}/{repository.name} "
            "matching the given filters.",
            404,
        )

    return ok(job=job.to_dict())


@allow_methods("POST")
@token_required
def create(request: ApiRequest, repo: str) -> HttpResponse:
    """Start a job for a branch or commit of a repository."""
    try:
        repository = _repository(request, repo)
        fields = _create_fields(request)
        branch = _text(fields, "branch", default="master")
        ref = _text(fields, "ref", default="")
        accept_buttons = _boolean(fields, "accept_buttons")
        extra = _text(fields, "extra", default="")
        _check_create(branch, ref, extra)
    except BadInput as e:
        return error(e.message, e.status)

    job_fields: dict[str, Any] = {
        "ref": ref,
        "accept_buttons": accept_buttons,
        "extra": extra,
        "run_start_reason": API_RUN_START_REASON,
    }
    mirror = Mirror(repository.pk, repository.git_source)
    try:
        commit = mirror.resolve(branch, ref)
    except UnknownRevision as e:
        return error(str(e), 400)
    except GitError as e:
        # The service, not the caller, is at fault: record a job that shows
        # why it could not start, as it would for any other start failure.
        job = Job.create(
            repository,
            commit_sha="",
            branch=branch,
            status=JobStatus.ERROR,
            error_kind=JobErrorKind.INTERNAL,
            error_message=str(e),
            **job_fields,
        )
    else:
        with transaction.atomic():
            job = Job.create(
                repository,
                commit_sha=commit.sha,
                commit_title=commit.title,
                commit_body=commit.body,
                commit_author=commit.author,
                branch=branch,
                **job_fields,
            )
            scheduling.enqueue_job(job)
    logger.info("created job %s#%s", repository, job.number)

    return ok(job=job.to_dict(), url=_base_url(request) + job.path())


@allow_methods("GET")
@token_required
def runners(request: ApiRequest, repo: str, job_uuid: str) -> HttpResponse:
    """The runners of one job."""
    try:
        repository = _repository(request, repo)
        parsed_uuid = uuid.UUID(job_uuid)
    except BadInput as e:
        return error(e.message, e.status)
    except ValueError:
        return error(
            f"'{job_uuid}' is not a run uuid such as "
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee.",
            400,
        )

    job = Job.objects.filter(repository=repository, uuid=parsed_uuid).first()
    if job is None:
        return error(
            f"There is no run for {request.organization.name} matching uuid "
            f"{job_uuid}.",
            404,
        )

    return ok(runners=[runner.to_dict() for runner in job.runners.all()])


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return error(f"There is no API endpoint at /{request.path.lstrip('/')}.", 404)


def _create_fields(request: HttpRequest) -> dict[str, Any]:
    """The create call's fields, from a JSON or form body and the query string.

    A field given both in the body and the query string must agree.
    """
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.API_MAX_BODY_BYTES:
        raise _too_big()
    try:
        raw = request.body
    except RequestDataTooBig:
        raise _too_big()

    content_type = request.content_type or ""
    body: dict[str, Any]
    if content_type in FORM_TYPES:
        body = _single_values(request.POST, "body")
    elif content_type == "application/json" or raw.lstrip()[:1] in (b"{", b"["):
        body = _json_object(raw)
    elif not raw.strip():
        body = {}
    elif content_type in ("", "text/plain"):
        body = _single_values(QueryDict(raw, encoding="utf-8"), "body")
    else:
        raise BadInput(
            f"Send the fields as JSON or as a form, not as {content_type}.", 415
        )

    query = _single_values(request.GET, "query string")
    query.pop("token", None)
    for name, value in query.items():
        if name in body and body[name] != value:
            raise BadInput(
                f"'{name}' is given twice, differently, in the query string "
                "and the body."
            )
    fields = {**query, **body}

    unknown = sorted(set(fields) - set(CREATE_FIELDS))
    if unknown:
        raise BadInput(
            f"Unknown field '{unknown[0]}'; the fields are {', '.join(CREATE_FIELDS)}."
        )
    return fields


def _too_big() -> BadInput:
    return BadInput(
        f"The request body is larger than {settings.API_MAX_BODY_BYTES} bytes.", 413
    )


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise BadInput(f"The body is not valid JSON: {e}.")
    if not isinstance(body, dict):
        raise BadInput('The JSON body must be an object, such as {"branch": "main"}.')
    return body


def _single_values(data: QueryDict, where: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, items in data.lists():
        if len(items) > 1:
            raise BadInput(f"'{name}' is given {len(items)} times in the {where}.")
        values[name] = items[0]
    return values


def _text(fields: dict[str, Any], name: str, default: str) -> str:
    value = fields.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadInput(f"'{name}' must be a string, not {type(value).__name__}.")
    if "\x00" in value:
        raise BadInput(f"'{name}' must not contain NUL characters.")
    return value


def _boolean(fields: dict[str, Any], name: str) -> bool:
    value = fields.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", ""):
        return False
    raise BadInput(f"'{name}' must be true or false, not {json.dumps(value)}.")


def _check_create(branch: str, ref: str, extra: str) -> None:
    problem = check_ref_name(branch, "branch")
    if problem is None and ref:
        problem = check_revision(ref, "ref")
    if problem:
        raise BadInput(problem)
    size = len(extra.encode())
    if size > settings.API_MAX_EXTRA_BYTES:
        raise BadInput(
            f"'extra' is {size} bytes; the limit is {settings.API_MAX_EXTRA_BYTES}.",
            413,
        )
