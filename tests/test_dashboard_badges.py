"""Status badges: /badge/<org>/<repo>.svg?branch=…&key=…"""

import pytest

from ciapp.statuses import RunnerStatus
from dashboard.views import badge_key
from tests.factories import finish, make_job, start_job

URL = "/badge/acme/webapp.svg"


@pytest.fixture
def key(repository) -> str:
    return badge_key(repository)


def finished(repository, status: RunnerStatus, **fields):
    job = make_job(repository, **fields)
    (runner,) = start_job(job)
    finish(runner, status)
    return job


def test_it_is_hidden_without_the_key(client, repository):
    finished(repository, RunnerStatus.SUCCESS)

    assert client.get(URL).status_code == 404
    assert client.get(URL, {"key": "0" * 24}).status_code == 404


def test_it_shows_the_latest_finished_run_of_the_default_branch(
    client, repository, key
):
    finished(repository, RunnerStatus.FAILURE)
    finished(repository, RunnerStatus.SUCCESS)
    make_job(repository)  # still new: not shown
    finished(repository, RunnerStatus.FAILURE, branch="dev")

    r = client.get(URL, {"key": key})

    assert r.status_code == 200
    assert r["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert r.text.startswith("<svg ")
    assert "CI: passing" in r.text
    assert "no-cache" in r["Cache-Control"]
    assert "private" not in r["Cache-Control"]


def test_it_shows_another_branch(client, repository, key):
    finished(repository, RunnerStatus.SUCCESS)
    finished(repository, RunnerStatus.FAILURE, branch="feature/x")

    r = client.get(URL, {"key": key, "branch": "feature/x"})

    assert "CI: failing" in r.text


@pytest.mark.parametrize(
    "status, word",
    [
        (RunnerStatus.ERROR, "error"),
        (RunnerStatus.CANCELLED, "cancelled"),
    ],
)
def test_it_words_each_outcome(client, repository, key, status, word):
    job = make_job(repository)
    (runner,) = start_job(job)
    runner.transition(status) if status == RunnerStatus.CANCELLED else finish(
        runner, status
    )

    assert f"CI: {word}" in client.get(URL, {"key": key}).text


def test_it_says_when_there_are_no_runs(client, repository, key):
    assert "CI: no runs" in client.get(URL, {"key": key}).text


def test_members_see_it_without_the_key(client, member, outsider, repository):
    finished(repository, RunnerStatus.SUCCESS)

    client.force_login(outsider)
    assert client.get(URL).status_code == 404

    client.force_login(member)
    r = client.get(URL)
    assert r.status_code == 200
    assert "private" in r["Cache-Control"]


def test_the_key_is_per_repository(client, repository, other_repository):
    other = badge_key(other_repository)

    assert other != badge_key(repository)
    assert client.get(URL, {"key": other}).status_code == 404
    assert client.get("/badge/globex/webapp.svg", {"key": other}).status_code == 200


def test_it_answers_304_while_the_status_stays(client, repository, key):
    finished(repository, RunnerStatus.SUCCESS)
    etag = client.get(URL, {"key": key})["ETag"]

    assert client.get(URL, {"key": key}, HTTP_IF_NONE_MATCH=etag).status_code == 304

    finished(repository, RunnerStatus.SUCCESS)
    assert client.get(URL, {"key": key}, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_it_uses_two_queries(client, repository, key, django_assert_num_queries):
    finished(repository, RunnerStatus.SUCCESS)

    # 1. the repository and its organization
    # 2. the newest finished run of the branch
    with django_assert_num_queries(2):
        client.get(URL, {"key": key})
