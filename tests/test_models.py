from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ciapp.models import (
    ApiToken,
    InvalidTransition,
    Job,
    Repository,
    Runner,
    format_go_time,
)
from ciapp.statuses import (
    RUNNER_TRANSITIONS,
    CalculatedStatus,
    JobErrorKind,
    JobStatus,
    RunnerStatus,
    calculate_status,
)
from tests.factories import finish, make_job, start_job


@pytest.mark.parametrize(
    "value, expected",
    [
        (
            datetime(2020, 5, 5, 5, 11, 44, 179550, UTC),
            "2020-05-05 05:11:44.17955 +0000 UTC",
        ),
        (
            datetime(2000, 1, 1, 1, 23, 45, 123456, UTC),
            "2000-01-01 01:23:45.123456 +0000 UTC",
        ),
        (datetime(2000, 1, 1, 1, 23, 45, 0, UTC), "2000-01-01 01:23:45 +0000 UTC"),
        (
            datetime(2000, 1, 1, 1, 23, 45, 100000, UTC),
            "2000-01-01 01:23:45.1 +0000 UTC",
        ),
        (
            datetime(2000, 1, 1, 1, 23, 45, 1, UTC),
            "2000-01-01 01:23:45.000001 +0000 UTC",
        ),
    ],
)
def test_it_formats_times_like_go(value, expected):
    assert format_go_time(value) == expected


def test_it_formats_other_zones_in_utc():
    from zoneinfo import ZoneInfo

    value = datetime(2020, 5, 5, 7, 11, 44, tzinfo=ZoneInfo("Europe/Berlin"))
    assert format_go_time(value) == "2020-05-05 05:11:44 +0000 UTC"


class TestTokens:
    def test_it_stores_only_a_digest(self, org):
        token, plain = ApiToken.issue(org, "ci")
        assert plain.startswith("lci_")
        assert plain not in token.digest
        assert token.key_id in plain
        assert ApiToken.authenticate(plain) == token

    def test_it_rejects_a_changed_secret(self, org):
        _, plain = ApiToken.issue(org)
        assert (
            ApiToken.authenticate(plain[:-1] + ("x" if plain[-1] != "x" else "y"))
            is None
        )

    @pytest.mark.parametrize(
        "plain", ["", "lci_", "nonsense", "lci_zz_abc", "lci_0123456789abcdef_"]
    )
    def test_it_rejects_malformed_tokens(self, db, plain):
        assert ApiToken.authenticate(plain) is None

    def test_it_rejects_a_revoked_token(self, org):
        token, plain = ApiToken.issue(org)
        token.revoke()
        assert ApiToken.authenticate(plain) is None


class TestRepository:
    @pytest.mark.parametrize(
        "given, stored",
        [
            ("My Repo", "my-repo"),
            ("web.app", "web-app"),
            ("API", "api"),
            ("a_b", "a_b"),
        ],
    )
    def test_it_normalises_names(self, org, given, stored):
        repo = Repository.objects.create(organization=org, name=given, git_source="/x")
        assert repo.name == stored

    def test_it_rejects_names_with_other_characters(self, org):
        repo = Repository(organization=org, name="no/slashes", git_source="/x")
        with pytest.raises(ValidationError) as e:
            repo.full_clean()
        assert "name" in e.value.message_dict


class TestJobNumbers:
    def test_they_count_up_per_repository(self, repository, other_repository):
        assert [make_job(repository).number for _ in range(3)] == [1, 2, 3]
        assert make_job(other_repository).number == 1
        repository.refresh_from_db()
        assert repository.last_job_number == 3

    @pytest.mark.django_db(transaction=True)
    def test_a_failed_insert_gives_its_number_back(self, repository):
        make_job(repository)
        with pytest.raises(TypeError):
            make_job(repository, no_such_field=1)
        assert make_job(repository).number == 2

    def test_a_new_job_is_new(self, repository):
        job = make_job(repository)
        assert (job.status, job.calculated_status) == ("NEW", "NEW")
        assert job.finished_at is None

    def test_a_job_that_cannot_start_is_finished_at_once(self, repository):
        job = make_job(
            repository,
            status=JobStatus.ERROR,
            error_kind=JobErrorKind.INTERNAL,
            error_message="could not fetch",
        )
        assert job.calculated_status == CalculatedStatus.JOB_ERROR
        assert job.finished_at is not None


class TestTransitions:
    def test_the_job_follows_its_runners(self, repository):
        job = make_job(repository)
        first, second = start_job(job, "Layerfile", "e2e/Layerfile")
        job.refresh_from_db()
        assert job.calculated_status == CalculatedStatus.RUNNING

        finish(first, RunnerStatus.SUCCESS)
        job.refresh_from_db()
        assert job.calculated_status == CalculatedStatus.RUNNING
        finish(second, RunnerStatus.FAILURE)
        job.refresh_from_db()
        assert job.calculated_status == CalculatedStatus.FAILURE
        assert job.finished_at is not None

    def test_status_change_time_moves_with_the_calculated_status(self, repository):
        job = make_job(repository)
        (runner,) = start_job(job)
        job.refresh_from_db()
        before = job.status_change_time
        runner.transition(RunnerStatus.RUNNING)  # still RUNNING: no change
        job.refresh_from_db()
        assert job.status_change_time == before
        runner.transition(RunnerStatus.SUCCESS)
        job.refresh_from_db()
        assert job.status_change_time > before

    def test_a_finished_runner_cannot_change(self, repository):
        (runner,) = start_job(make_job(repository))
        finish(runner, RunnerStatus.SUCCESS)
        with pytest.raises(InvalidTransition):
            runner.transition(RunnerStatus.RUNNING)

    def test_a_job_cannot_go_back(self, repository):
        job = make_job(repository)
        start_job(job)
        with pytest.raises(InvalidTransition):
            job.set_status(JobStatus.STARTING_RUNNERS)

    def test_an_error_needs_a_kind(self, repository):
        job = make_job(repository)
        with pytest.raises(ValueError):
            job.set_status(JobStatus.ERROR)
        job.set_status(
            JobStatus.ERROR, error_kind=JobErrorKind.LAYERFILE, error_message="x"
        )
        assert job.calculated_status == CalculatedStatus.BAD_LAYERFILE


class TestRetry:
    def test_the_newest_attempt_decides(self, repository):
        job = make_job(repository)
        (runner,) = start_job(job)
        finish(runner, RunnerStatus.FAILURE)
        job.refresh_from_db()
        assert job.calculated_status == CalculatedStatus.FAILURE

        retry = runner.retry()
        assert (runner.was_retried, retry.index, retry.runner_id) == (
            True,
            2,
            "Layerfile-2",
        )
        job.refresh_from_db()
        assert job.calculated_status == CalculatedStatus.RUNNING
        assert job.finished_at is None

        finish(retry, RunnerStatus.SUCCESS)
        job.refresh_from_db()
        assert job.calculated_status == CalculatedStatus.SUCCEEDED

    def test_it_takes_the_next_index_of_the_layerfile(self, repository):
        job = make_job(repository)
        (runner,) = start_job(job)
        Runner.objects.create(
            job=job,
            layerfile_path="Layerfile",
            name="Layerfile",
            index=2,
            status="SUCCESS",
        )
        finish(runner, RunnerStatus.ERROR)
        assert runner.retry().index == 3

    def test_only_finished_runners_are_retried_once(self, repository):
        (runner,) = start_job(make_job(repository))
        with pytest.raises(InvalidTransition):
            runner.retry()
        finish(runner, RunnerStatus.FAILURE)
        runner.retry()
        with pytest.raises(InvalidTransition):
            runner.retry()

    def test_to_dict_matches_webappio(self, repository):
        (runner,) = start_job(make_job(repository))
        runner.name = "main-layerfile"
        runner.save()
        assert runner.to_dict() == {
            "id": "main-layerfile",
            "layerfile_relative_path": "Layerfile",
            "status": "NEW",
            "was_retried": False,
            "runner_index": 1,
        }


ACTIONS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),
        st.sampled_from(["retry", *[s.value for s in RunnerStatus]]),
    ),
    max_size=40,
)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(layerfiles=st.integers(min_value=1, max_value=4), actions=ACTIONS)
def test_the_stored_status_always_equals_the_derivation(
    repository, layerfiles, actions
):
    """Random runner transitions and retries never let the stored status drift."""
    job = make_job(repository)
    start_job(job, *[f"l{i}/Layerfile" for i in range(layerfiles)])
    for pick, action in actions:
        current = list(job.runners.filter(was_retried=False).order_by("pk"))
        runner = current[pick % len(current)]
        try:
            if action == "retry":
                runner.retry()
            else:
                allowed = RUNNER_TRANSITIONS[RunnerStatus(runner.status)]
                runner.transition(RunnerStatus(action))
                assert RunnerStatus(action) in allowed
        except InvalidTransition:
            pass
        job.refresh_from_db()
        statuses = list(
            job.runners.filter(was_retried=False).values_list("status", flat=True)
        )
        assert job.calculated_status == calculate_status(
            job.status, job.error_kind, statuses
        )
        assert len(statuses) == layerfiles
    assert Job.objects.get(pk=job.pk).calculated_status == job.calculated_status
