"""One run: /jobs/github/<org>/<repo>/<id>, its live part and its step logs."""

import re

import pytest
from django.utils import timezone

from ciapp.models import Job, Runner, Step
from ciapp.statuses import JobErrorKind, JobStatus, RunnerStatus, StepStatus
from dashboard import attempts
from tests.factories import finish, make_job, start_job

URL = "/jobs/github/acme/webapp/1"
LIVE = URL + "/-/live"


def add_steps(runner: Runner, *steps: tuple[int, str, str, str]) -> list[Step]:
    """Steps of (line, instruction, status, log)."""
    now = timezone.now()
    return [
        Step.objects.create(
            runner=runner,
            position=position,
            line=line,
            instruction=instruction,
            status=status,
            log=log,
            started_at=now,
            finished_at=None if status in ("NEW", "RUNNING") else now,
            exit_code=1 if status == "FAILURE" else None,
        )
        for position, (line, instruction, status, log) in enumerate(steps, 1)
    ]


@pytest.fixture
def failed_job(repository) -> Job:
    """web and e2e runners; e2e-2 failed at line 4, retrying e2e."""
    job = make_job(
        repository,
        commit_title="Speed up search",
        commit_body="Measured: 840 ms -> 95 ms.",
        branch="main",
    )
    web, e2e = start_job(job, "Layerfile", "e2e/Layerfile")
    finish(web, RunnerStatus.SUCCESS)
    add_steps(web, (1, "FROM vm/ubuntu:22.04", "SUCCESS", ""))
    finish(e2e, RunnerStatus.FAILURE)
    add_steps(e2e, (1, "FROM /Layerfile", "SUCCESS", ""))
    again = e2e.retry()
    finish(again, RunnerStatus.FAILURE)
    add_steps(
        again,
        (1, "FROM /Layerfile", "SUCCESS", ""),
        (4, "RUN npm test", "FAILURE", "$ npm test\n<b>1 failing</b>\n"),
        (5, "RUN echo never", "NEW", ""),
    )
    return job


def test_it_sends_anonymous_users_to_sign_in(client, failed_job):
    r = client.get(URL)

    assert r.status_code == 302
    assert r["Location"].startswith("/login/?next=")


def test_it_hides_the_run_from_outsiders(client, outsider, failed_job):
    client.force_login(outsider)

    assert client.get(URL).status_code == 404
    assert client.get(LIVE).status_code == 404


def test_it_hides_the_run_from_staff_who_are_not_members(client, staff, failed_job):
    client.force_login(staff)

    assert client.get(URL).status_code == 404


def test_it_404s_on_a_missing_run(member_client, failed_job):
    assert member_client.get("/jobs/github/acme/webapp/2").status_code == 404
    assert member_client.get("/jobs/github/acme/nope/1").status_code == 404


def test_the_api_url_is_the_page(member_client, failed_job):
    assert failed_job.path() == URL
    assert member_client.get(failed_job.path()).status_code == 200


def test_it_shows_the_job(member_client, failed_job):
    r = member_client.get(URL)

    html = r.text
    assert "Speed up search" in html
    assert "Measured: 840 ms -&gt; 95 ms." in html
    assert failed_job.commit_sha in html
    assert "Ada Lovelace" in html
    assert "Manual run created by API" in html
    assert ">main<" in html
    assert str(failed_job.uuid) in html
    for label in ("Created", "Started", "Finished", "Duration"):
        assert f"<dt>{label}</dt>" in html


def test_it_says_which_runner_decided_the_status(member_client, failed_job):
    r = member_client.get(URL)

    why = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", r.text))
    assert "Failed because runner e2e-2 failed at line 4." in why
    assert "RUN npm test" in why


def test_it_shows_every_runner_with_steps_and_logs(member_client, failed_job):
    r = member_client.get(URL)

    html = r.text
    assert html.count('class="runner ') == 3  # web, and e2e twice
    assert html.count('<span class="tag">retried</span>') == 1
    assert "1 earlier attempt of e2e, retried" in html
    assert "index 2" in html
    assert "line 4" in html
    # The failing step's log is open, and escaped.
    step = Step.objects.get(instruction="RUN npm test")
    assert f'<details id="log-{step.pk}" open>' in html
    assert "&lt;b&gt;1 failing&lt;/b&gt;" in html
    assert "Not run" in html  # a step after the failure


def test_it_explains_a_bad_layerfile(member_client, repository):
    job = make_job(repository)
    job.set_status(
        JobStatus.ERROR,
        error_kind=JobErrorKind.LAYERFILE,
        error_message="Layerfile:3: not an instruction: 'EXPOSE 3000'",
    )

    r = member_client.get(URL)

    assert "A Layerfile is invalid or missing." in r.text
    assert "Layerfile:3: not an instruction: &#x27;EXPOSE 3000&#x27;" in r.text
    assert "This run has no runners." in r.text


def test_it_says_what_is_still_running(member_client, repository):
    job = make_job(repository)
    a, b = start_job(job, "a/Layerfile", "b/Layerfile")
    a.transition(RunnerStatus.RUNNING)
    add_steps(a, (2, "RUN make", "RUNNING", "building\n"))

    r = member_client.get(URL)

    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", r.text))
    assert "runner a is running line 2" in text
    assert "runner b is queued for a worker" in text
    assert 'data-live-running="true"' in r.text
    assert "data-since=" in r.text  # a duration that counts on


def test_it_shows_the_end_of_a_long_log(member_client, repository, monkeypatch):
    monkeypatch.setattr(attempts, "LOG_TAIL_CHARS", 10)
    job = make_job(repository)
    (runner,) = start_job(job)
    finish(runner, RunnerStatus.SUCCESS)
    (step,) = add_steps(runner, (2, "RUN seq", "SUCCESS", "first\n" + "x" * 20 + "END"))

    r = member_client.get(URL)

    assert "xxxxxxxEND</pre>" in r.text
    assert "first" not in r.text
    assert f'href="/jobs/github/acme/webapp/1/steps/{step.pk}.log">Whole log' in r.text


def test_it_serves_a_whole_log_as_text(client, member, outsider, failed_job):
    step = Step.objects.get(instruction="RUN npm test")
    url = f"{URL}/steps/{step.pk}.log"

    client.force_login(member)
    r = client.get(url)
    assert r.status_code == 200
    assert r["Content-Type"] == "text/plain; charset=utf-8"
    assert r.content == b"$ npm test\n<b>1 failing</b>\n"

    other = make_job(failed_job.repository)
    assert client.get(f"{other.path()}/steps/{step.pk}.log").status_code == 404

    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_it_uses_a_fixed_number_of_queries(
    member_client, failed_job, django_assert_num_queries
):
    # 1. the session
    # 2. the user
    # 3. the job, its repository and organization, if the user is a member
    # 4. its runners
    # 5. their steps, with only the end of each log
    with django_assert_num_queries(5):
        member_client.get(URL)

    (more,) = start_job(
        make_job(failed_job.repository), *[f"{i}/Layerfile" for i in range(6)]
    )[:1]
    add_steps(more, *[(i, f"RUN step {i}", "SUCCESS", "ok\n") for i in range(10)])
    with django_assert_num_queries(5):
        member_client.get("/jobs/github/acme/webapp/2")


# The live part --------------------------------------------------------------


def test_the_live_part_answers_304_until_something_changes(
    member_client, repository, django_assert_num_queries
):
    job = make_job(repository)
    (runner,) = start_job(job)
    runner.transition(RunnerStatus.RUNNING)
    (step,) = add_steps(runner, (2, "RUN make", "RUNNING", "one\n"))
    page = member_client.get(URL)
    etag = re.search(r'data-live-etag="([^"]+)"', page.text).group(1)
    etag = etag.replace("&quot;", '"')

    # 1. the session
    # 2. the user
    # 3. the job, if the user is a member
    # 4. the state of its runners and steps, with the length of running logs
    with django_assert_num_queries(4):
        r = member_client.get(LIVE, HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 304
    assert r["X-Live-Running"] == "1"

    # A running step's log grows.
    Step.objects.filter(pk=step.pk).update(log="one\ntwo\n")
    r = member_client.get(LIVE, HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 200
    assert "one\ntwo\n</pre>" in r.text
    assert "<html" not in r.text
    etag = r["ETag"]

    # The runner finishes.
    Step.objects.filter(pk=step.pk).update(status=StepStatus.SUCCESS)
    runner.transition(RunnerStatus.SUCCESS)
    r = member_client.get(LIVE, HTTP_IF_NONE_MATCH=etag)
    assert r.status_code == 200
    assert r["X-Live-Running"] == "0"
    assert "Succeeded: its one runner passed." in r.text


def test_a_finished_run_does_not_poll(member_client, failed_job):
    r = member_client.get(URL)

    assert 'data-live-running="false"' in r.text


def test_the_page_and_its_live_part_agree_on_the_etag(member_client, failed_job):
    page = member_client.get(URL)
    etag = re.search(r'data-live-etag="([^"]+)"', page.text).group(1)

    r = member_client.get(LIVE)

    assert r["ETag"] == etag.replace("&quot;", '"')


def test_a_run_waiting_for_a_button_says_so(member_client, repository):
    from ciapp.models import Step
    from ciapp.statuses import RunnerStatus
    from tests.factories import make_job, start_job

    job = make_job(repository)
    (runner,) = start_job(job)
    runner.transition(RunnerStatus.RUNNING)
    Step.objects.create(
        runner=runner, position=1, line=3, instruction="BUTTON Ship?", status="RUNNING"
    )

    text = member_client.get(job.path()).content.decode()

    assert "waits at line 3 for its BUTTON" in text
