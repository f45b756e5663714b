"""The operator's management commands."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from ciapp.models import ApiToken, Job, Membership, Organization, Repository
from ciapp.statuses import DONE_STATUSES


def call(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


class TestAddRepository:
    def test_it_adds_a_repository_and_its_organization(self, db, source):
        out, _ = call(
            "add_repository",
            "newco/My.App",
            "--git",
            str(source.path),
            "--default-branch",
            "main",
        )

        repo = Repository.objects.get()
        assert (repo.organization.name, repo.name, repo.default_branch) == (
            "newco",
            "my-app",
            "main",
        )
        assert repo.git_source == str(source.path)
        assert out.strip() == "Added newco/my-app"

    def test_it_adds_to_an_existing_organization(self, org, source):
        call("add_repository", "acme/web", "--git", str(source.path))

        assert Repository.objects.get().organization == org

    @pytest.mark.parametrize(
        "args, message",
        [
            (["acme"], "Give the repository as ORG/NAME"),
            (["acme/a/b"], "Give the repository as ORG/NAME"),
            (["Bad Org!/web"], "Invalid organization"),
            (["acme/we$b"], "Invalid repository"),
            (["admin/web"], "a path of the service's own"),
            (["acme/web", "--default-branch", "a b"], "--default-branch"),
        ],
    )
    def test_it_refuses_bad_input(self, db, source, args, message):
        with pytest.raises(CommandError, match=message):
            call("add_repository", *args, "--git", str(source.path))
        assert not Organization.objects.exists()

    def test_it_checks_the_source(self, db, tmp_path):
        with pytest.raises(CommandError, match="could not reach"):
            call("add_repository", "acme/web", "--git", str(tmp_path / "none"))
        assert not Repository.objects.exists()

        call(
            "add_repository", "acme/web", "--git", str(tmp_path / "none"), "--no-check"
        )
        assert Repository.objects.exists()

    def test_it_refuses_a_duplicate(self, repository, source):
        with pytest.raises(CommandError, match="exists already"):
            call("add_repository", "acme/WebApp", "--git", str(source.path))


class TestCreateToken:
    def test_its_last_line_is_a_working_token(self, org):
        out, err = call("create_token", "acme")

        token = out.strip().splitlines()[-1]
        assert ApiToken.authenticate(token).organization == org
        assert "shown only now" in err

    def test_it_refuses_an_unknown_organization(self, db):
        with pytest.raises(CommandError, match="no organization 'nope'"):
            call("create_token", "nope")


class TestAddMember:
    def test_it_adds_a_member(self, org):
        user = User.objects.create_user("sam")

        call("add_member", "acme", "sam")

        assert Membership.objects.get(user=user).role == "member"

    def test_it_can_make_an_owner(self, org, member):
        call("add_member", "acme", "member", "--owner")

        assert Membership.objects.get(user=member).role == "owner"

    def test_the_user_must_exist(self, org):
        with pytest.raises(CommandError, match="no user 'ghost'"):
            call("add_member", "acme", "ghost")


class TestLoadDemo:
    def test_it_loads_a_history_and_starts_real_runs(self, db, settings, tmp_path):
        settings.DATA_DIR = tmp_path

        out, _ = call("load_demo", "--commits", "60")

        org = Organization.objects.get(name="acme")
        jobs = Job.objects.for_org(org)
        history = jobs.filter(run_start_reason__endswith="(generated demo history)")
        assert history.count() == 4 * 60
        statuses = set(history.values_list("calculated_status", flat=True))
        assert statuses == set(DONE_STATUSES)
        live = jobs.exclude(pk__in=history)
        assert [job.number for job in live] == [61] * 4
        assert {job.status for job in live} == {"NEW"}
        assert DBTaskResult.objects.filter(status="READY").count() == 4
        assert Repository.objects.filter(organization=org).count() == 4

        token = _token_line(out)
        assert ApiToken.authenticate(token).organization == org
        assert User.objects.get(username="admin").is_superuser
        member = Membership.objects.filter(organization=org, user__username="member")
        assert member.exists()

    def test_its_runs_point_at_real_commits(self, db, settings, tmp_path):
        from ciapp.git import Mirror

        settings.DATA_DIR = tmp_path
        call("load_demo", "--commits", "10")

        for job in Job.objects.filter(repository__name="web-store"):
            mirror = Mirror(job.repository_id, job.repository.git_source)
            commit = mirror.resolve(job.branch, job.commit_sha)
            assert (commit.sha, commit.title, commit.author) == (
                job.commit_sha,
                job.commit_title,
                job.commit_author,
            )

    def test_a_second_run_keeps_the_data_and_renews_the_logins(
        self, db, settings, tmp_path
    ):
        settings.DATA_DIR = tmp_path
        first, _ = call("load_demo", "--commits", "5")
        second, _ = call("load_demo", "--commits", "5")

        assert Job.objects.count() == 4 * (5 + 1)
        assert ApiToken.authenticate(_token_line(first)) is None
        assert ApiToken.authenticate(_token_line(second)) is not None


def _token_line(out: str) -> str:
    return next(line for line in out.splitlines() if "API token" in line).split()[-1]
