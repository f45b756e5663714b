"""Pages work under the Content-Security-Policy: nothing is refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from ciapp.models import Membership, Organization, Repository, Step
from ciapp.statuses import RunnerStatus
from tests.factories import finish, make_job, start_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

PASSWORD = "pw-browser-2"


@pytest.fixture
def job(db):
    org = Organization.objects.create(name="acme")
    boss = User.objects.create_superuser("boss", password=PASSWORD)
    Membership.objects.create(organization=org, user=boss)
    repository = Repository.objects.create(
        organization=org, name="webapp", git_source="/x"
    )
    job = make_job(repository, commit_title="Ship it")
    (runner,) = start_job(job)
    finish(runner, RunnerStatus.FAILURE)
    Step.objects.create(
        runner=runner,
        position=1,
        line=2,
        instruction="RUN false",
        status="FAILURE",
        log="nope\n",
    )
    return job


@pytest.fixture
def strict_page(browser, server_url):
    """A page that obeys the Content-Security-Policy, unlike ``page``."""
    context = browser.new_context(base_url=server_url)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_no_page_breaks_the_policy(strict_page, job):
    page = strict_page
    refused = []
    page.on(
        "console",
        lambda m: (
            refused.append(m.text) if "Content Security Policy" in m.text else None
        ),
    )

    page.goto("/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/acme/")
    headers = page.goto(job.path()).headers
    for path in [
        "/acme/?q=failed",
        "/admin/",
        "/admin/ciapp/job/",
        f"/admin/ciapp/job/{job.pk}/change/",
        "/admin/ciapp/runner/",
        "/admin/ciapp/organization/1/change/",
        "/admin/ciapp/apitoken/add/",
    ]:
        assert page.goto(path).status == 200, path

    assert refused == []
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
