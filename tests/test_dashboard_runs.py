"""The run list of an organization and of a repository: /<org>/, /<org>/<repo>/."""

import re

import pytest
from django.contrib.auth.models import User

from ciapp.models import Membership, Repository
from ciapp.statuses import RunnerStatus
from dashboard import paging
from tests.factories import finish, make_job, start_job

URL = "/acme/"


def numbers(response) -> list[int]:
    """The run numbers in a run list, top to bottom."""
    return [int(n) for n in re.findall(r'aria-label="Run \S+ #(\d+)"', response.text)]


@pytest.fixture
def jobs(repository):
    first = make_job(repository, commit_title="Add login page", branch="main")
    second = make_job(
        repository,
        commit_title="Fix login redirect",
        branch="dev",
        commit_author="Grace Hopper",
    )
    (runner,) = start_job(second)
    finish(runner, RunnerStatus.FAILURE)
    third = make_job(repository, commit_title="Update docs", branch="main")
    return first, second, third


@pytest.fixture
def second_repository(org, source):
    return Repository.objects.create(
        organization=org, name="api", git_source=str(source.path)
    )


def test_it_sends_anonymous_users_to_sign_in(client, jobs):
    r = client.get(URL)

    assert r.status_code == 302
    assert r["Location"] == "/login/?next=/acme/"


def test_it_hides_the_organization_from_outsiders(client, outsider, jobs):
    client.force_login(outsider)

    assert client.get(URL).status_code == 404
    assert client.get("/acme/webapp/").status_code == 404
    assert client.get("/acme/-/live").status_code == 404


def test_it_hides_it_from_staff_who_are_not_members(client, staff, jobs):
    client.force_login(staff)

    assert client.get(URL).status_code == 404


def test_it_shows_a_member_every_column(member_client, jobs):
    r = member_client.get(URL)

    assert r.status_code == 200
    assert numbers(r) == [3, 2, 1]
    html = r.text
    assert "Failed" in html and "tone-bad" in html  # a word, not colour alone
    assert 'href="/jobs/github/acme/webapp/2"' in html
    assert 'href="/acme/webapp/"' in html
    assert "Fix login redirect" in html
    assert ">9abc2ac<" in html
    assert "Grace Hopper" in html
    assert "Manual run created by API" in html
    assert re.search(r'<time datetime="[^"]+" title="\d{4}-\d\d-\d\d [^"]+ UTC"', html)
    assert ">dev<" in html


def test_it_404s_on_an_unknown_repository(member_client, jobs):
    assert member_client.get("/acme/nope/").status_code == 404
    assert member_client.get("/nope/").status_code == 404


def test_it_lists_one_repository(member_client, jobs, second_repository):
    make_job(second_repository, commit_title="Elsewhere")

    r = member_client.get("/acme/webapp/")

    assert numbers(r) == [3, 2, 1]
    assert "Elsewhere" not in r.text
    assert 'class="c-repo"' not in r.text  # no repository column
    assert "Elsewhere" in member_client.get(URL).text


def test_it_normalises_the_repository_name(member_client, jobs):
    assert member_client.get("/acme/WebApp/").status_code == 200


@pytest.mark.parametrize(
    "q, expected",
    [
        ("", [3, 2, 1]),
        ("login", [2, 1]),
        ('"add login"', [1]),
        ("login -redirect", [1]),
        ("branch:main", [3, 1]),
        ("failed", [2]),
        ("status:failure", [2]),
        ("running", [3, 1]),
        ("id:2", [2]),
        ("repo:webapp done", [2]),
        ("grace", [2]),
        ("repo:other", []),
    ],
)
def test_it_searches(member_client, jobs, q, expected):
    r = member_client.get(URL, {"q": q})

    assert r.status_code == 200
    assert numbers(r) == expected


def test_it_keeps_the_query_in_the_bar_and_shows_the_terms(member_client, jobs):
    r = member_client.get(URL, {"q": 'branch:main "add login"'})

    assert 'value="branch:main &quot;add login&quot;"' in r.text
    assert "branch is main" in r.text
    assert "commit text contains “add login”" in r.text


def test_it_explains_an_invalid_query_instead_of_listing(member_client, jobs):
    r = member_client.get(URL, {"q": "login status:bogus"})

    assert r.status_code == 200
    assert numbers(r) == []
    assert 'role="alert"' in r.text
    assert "status: expects one of" in r.text
    assert "succeeded" in r.text  # the valid choices
    assert "<mark>status:bogus</mark>" in r.text
    assert 'aria-invalid="true"' in r.text
    assert "data-live-url" not in r.text


def test_it_says_why_the_list_is_empty(member_client, repository):
    r = member_client.get(URL)
    assert "No runs yet." in r.text

    make_job(repository)
    r = member_client.get(URL, {"q": "nothing-like-this"})
    assert "No runs match this search." in r.text


def test_it_pages_back_and_forth_through_the_whole_history(
    member_client, repository, monkeypatch
):
    monkeypatch.setattr(paging, "PAGE_SIZE", 4)
    for i in range(11):
        make_job(repository, commit_title=f"Change {i}")

    seen: list[int] = []
    url = URL
    pages = []
    while url:
        r = member_client.get(url)
        pages.append(numbers(r))
        seen += numbers(r)
        older = re.search(r'rel="next" href="([^"]+)"', r.text)
        url = URL + older.group(1).replace("&amp;", "&") if older else ""

    assert pages == [[11, 10, 9, 8], [7, 6, 5, 4], [3, 2, 1]]
    assert seen == list(range(11, 0, -1))

    # And back: "Newer" from the last page, then to the newest page.
    newer = re.search(r'rel="prev" href="([^"]+)"', r.text).group(1)
    r = member_client.get(URL + newer.replace("&amp;", "&"))
    assert numbers(r) == [7, 6, 5, 4]
    newer = re.search(r'rel="prev" href="([^"]+)"', r.text).group(1)
    r = member_client.get(URL + newer.replace("&amp;", "&"))
    assert r.status_code == 302  # the newest page has a URL of its own
    assert r["Location"] == URL + "?"
    assert numbers(member_client.get(r["Location"])) == [11, 10, 9, 8]


def test_it_keeps_the_search_while_paging(member_client, repository, monkeypatch):
    monkeypatch.setattr(paging, "PAGE_SIZE", 2)
    for i in range(6):
        make_job(repository, branch="main" if i % 2 else "dev")

    r = member_client.get(URL, {"q": "branch:main"})
    assert numbers(r) == [6, 4]
    older = re.search(r'rel="next" href="\?([^"]+)"', r.text).group(1)
    assert "q=branch%3Amain" in older

    r = member_client.get(URL + "?" + older.replace("&amp;", "&"))
    assert numbers(r) == [2]
    assert 'value="branch:main"' in r.text


def test_it_does_not_shift_pages_when_runs_arrive(member_client, repository):
    for _ in range(3):
        make_job(repository)
    first = member_client.get(URL)

    make_job(repository)
    before = re.search(r'id="run-(\d+)"', first.text).group(1)
    r = member_client.get(URL, {"before": int(before) + 1})

    assert numbers(r) == [3, 2, 1]


def test_it_ignores_a_cursor_that_is_not_a_number(member_client, jobs):
    assert numbers(member_client.get(URL, {"before": "x"})) == [3, 2, 1]
    assert numbers(member_client.get(URL, {"after": "-1"})) == [3, 2, 1]


def test_it_says_when_there_is_nothing_older(member_client, jobs):
    r = member_client.get(URL, {"before": 1})

    assert "No older runs." in r.text
    assert "Newest" in r.text


def test_it_draws_the_repositories(member_client, jobs, second_repository):
    r = member_client.get(URL)

    assert r.text.count('<svg class="strip"') == 1  # api has no runs yet
    assert "Last 3 runs: 2 new, 1 failed" in r.text
    assert '<svg class="spark"' not in r.text  # one finished run is no line
    assert ">no runs<" in r.text


def test_it_offers_a_badge_on_the_repository_page(member_client, jobs):
    r = member_client.get("/acme/webapp/")

    assert re.search(r"/badge/acme/webapp.svg\?branch=master&amp;key=\w+", r.text)


def test_it_uses_a_fixed_number_of_queries(
    member_client, repository, second_repository, django_assert_num_queries
):
    made = [make_job(repository if i % 2 else second_repository) for i in range(30)]
    member_client.get(URL)

    # 1. the session
    # 2. the user
    # 3. the organization, if the user is a member
    # 4. the page of runs, with their repositories
    # 5. the organization's repositories
    # 6. their latest runs, for the pictures
    with django_assert_num_queries(6):
        r = member_client.get(URL)
    assert len(numbers(r)) == 30

    with django_assert_num_queries(6):
        r = member_client.get(URL, {"q": "running", "before": made[20].pk})
    assert len(numbers(r)) == 20


def test_the_repository_list_uses_a_fixed_number_of_queries(
    member_client, repository, django_assert_num_queries
):
    for _ in range(12):
        make_job(repository)

    # 1. the session
    # 2. the user
    # 3. the repository and its organization, if the user is a member
    # 4. the page of runs
    # 5. the latest runs, for the pictures
    with django_assert_num_queries(5):
        member_client.get("/acme/webapp/")


def test_an_invalid_search_costs_no_query_for_runs(
    member_client, jobs, django_assert_num_queries
):
    # 1. the session  2. the user  3. the organization
    # 4. the repositories  5. their latest runs
    with django_assert_num_queries(5):
        member_client.get(URL, {"q": "id:x"})


# The live twin: /<org>/-/live ------------------------------------------------


def test_it_polls_only_while_something_runs(member_client, jobs, repository):
    r = member_client.get(URL)
    assert 'data-live-running="true"' in r.text

    r = member_client.get(URL, {"q": "done"})
    assert 'data-live-running="false"' in r.text


def test_the_live_part_answers_304_until_something_changes(member_client, jobs):
    first, second, third = jobs
    page = member_client.get(URL)
    etag = re.search(r'data-live-etag="([^"]+)"', page.text).group(1)
    etag = etag.replace("&quot;", '"')

    r = member_client.get("/acme/-/live", HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 304
    assert r["X-Live-Running"] == "1"
    assert r["ETag"] == etag

    (runner,) = start_job(third)
    r = member_client.get("/acme/-/live", HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 200
    assert r["ETag"] != etag
    assert "<html" not in r.text  # only the results
    assert f'id="run-{third.pk}"' in r.text
    assert "Running" in r.text


def test_the_live_part_keeps_the_search_and_page(member_client, jobs):
    r = member_client.get("/acme/-/live", {"q": "branch:dev"})

    assert numbers(r) == [2]
    assert r["X-Live-Running"] == "0"


def test_the_live_part_of_an_invalid_search_is_empty(member_client, jobs):
    r = member_client.get("/acme/-/live", {"q": "id:x"})

    assert r.status_code == 204
    assert r["X-Live-Running"] == "0"


def test_the_live_part_is_cheap_when_nothing_changed(
    member_client, jobs, django_assert_num_queries
):
    etag = member_client.get("/acme/-/live")["ETag"]

    # 1. the session
    # 2. the user
    # 3. the organization, if the user is a member
    # 4. the keys and status change times of the page's runs
    with django_assert_num_queries(4):
        r = member_client.get("/acme/-/live", HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 304


def test_a_new_member_sees_the_organization(client, org, jobs):
    user = User.objects.create_user("newcomer")
    client.force_login(user)
    assert client.get(URL).status_code == 404

    Membership.objects.create(organization=org, user=user)
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/acme/we%00b/",
        "/jobs/github/acme/we%00b/1",
        "/jobs/github/acme/webapp/99999999999",
        "/badge/acme/we%00b.svg",
    ],
)
def test_impossible_names_and_numbers_are_missing(member_client, repository, path):
    assert member_client.get(path).status_code == 404


def test_the_overview_draws_each_runs_duration(repository, member_client):
    from datetime import timedelta

    from django.utils import timezone

    from ciapp.models import Job
    from dashboard.views import RunSeconds

    now = timezone.now().replace(microsecond=250000)
    durations = {}
    for seconds, started in [(30, True), (95.5, True), (61, True), (10, False)]:
        job = make_job(repository)
        Job.objects.filter(pk=job.pk).update(
            created_at=now - timedelta(seconds=500),
            started_at=now - timedelta(seconds=seconds) if started else None,
            finished_at=now,
        )
        if not started:  # from its creation, then
            durations[job.pk] = 500.0
        else:
            durations[job.pk] = float(seconds)
    running = make_job(repository)  # not finished: no duration
    durations[running.pk] = None

    measured = dict(Job.objects.annotate(s=RunSeconds()).values_list("pk", "s"))
    for pk, expected in durations.items():
        if expected is None:
            assert measured[pk] is None
        else:
            assert measured[pk] == pytest.approx(expected, abs=0.01)

    page = member_client.get(URL).text
    assert (
        "Durations of the last 4 finished runs: median 1m 18s, longest 8m 20s, "
        "latest 8m 20s" in page
    )
