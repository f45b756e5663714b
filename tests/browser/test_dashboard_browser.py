"""The dashboard in a real browser, against gunicorn with DEBUG off."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from ciapp.models import Membership, Organization, Repository, Step
from ciapp.statuses import RunnerStatus
from tests.factories import finish, make_job, start_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PASSWORD = "pw-browser-1"


@pytest.fixture
def repository(db) -> Repository:
    org = Organization.objects.create(name="acme")
    user = User.objects.create_user("ada", password=PASSWORD)
    Membership.objects.create(organization=org, user=user)
    return Repository.objects.create(
        organization=org, name="webapp", git_source="/nowhere"
    )


def sign_in(page, path: str = "/acme/") -> None:
    page.goto(path)
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")


def rows(page) -> list[str]:
    return page.locator("tr.run td.c-run a").all_inner_texts()


def test_search_then_follow_a_run_to_its_log(page, repository):
    make_job(repository, commit_title="Add login page", branch="main")
    make_job(repository, commit_title="Fix login redirect", branch="dev")
    failed = make_job(repository, commit_title="Speed up login", branch="main")
    web, e2e = start_job(failed, "Layerfile", "e2e/Layerfile")
    finish(web, RunnerStatus.SUCCESS)
    finish(e2e, RunnerStatus.FAILURE)
    Step.objects.create(
        runner=e2e, position=1, line=4, instruction="RUN npm test",
        status="FAILURE", log="$ npm test\n3 passing\n1 failing\n",
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    make_job(repository, commit_title="Update docs", branch="main")

    sign_in(page)
    assert rows(page) == ["#4", "#3", "#2", "#1"]

    page.fill("#q", "login branch:main")
    page.press("#q", "Enter")
    page.wait_for_url("**/acme/?q=login+branch%3Amain")
    assert rows(page) == ["#3", "#1"]
    assert page.input_value("#q") == "login branch:main"
    assert "branch is main" in page.inner_text(".terms")

    page.click("text=Speed up login")
    page.wait_for_url("**/jobs/github/acme/webapp/3")
    assert "Failed because runner e2e failed at line 4" in page.inner_text(".why")
    assert page.locator(".runner h3").all_inner_texts() == ["Layerfile", "e2e"]
    log = page.locator("pre.log")
    assert log.is_visible()  # the failing step is open
    assert "1 failing" in log.inner_text()
    page.click(".step summary:has-text('RUN npm test')")  # and closes when asked
    assert not log.is_visible()


def test_an_invalid_search_is_explained(page, repository):
    make_job(repository)
    sign_in(page)

    page.fill("#q", "status:bogus")
    page.press("#q", "Enter")

    alert = page.locator("[role=alert]")
    assert "status: expects one of" in alert.inner_text()
    assert "succeeded" in alert.inner_text()
    assert rows(page) == []
    assert page.locator("#search-help").get_attribute("open") is not None


def test_the_list_follows_a_running_job_without_reloading(page, repository):
    (older,) = start_job(make_job(repository, commit_title="Older"))
    finish(older, RunnerStatus.SUCCESS)
    job = make_job(repository, commit_title="Build me")
    (runner,) = start_job(job)
    runner.transition(RunnerStatus.RUNNING)
    sign_in(page)
    row = page.locator(f"#run-{job.pk} .status")
    assert "Running" in row.inner_text()
    page.evaluate("window.notReloaded = true")
    page.fill("#q", "typed but not sent")  # the search bar keeps what is typed
    page.click("#search-help summary")

    runner.transition(RunnerStatus.SUCCESS)

    page.wait_for_function(
        f"document.querySelector('#run-{job.pk} .status').textContent"
        ".includes('Succeeded')"
    )
    assert page.evaluate("window.notReloaded") is True
    assert page.input_value("#q") == "typed but not sent"
    assert page.locator("#search-help").get_attribute("open") is not None
    page.wait_for_selector("#runs[data-live-running=false]", state="attached")


def test_the_run_page_keeps_an_open_log_open_while_it_grows(page, repository):
    job = make_job(repository, commit_title="Long build")
    a, b = start_job(job, "a/Layerfile", "b/Layerfile")
    a.transition(RunnerStatus.RUNNING)
    b.transition(RunnerStatus.RUNNING)
    step = Step.objects.create(
        runner=a, position=1, line=2, instruction="RUN make", status="RUNNING",
        log="compiling 1\n", started_at=timezone.now(),
    )  # fmt: skip
    sign_in(page, "/jobs/github/acme/webapp/1")
    page.click(f"#log-{step.pk} summary")
    assert page.locator(f"#log-text-{step.pk}").is_visible()

    Step.objects.filter(pk=step.pk).update(log="compiling 1\ncompiling 2\n")
    page.wait_for_function(
        f"document.querySelector('#log-text-{step.pk}')?.textContent"
        ".includes('compiling 2')"
    )
    assert page.locator(f"#log-{step.pk}").get_attribute("open") is not None

    Step.objects.filter(pk=step.pk).update(status="SUCCESS", finished_at=timezone.now())
    a.transition(RunnerStatus.SUCCESS)
    b.transition(RunnerStatus.FAILURE)
    page.wait_for_function(
        "document.querySelector('.why').textContent.includes('Failed because')"
    )
    assert page.locator(f"#log-{step.pk}").get_attribute("open") is not None
    page.wait_for_selector("#job-live[data-live-running=false]", state="attached")


def test_the_list_fits_a_phone(browser, server_url, repository):
    for i in range(30):
        make_job(repository, commit_title=f"A fairly long commit title number {i}")
    context = browser.new_context(
        base_url=server_url, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    sign_in(page)

    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("tr.run").first.locator(".status").is_visible()
    context.close()
