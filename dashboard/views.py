"""Server-rendered pages: the run list with its search bar, and one run."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ciapp.models import Job, Organization, Repository
from ciapp.search import normalize_repository_name
from dashboard.filters import JobFilter

PAGE_SIZE = 50


def _organization_for_user(request: HttpRequest, name: str) -> Organization:
    """The named organization if the user is a member; else 404."""
    organization = Organization.objects.filter(
        name=name, memberships__user=request.user.pk
    ).first()
    if organization is None:
        raise Http404("No such organization")
    return organization


@login_required
def home(request: HttpRequest) -> HttpResponse:
    organizations = list(
        Organization.objects.filter(memberships__user=request.user.pk).order_by("name")
    )
    if len(organizations) == 1:
        return redirect("dashboard:runs", org=organizations[0].name)

    return render(request, "dashboard/home.html", {"organizations": organizations})


@login_required
def runs(request: HttpRequest, org: str, repo: str | None = None) -> HttpResponse:
    organization = _organization_for_user(request, org)
    repository = None
    jobs = Job.objects.for_org(organization)
    if repo is not None:
        repository = Repository.objects.filter(
            organization=organization, name=normalize_repository_name(repo)
        ).first()
        if repository is None:
            raise Http404("No such repository")
        jobs = jobs.filter(repository=repository)

    search = JobFilter(request.GET, queryset=jobs.select_related("repository"))
    page: list[Job] = []
    next_before = None
    if search.is_valid():
        rows = search.qs.order_by("-pk")
        before = request.GET.get("before", "")
        if before.isdigit():
            rows = rows.filter(pk__lt=int(before))
        page = list(rows[: PAGE_SIZE + 1])
        if len(page) > PAGE_SIZE:
            page = page[:PAGE_SIZE]
            next_before = page[-1].pk

    query = search.form.cleaned_data.get("q") if search.is_valid() else None
    return render(
        request,
        "dashboard/runs.html",
        {
            "organization": organization,
            "repository": repository,
            "search": search,
            "terms": query.describe() if query else [],
            "jobs": page,
            "next_before": next_before,
        },
    )


@login_required
def job_detail(request: HttpRequest, org: str, repo: str, number: int) -> HttpResponse:
    organization = _organization_for_user(request, org)
    job = (
        Job.objects.for_org(organization)
        .select_related("repository")
        .filter(repository__name=normalize_repository_name(repo), number=number)
        .first()
    )
    if job is None:
        raise Http404("No such run")
    runners = job.runners.prefetch_related("steps")

    return render(
        request,
        "dashboard/job.html",
        {"organization": organization, "job": job, "runners": runners},
    )
