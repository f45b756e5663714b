"""Server-rendered pages: the run list with its search bar, and one run.

Access is by membership: a signed-in user sees the organizations they are a
member of, and any other organization's pages answer 404, exactly as pages
that do not exist. Staff are no exception here; they use the admin.

The run list and the run page each have a *live* twin that renders only the
part of the page that changes while runs run; static/js/live.js polls it
with the ETag of what it shows and swaps in what changed.
"""

from __future__ import annotations

import hmac
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, FloatField, Func, Q
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import SQLCompiler
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.crypto import salted_hmac
from django.views.decorators.http import require_GET

from ciapp.models import Job, JobQuerySet, Organization, Repository, Step
from ciapp.names import stored_repository_name
from ciapp.search import MAX_JOB_NUMBER
from ciapp.statuses import DONE_STATUSES, RUNNING_STATUSES, CalculatedStatus
from dashboard import attempts, charts, paging
from dashboard.display import look
from dashboard.explain import explain
from dashboard.filters import JobFilter

# How many of a repository's latest runs its strip and sparkline show.
OVERVIEW_RUNS = 30
# How often a page with running jobs asks for changes, in milliseconds.
LIVE_INTERVAL_MS = 3000


def _get_organization_for_user(request: HttpRequest, name: str) -> Organization:
    """The named organization if the user is a member; else 404."""
    organization = Organization.objects.filter(
        name=name, memberships__user=request.user.pk
    ).first()
    if organization is None:
        raise Http404("No such organization")
    return organization


def _get_repository_for_user(request: HttpRequest, org: str, name: str) -> Repository:
    """The named repository if the user is a member of its organization."""
    stored = stored_repository_name(name)
    repository = (
        Repository.objects.select_related("organization")
        .filter(
            organization__name=org,
            organization__memberships__user=request.user.pk,
            name=stored,
        )
        .first()
        if stored
        else None
    )
    if repository is None:
        raise Http404("No such repository")
    return repository


def _get_job_for_user(request: HttpRequest, org: str, repo: str, number: int) -> Job:
    """The run if the user is a member of its organization; else 404."""
    stored = stored_repository_name(repo)
    job = (
        Job.objects.select_related("repository", "organization")
        .filter(
            organization__name=org,
            organization__memberships__user=request.user.pk,
            repository__name=stored,
            number=number,
        )
        .first()
        if stored and number <= MAX_JOB_NUMBER
        else None
    )
    if job is None:
        raise Http404("No such run")
    return job


def _scope(
    request: HttpRequest, org: str, repo: str | None
) -> tuple[Organization, Repository | None, JobQuerySet]:
    """The organization, the repository if any, and their jobs."""
    if repo is None:
        organization = _get_organization_for_user(request, org)
        return organization, None, Job.objects.for_org(organization)

    repository = _get_repository_for_user(request, org, repo)
    jobs = Job.objects.for_org(repository.organization).filter(repository=repository)
    return repository.organization, repository, jobs


def _url_with(request: HttpRequest, **changes: int | None) -> str:
    """This page's query string with the paging parameters replaced."""
    params = {
        k: v for k, v in request.GET.items() if k not in ("before", "after", "live")
    }
    params.update({k: str(v) for k, v in changes.items() if v is not None})
    return "?" + urlencode(params) if params else "?"


def _live_response(response: HttpResponse, etag: str, running: bool) -> HttpResponse:
    response["ETag"] = etag
    response["X-Live-Running"] = "1" if running else "0"
    patch_cache_control(response, private=True, no_cache=True)
    return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    organizations = list(
        Organization.objects.filter(memberships__user=request.user.pk).order_by("name")
    )
    if len(organizations) == 1:
        return redirect("dashboard:runs", org=organizations[0].name)

    return render(request, "dashboard/home.html", {"organizations": organizations})


class _Recent(NamedTuple):
    """One of a repository's latest runs, as the overview shows it."""

    number: int
    branch: str
    calculated_status: str
    seconds: float | None


class RunSeconds(Func):
    """Seconds from a run's start (its creation if it never started) to its
    end; NULL until it ends."""

    output_field = FloatField()

    def __init__(self) -> None:
        super().__init__(F("finished_at"), Coalesce("started_at", "created_at"))

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        (end, end_params), (start, start_params) = (
            compiler.compile(expression) for expression in self.source_expressions
        )
        params = [*end_params, *start_params]
        if connection.vendor == "sqlite":
            # julianday() is a double of days, off by up to about 50 µs:
            # 95 s would come out as 94.99995 and show as 94. Rounded to the
            # millisecond, it is exact to that.
            days = f"(julianday({end}) - julianday({start}))"
            return f"ROUND({days} * 86400.0, 3)", params
        if connection.vendor == "postgresql":
            return f"EXTRACT(EPOCH FROM ({end} - {start}))::float8", params
        raise NotImplementedError(f"RunSeconds is not made for {connection.vendor}.")


def _overview(
    organization: Organization, repository: Repository | None
) -> list[dict[str, Any]]:
    """Each repository with its latest runs, for the strips and sparklines.

    Job numbers count up without gaps per repository, so the latest runs of
    every repository are one query over the (repository, number) index: one
    index range per repository. NB: it must not ask the database to sort;
    SQLite then walks the whole index in order instead of the ranges.
    """
    if repository is not None:
        repositories = [repository]
    else:
        repositories = list(organization.repositories.order_by("name"))
    if not repositories:
        return []

    recent = Q()
    for r in repositories:
        recent |= Q(repository=r, number__gt=r.last_job_number - OVERVIEW_RUNS)
    # Plain rows, and each run's duration worked out by the database: making
    # 900 jobs and parsing 2,700 dates took longer than the query.
    jobs = (
        Job.objects.filter(recent)
        .annotate(seconds=RunSeconds())
        .values_list(
            "repository_id", "number", "branch", "calculated_status", "seconds"
        )
        .order_by()
    )
    by_repository: dict[int, list[_Recent]] = {r.pk: [] for r in repositories}
    for row in sorted(jobs, key=lambda row: row[1]):
        by_repository[row[0]].append(_Recent(*row[1:]))

    rows = []
    for r in repositories:
        runs = by_repository[r.pk]
        # One reverse() per repository: a run's URL ends in its number.
        base = reverse("dashboard:job", args=[organization.name, r.name, 1])[:-1]
        points = [
            charts.Point(
                label=f"#{j.number} {j.branch}: {look(j.calculated_status).word}",
                href=f"{base}{j.number}",
                status=j.calculated_status,
                seconds=j.seconds,
            )
            for j in runs
        ]
        rows.append(
            {
                "repository": r,
                "latest": runs[-1] if runs else None,
                "strip": charts.outcome_strip(points),
                "sparkline": charts.duration_sparkline(points),
            }
        )
    return rows


def _run_list(request: HttpRequest, jobs: JobQuerySet) -> dict[str, Any]:
    """Search and page the jobs as the request asks; context for templates."""
    search = JobFilter(request.GET, queryset=jobs.select_related("repository"))
    cursor = paging.Cursor.from_params(request.GET)
    context: dict[str, Any] = {"search": search, "cursor": cursor, "page": None}
    if search.query is None:
        return context

    rows = list(paging.window(search.qs, cursor))
    page = paging.page_of(rows, cursor)
    context.update(
        page=page,
        terms=search.query.describe(),
        etag=paging.fingerprint((j.pk, j.status_change_time) for j in rows),
        running=any(job.is_running for job in page.rows),
        newer_url=_url_with(request, after=page.newer) if page.newer else "",
        older_url=_url_with(request, before=page.older) if page.older else "",
        newest_url=_url_with(request) if not cursor.is_first else "",
    )
    return context


@login_required
@require_GET
def runs(request: HttpRequest, org: str, repo: str | None = None) -> HttpResponse:
    organization, repository, jobs = _scope(request, org, repo)

    context = _run_list(request, jobs)
    page = context["page"]
    if page is not None and page.reached_newest:
        return redirect(request.path + _url_with(request))

    args = [organization.name] + ([repository.name] if repository else [])
    name = "dashboard:repository_live" if repository else "dashboard:runs_live"
    context.update(
        organization=organization,
        repository=repository,
        overview=_overview(organization, repository),
        live_url=reverse(name, args=args) + "?" + request.GET.urlencode(),
        live_interval=LIVE_INTERVAL_MS,
    )
    if repository is not None:
        context["badge"] = _badge_urls(request, repository)
    return render(request, "dashboard/runs.html", context)


@login_required
@require_GET
def runs_live(request: HttpRequest, org: str, repo: str | None = None) -> HttpResponse:
    """The results part of a run list, or 304 if it has not changed."""
    organization, repository, jobs = _scope(request, org, repo)

    search = JobFilter(request.GET, queryset=jobs)
    if search.query is None:
        return _live_response(HttpResponse(status=204), '"invalid"', False)
    cursor = paging.Cursor.from_params(request.GET)
    window = paging.window(search.qs, cursor)
    state = list(window.values_list("pk", "status_change_time", "calculated_status"))
    etag = paging.fingerprint((pk, changed) for pk, changed, _ in state)
    shown = state[: paging.PAGE_SIZE]
    running = any(status in RUNNING_STATUSES for _, _, status in shown)
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return _live_response(not_modified, etag, running)

    context = _run_list(request, jobs)
    context.update(organization=organization, repository=repository)
    response = render(request, "dashboard/_runs_results.html", context)
    return _live_response(response, context["etag"], context["running"])


def _job_context(job: Job) -> dict[str, Any]:
    runners = attempts.runners_with_steps(job)
    return {
        "job": job,
        "organization": job.organization,
        "repository": job.repository,
        "explanation": explain(job, runners),
        "groups": attempts.group_attempts(runners),
        "runner_count": len(runners),
        "etag": attempts.fingerprint(job, attempts.state_rows(runners)),
        "running": job.is_running,
        "log_tail_chars": attempts.LOG_TAIL_CHARS,
    }


@login_required
@require_GET
def job_detail(request: HttpRequest, org: str, repo: str, number: int) -> HttpResponse:
    job = _get_job_for_user(request, org, repo, number)

    context = _job_context(job)
    context.update(
        live_url=reverse("dashboard:job_live", args=[org, job.repository.name, number]),
        live_interval=LIVE_INTERVAL_MS,
    )
    return render(request, "dashboard/job.html", context)


@login_required
@require_GET
def job_live(request: HttpRequest, org: str, repo: str, number: int) -> HttpResponse:
    """The live part of a run page, or 304 if it has not changed."""
    job = _get_job_for_user(request, org, repo, number)

    etag = attempts.fingerprint(job, attempts.load_state_rows(job))
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        return _live_response(not_modified, etag, job.is_running)

    context = _job_context(job)
    response = render(request, "dashboard/_job_live.html", context)
    return _live_response(response, context["etag"], job.is_running)


@login_required
@require_GET
def step_log(
    request: HttpRequest, org: str, repo: str, number: int, step: int
) -> HttpResponse:
    """One step's whole log, as plain text."""
    job = _get_job_for_user(request, org, repo, number)

    log = Step.objects.filter(pk=step, runner__job=job).values_list("log", flat=True)
    text = log.first()
    if text is None:
        raise Http404("No such step")

    return HttpResponse(text, content_type="text/plain; charset=utf-8")


# Badges --------------------------------------------------------------------

BADGE_WORDS = {
    CalculatedStatus.SUCCEEDED: "passing",
    CalculatedStatus.FAILURE: "failing",
    CalculatedStatus.RUNNER_CANCELLED: "cancelled",
    CalculatedStatus.RUNNER_ERROR: "error",
    CalculatedStatus.JOB_ERROR: "error",
    CalculatedStatus.BAD_LAYERFILE: "bad layerfile",
}


def badge_key(repository: Repository) -> str:
    """The secret part of a repository's badge URL.

    It is derived from SECRET_KEY and the repository's primary key, so it
    survives a rename and changes only when SECRET_KEY does.
    """
    return salted_hmac("dashboard.badge", str(repository.pk)).hexdigest()[:24]


def _badge_urls(request: HttpRequest, repository: Repository) -> dict[str, str]:
    path = reverse(
        "dashboard:badge", args=[repository.organization.name, repository.name]
    )
    query = urlencode(
        {"branch": repository.default_branch, "key": badge_key(repository)}
    )
    page = reverse(
        "dashboard:repository_runs",
        args=[repository.organization.name, repository.name],
    )
    return {
        "image": request.build_absolute_uri(f"{path}?{query}"),
        "page": request.build_absolute_uri(page),
    }


@require_GET
def badge(request: HttpRequest, org: str, repo: str) -> HttpResponse:
    """A status badge of a repository's branch, as SVG.

    Public to whoever has the URL with the repository's badge key, and to
    signed-in members; to anyone else it does not exist.
    """
    stored = stored_repository_name(repo)
    repository = (
        Repository.objects.select_related("organization")
        .filter(organization__name=org, name=stored)
        .first()
        if stored
        else None
    )
    if repository is None:
        raise Http404("No such repository")
    keyed = hmac.compare_digest(request.GET.get("key", ""), badge_key(repository))
    if not keyed and not (
        request.user.is_authenticated
        and repository.organization.memberships.filter(user=request.user.pk).exists()
    ):
        raise Http404("No such repository")

    branch = request.GET.get("branch") or repository.default_branch
    latest = (
        Job.objects.filter(
            repository=repository,
            branch=branch,
            calculated_status__in=list(DONE_STATUSES),
        )
        .order_by("-number")
        .values_list("number", "calculated_status")
        .first()
    )
    etag = f'"{latest[0]}-{latest[1]}"' if latest else '"none"'
    not_modified = get_conditional_response(request, etag=etag)
    if not_modified is not None:
        response = not_modified
    else:
        if latest is None:
            message, tone = "no runs", "wait"
        else:
            message, tone = (
                BADGE_WORDS[CalculatedStatus(latest[1])],
                look(latest[1]).tone,
            )
        svg = charts.badge("CI", message, tone)
        response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")

    response["ETag"] = etag
    patch_cache_control(response, no_cache=True, max_age=0)
    if not keyed:
        patch_cache_control(response, private=True)
    return response
