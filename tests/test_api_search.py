"""GET /api/v1/run/<repo>/search — the most recent job matching a search."""

import pytest

from ciapp.statuses import CalculatedStatus, JobStatus, RunnerStatus
from tests.factories import finish, make_job, start_job

URL = "/api/v1/run/webapp/search"


@pytest.fixture
def jobs(repository):
    first = make_job(repository, commit_title="Add login page", branch="main")
    second = make_job(repository, commit_title="Fix login redirect", branch="dev")
    (runner,) = start_job(second)
    finish(runner, RunnerStatus.FAILURE)
    third = make_job(repository, commit_title="Update docs", branch="main")
    return first, second, third


def test_it_returns_the_most_recent_job(client, token, jobs):
    r = client.get(URL, {"token": token})

    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    job = body["job"]
    assert list(job) == [
        "repository_name",
        "id",
        "uuid",
        "status",
        "status_change_time",
        "calculated_status",
        "commit_sha",
        "branch",
        "merge_branch",
        "run_start_reason",
        "run_start_reason_url",
    ]
    assert job["id"] == 3
    assert job["repository_name"] == "webapp"
    assert job["status"] == JobStatus.NEW
    assert job["status_change_time"].endswith(" +0000 UTC")


@pytest.mark.parametrize(
    "search, expected_id",
    [
        ("login", 2),
        ('"add login"', 1),
        ("login -redirect", 1),
        ("branch:main", 3),
        ("branch:main login", 1),
        ("failed", 2),
        ("status:failure", 2),
        ("running", 3),
        ("id:1", 1),
        ("repo:webapp done", 2),
        ("REPO:WebApp id:2", 2),
    ],
)
def test_it_filters(client, token, jobs, search, expected_id):
    r = client.get(URL, {"token": token, "search": search})

    assert r.status_code == 200, r.json()
    assert r.json()["job"]["id"] == expected_id


def test_it_says_when_nothing_matches(client, token, jobs):
    r = client.get(URL, {"token": token, "search": "nothing-like-this"})

    assert r.status_code == 404
    assert r.json() == {
        "status": "error",
        "error": "There are no runs in acme/webapp matching the given filters.",
    }


def test_it_explains_an_invalid_search(client, token, jobs):
    r = client.get(URL, {"token": token, "search": "status:bogus"})

    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "error"
    assert "bogus" in body["error"] and "succeeded" in body["error"]


def test_it_refuses_an_overlong_search(client, token, jobs):
    r = client.get(URL, {"token": token, "search": "x" * 1001})

    assert r.status_code == 400
    assert "1000" in r.json()["error"]


def test_it_finds_a_repository_by_its_unnormalised_name(client, token, jobs):
    r = client.get("/api/v1/run/WebApp/search", {"token": token})

    assert r.status_code == 200


def test_it_hides_another_organizations_repository(client, other_token, jobs):
    r = client.get(URL, {"token": other_token})

    assert r.status_code == 404
    assert r.json() == {
        "status": "error",
        "error": "There is no repository globex/webapp.",
    }


def test_it_looks_the_same_as_a_missing_repository(client, other_token, jobs):
    missing = client.get("/api/v1/run/nope/search", {"token": other_token})
    hidden = client.get(URL, {"token": other_token})

    assert missing.status_code == hidden.status_code == 404
    assert missing.json()["error"].replace("nope", "webapp") == hidden.json()["error"]


def test_it_refuses_other_methods(client, token, jobs):
    r = client.post(f"{URL}?token={token}")

    assert r.status_code == 405
    assert r["Allow"] == "GET"
    assert r.json()["status"] == "error"


def test_it_uses_a_fixed_number_of_queries(
    client, token, jobs, django_assert_num_queries
):
    from django.db import connection

    client.get(URL, {"token": token})  # the first use of a token records it

    # 1. the token, its organization and the repository
    # 2. on SQLite only: the text index's probe for the cheapest parts of "login"
    # 3. the newest matching job
    with django_assert_num_queries(3 if connection.vendor == "sqlite" else 2):
        r = client.get(URL, {"token": token, "search": "login -redirect branch:main"})
    assert r.status_code == 200


def test_a_job_error_reads_like_webappio(client, token, repository):
    make_job(
        repository, status=JobStatus.ERROR, error_kind="INTERNAL", error_message="x"
    )

    job = client.get(URL, {"token": token}).json()["job"]

    assert (job["status"], job["calculated_status"]) == (
        "ERROR",
        CalculatedStatus.JOB_ERROR,
    )


@pytest.mark.parametrize("name", ["we%00b", "we%01b", "-x", "%E2%80%8B"])
def test_names_no_repository_can_have_are_missing(client, token, repository, name):
    r = client.get(f"/api/v1/run/{name}/search", {"token": token})

    assert r.status_code == 404
    assert r.json()["error"].startswith("There is no repository acme/")
