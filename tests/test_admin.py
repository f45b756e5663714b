"""The admin, for staff: what it shows, what it keeps read-only, and that no
list or change page makes a query per row."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ciapp.models import (
    ApiToken,
    Job,
    Membership,
    Organization,
    Repository,
    RepositorySecret,
    Runner,
)
from ciapp.statuses import RunnerStatus
from tests.factories import finish, make_job, start_job
from tests.test_dashboard_job import add_steps


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def grow(org: Organization, repository: Repository, n: int) -> Job:
    """Add n of everything: members, tokens, secrets, repositories, jobs with
    n runners, one of them with n steps. Returns the last job."""
    start = Membership.objects.count()
    for i in range(start, start + n):
        user = User.objects.create_user(f"user{i}")
        Membership.objects.create(organization=org, user=user)
        ApiToken.issue(org, f"token {i}")
        RepositorySecret.objects.create(repository=repository, name=f"S{i}", value="v")
        Repository.objects.create(organization=org, name=f"repo{i}", git_source="/x")
    for _ in range(n):
        job = make_job(repository, branch="main")
        runners = start_job(job, *[f"r{i}/Layerfile" for i in range(n)])
        finish(runners[0], RunnerStatus.FAILURE)
        runners[0].retry()
    add_steps(runners[0], *[(i, f"RUN step {i}", "SUCCESS", "ok\n") for i in range(n)])
    return job


def queries(client, url: str) -> int:
    client.get(url)  # warm the caches, of content types for one
    with CaptureQueriesContext(connection) as captured:
        r = client.get(url)
    assert r.status_code == 200, url
    return len(captured)


def pages(org, repository, job) -> list[str]:
    runner = job.runners.order_by("pk").first()
    token = ApiToken.objects.first()
    return [
        "/admin/ciapp/organization/",
        f"/admin/ciapp/organization/{org.pk}/change/",
        "/admin/ciapp/apitoken/",
        f"/admin/ciapp/apitoken/{token.pk}/change/",
        "/admin/ciapp/repository/",
        f"/admin/ciapp/repository/{repository.pk}/change/",
        "/admin/ciapp/job/",
        f"/admin/ciapp/job/?repository__id__exact={repository.pk}",
        "/admin/ciapp/job/?calculated_status__exact=FAILURE&branch=main",
        "/admin/ciapp/job/?q=failed+branch%3Amain",
        f"/admin/ciapp/job/{job.pk}/change/",
        "/admin/ciapp/runner/",
        f"/admin/ciapp/runner/{runner.pk}/change/",
    ]


def test_no_page_makes_a_query_per_row(staff_client, org, repository):
    job = grow(org, repository, 2)
    before = [queries(staff_client, url) for url in pages(org, repository, job)]

    job = grow(org, repository, 5)
    after = [queries(staff_client, url) for url in pages(org, repository, job)]

    assert after == before


def test_the_pages_have_pinned_budgets(staff_client, org, repository):
    job = grow(org, repository, 3)
    counts = {url: queries(staff_client, url) for url in pages(org, repository, job)}

    # Every page starts with 1. the session and 2. the user.
    assert list(counts.values()) == [
        # organizations: 3. count, 4. page with member and repository counts
        4,
        # organization: 3. it, 4. members with their users, 5. tokens; the
        # new member rows read nothing
        5,
        # tokens: 3. organizations for the filter, 4. count, 5. page with
        # their organizations
        5,
        # token: 3. it with its organization
        3,
        # repositories: 3. organizations for the filter, 4. count, 5. page
        # with their organizations
        5,
        # repository: 3. it with its organization, 4. secrets
        4,
        # jobs, unfiltered, of a repository, by status and branch, and found
        # with the search language: 3. repositories for the filter,
        # 4. branches for the filter, 5. count, 6. page with repositories
        # and organizations
        6,
        6,
        6,
        6,
        # job: 3. it with repository and organization, 4. runners
        4,
        # runners: 3. count, 4. page with jobs and repositories
        4,
        # runner: 3. it with job, repository and retried runner, 4. steps
        # with the length of their logs
        4,
    ]


def test_it_is_for_staff_only(client, member):
    client.force_login(member)

    r = client.get("/admin/ciapp/job/")

    assert r.status_code == 302
    assert r["Location"].startswith("/admin/login/")


def test_a_new_token_is_shown_once(staff_client, org):
    r = staff_client.post(
        "/admin/ciapp/apitoken/add/",
        {"organization": org.pk, "name": "deploy"},
        follow=True,
    )

    plain = re.search(r"The new token is (lci_\w+_[\w-]+)", r.text).group(1)
    token = ApiToken.authenticate(plain)
    assert token is not None and token.name == "deploy"
    page = staff_client.get(f"/admin/ciapp/apitoken/{token.pk}/change/")
    assert plain not in page.text
    assert token.key_id in page.text


def test_tokens_can_be_revoked(staff_client, org):
    token, plain = ApiToken.issue(org, "old")

    staff_client.post(
        "/admin/ciapp/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    assert ApiToken.authenticate(plain) is None


def test_members_are_added_on_the_organization_page(staff_client, org, member):
    newcomer = User.objects.create_user("newcomer")
    url = f"/admin/ciapp/organization/{org.pk}/change/"
    page = staff_client.get(url)
    prefixes = re.findall(r'name="(memberships[-\w]*)-TOTAL_FORMS"', page.text)
    data = {"name": "acme"}
    for prefix in prefixes:
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
            }
        )
    existing, new = prefixes
    data.update(
        {
            f"{existing}-TOTAL_FORMS": "1",
            f"{existing}-INITIAL_FORMS": "1",
            f"{existing}-0-id": str(Membership.objects.get(user=member).pk),
            f"{existing}-0-organization": str(org.pk),
            f"{existing}-0-role": "owner",
            f"{new}-TOTAL_FORMS": "1",
            f"{new}-0-user": str(newcomer.pk),
            f"{new}-0-role": "member",
            "tokens-TOTAL_FORMS": "0",
            "tokens-INITIAL_FORMS": "0",
        }
    )

    r = staff_client.post(url, data)

    assert r.status_code == 302, re.findall(r'class="errorlist[^>]*>(.*?)</ul>', r.text)
    roles = dict(org.memberships.values_list("user__username", "role"))
    assert roles == {"member": "owner", "newcomer": "member"}


def test_what_is_derived_is_read_only(staff_client, repository):
    job = make_job(repository, commit_title="Old title")
    url = f"/admin/ciapp/job/{job.pk}/change/"

    r = staff_client.post(
        url,
        {
            "commit_title": "New title",
            "commit_body": "",
            "commit_author": "Ada",
            "run_start_reason": "Manual",
            "run_start_reason_url": "",
            "number": "99",
            "status": "ERROR",
            "calculated_status": "SUCCEEDED",
            "uuid": "00000000-0000-0000-0000-000000000000",
            "runners-TOTAL_FORMS": "0",
            "runners-INITIAL_FORMS": "0",
        },
    )

    assert r.status_code == 302
    job.refresh_from_db()
    assert job.commit_title == "New title"
    assert (job.number, job.status, job.calculated_status) == (1, "NEW", "NEW")
    assert str(job.uuid) != "00000000-0000-0000-0000-000000000000"
    assert staff_client.get("/admin/ciapp/job/add/").status_code == 403
    assert staff_client.get("/admin/ciapp/runner/add/").status_code == 403


def test_the_job_page_links_to_the_dashboard(staff_client, repository):
    job = make_job(repository)

    r = staff_client.get(f"/admin/ciapp/job/{job.pk}/change/")

    assert 'href="/jobs/github/acme/webapp/1"' in r.text


def test_jobs_are_searched_with_the_dashboard_language(staff_client, repository):
    make_job(repository, commit_title="Add login", branch="main")
    make_job(repository, commit_title="Fix login", branch="dev")

    r = staff_client.get("/admin/ciapp/job/", {"q": "login branch:dev"})
    assert "Fix login" in r.text and "Add login" not in r.text

    r = staff_client.get("/admin/ciapp/job/", {"q": "status:bogus"})
    assert "status: expects one of" in r.text.lower()


def test_runners_show_their_steps(staff_client, repository):
    job = make_job(repository)
    (runner,) = start_job(job)
    add_steps(runner, (3, "RUN make test", "FAILURE", "boom\n"))

    r = staff_client.get(f"/admin/ciapp/runner/{runner.pk}/change/")

    assert "RUN make test" in r.text
    assert "5 characters" in r.text
    assert Runner.objects.get(pk=runner.pk).status == "NEW"


class TestRunControlActions:
    def test_staff_cancel_runs(self, client, staff, repository):
        from tests.factories import make_job, start_job

        job = make_job(repository)
        start_job(job, "a/Layerfile", "b/Layerfile")
        client.force_login(staff)

        r = client.post(
            "/admin/ciapp/job/",
            {"action": "cancel_runs", "_selected_action": [job.pk]},
            follow=True,
        )

        assert "Cancelled 2 runner(s)." in r.content.decode()
        job.refresh_from_db()
        assert job.calculated_status == "RUNNER_CANCELLED"

    def test_staff_retry_and_cancel_runners(self, client, staff, repository):
        from ciapp.statuses import RunnerStatus
        from tests.factories import finish, make_job, start_job

        job = make_job(repository)
        done, going = start_job(job, "a/Layerfile", "b/Layerfile")
        finish(done, RunnerStatus.FAILURE)
        client.force_login(staff)

        r = client.post(
            "/admin/ciapp/runner/",
            {"action": "retry_runners", "_selected_action": [done.pk, going.pk]},
            follow=True,
        )
        page = r.content.decode()
        assert "Retrying as a-2." in page
        assert "Not retried: b" in page

        r = client.post(
            "/admin/ciapp/runner/",
            {"action": "cancel_runners", "_selected_action": [going.pk]},
            follow=True,
        )
        assert "Cancelled 1 runner(s)." in r.content.decode()
        going.refresh_from_db()
        assert going.status == "CANCELLED"
