"""Queries against real rows: query -> which jobs match, on SQLite and PostgreSQL."""

import pytest

from ciapp.models import Job, Repository
from ciapp.search import InvalidQuery
from ciapp.statuses import JobErrorKind, JobStatus, RunnerStatus
from dashboard.filters import JobFilter
from tests.factories import finish, make_job, start_job


@pytest.fixture
def corpus(org):
    """Six jobs in two repositories, named by what makes them different."""
    web = Repository.objects.create(organization=org, name="web", git_source="/x")
    api = Repository.objects.create(organization=org, name="api", git_source="/x")
    jobs = {}
    jobs["login"] = make_job(
        web,
        commit_title="Add login page",
        commit_body="Uses OAuth.",
        branch="main",
        commit_author="Ada Lovelace",
    )
    jobs["docs"] = make_job(
        web,
        commit_title="fix: typo in docs",
        commit_body="",
        branch="Main",
        commit_author="Grace Hopper",
    )
    failing = make_job(
        api,
        commit_title="Layer cache for CI",
        branch="main",
        commit_author="Alan Turing",
    )
    (runner,) = start_job(failing)
    finish(runner, RunnerStatus.FAILURE)
    jobs["failing"] = failing
    passing = make_job(
        api,
        commit_title="Speed up exact text search",
        branch="release 1",
        commit_author="Ada Lovelace",
    )
    (runner,) = start_job(passing)
    finish(runner, RunnerStatus.SUCCESS)
    jobs["passing"] = passing
    jobs["bad"] = make_job(
        api,
        commit_title="Break the Layerfile",
        branch="main",
        status=JobStatus.ERROR,
        error_kind=JobErrorKind.LAYERFILE,
        commit_author="Linus",
    )
    jobs["percent"] = make_job(
        web, commit_title="Show 100% coverage_report", branch="dev", commit_author="Ken"
    )
    return jobs


CASES = [
    ("", {"login", "docs", "failing", "passing", "bad", "percent"}),
    ("login", {"login"}),
    ("LOGIN", {"login"}),
    ("oauth", {"login"}),
    ("ada", {"login", "passing"}),
    ('"exact text"', {"passing"}),
    ('"text exact"', set()),
    ("exact text", {"passing"}),
    ("-layer", {"login", "docs", "passing", "percent"}),
    ('-"ada lovelace"', {"docs", "failing", "bad", "percent"}),
    ("fix:", {"docs"}),
    ("fix: typo", {"docs"}),
    ("100%", {"percent"}),
    ("coverage_report", {"percent"}),
    ("_", {"percent"}),
    ("repo:web", {"login", "docs", "percent"}),
    ("repo:API", {"failing", "passing", "bad"}),
    ("-repo:web", {"failing", "passing", "bad"}),
    ("branch:main", {"login", "failing", "bad"}),
    ("branch:Main", {"docs"}),
    ('branch:"release 1"', {"passing"}),
    ("-branch:main", {"docs", "passing", "percent"}),
    ("id:1", {"login", "failing"}),
    ("id:1 repo:api", {"failing"}),
    ("id:99", set()),
    ("status:failure", {"failing"}),
    ("status:SUCCEEDED", {"passing"}),
    ("-status:new", {"failing", "passing", "bad"}),
    ("running", {"login", "docs", "percent"}),
    ("done", {"failing", "passing", "bad"}),
    ("failed", {"failing", "bad"}),
    ("-failed", {"login", "docs", "passing", "percent"}),
    ("done -failed", {"passing"}),
    ('"failed"', set()),
    ("running done", set()),
    ("ada repo:api done", {"passing"}),
    (
        'text to find in commit body "exact text" -layer -ci repo:layer-example-repo '
        "branch:main id:10 status:running done running failed",
        set(),
    ),
]


@pytest.mark.parametrize("query, expected", CASES)
def test_it_finds_exactly_the_matching_jobs(corpus, query, expected):
    found = set(Job.objects.matching(query).values_list("pk", flat=True))

    assert found == {corpus[name].pk for name in expected}


@pytest.mark.parametrize("query, expected", CASES)
def test_the_filterset_agrees(corpus, org, query, expected):
    search = JobFilter({"q": query}, queryset=Job.objects.for_org(org))

    assert search.is_valid()
    assert set(search.qs.values_list("pk", flat=True)) == {
        corpus[n].pk for n in expected
    }


@pytest.mark.parametrize(
    "query", ["status:bogus", "id:abc", 'branch:"x', "branch:a branch:b", "id:"]
)
def test_the_filterset_explains_invalid_queries(corpus, org, query):
    search = JobFilter({"q": query}, queryset=Job.objects.for_org(org))

    assert not search.is_valid()
    message = search.errors["q"][0]
    with pytest.raises(InvalidQuery) as e:
        Job.objects.matching(query)
    assert message == e.value.message
