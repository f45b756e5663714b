"""manage.py generate_jobs: a large, realistic and consistent history."""

from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ciapp.models import Job, Organization, Repository, Runner, Step
from ciapp.statuses import RUNNER_FINAL_STATUSES, CalculatedStatus, calculate_status
from tests.factories import make_job


def generate(*args):
    out = StringIO()
    call_command("generate_jobs", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def generated(db):
    return generate("400", "--seed", "3", "--batch-size", "150")


def test_it_makes_the_jobs_over_many_repositories(generated):
    assert Job.objects.count() == 400
    assert Organization.objects.count() == 5
    assert Repository.objects.count() == 50
    assert Job.objects.values("repository").distinct().count() > 30
    assert Job.objects.values("branch").distinct().count() > 20
    assert "Added 400 jobs" in generated
    assert "400 of 400 jobs" in generated


def test_it_numbers_each_repository_from_one(generated):
    numbers = defaultdict(list)
    for repository, number in Job.objects.order_by("pk").values_list(
        "repository", "number"
    ):
        numbers[repository].append(number)

    for repository in Repository.objects.all():
        made = numbers[repository.pk]
        assert made == list(range(1, len(made) + 1))
        assert repository.last_job_number == len(made)


def test_the_api_goes_on_counting(generated):
    repository = Repository.objects.get(name="reporting")
    last = repository.last_job_number

    job = make_job(repository)

    assert last > 0
    assert job.number == last + 1


def test_every_status_follows_from_the_runners(generated):
    for job in Job.objects.prefetch_related("runners"):
        current = [r.status for r in job.runners.all() if not r.was_retried]
        assert job.calculated_status == calculate_status(
            job.status, job.error_kind, current
        )
        assert job.finished_at is None or not job.is_running

    statuses = set(Job.objects.values_list("calculated_status", flat=True))
    assert {
        CalculatedStatus.SUCCEEDED,
        CalculatedStatus.FAILURE,
        CalculatedStatus.BAD_LAYERFILE,
        CalculatedStatus.RUNNING,
    } <= statuses


def test_runners_have_steps_and_retries_are_linked(generated):
    assert Step.objects.count() == 3 * Runner.objects.count()
    retried = Runner.objects.filter(was_retried=True)
    assert retried.exists()
    for runner in retried:
        retry = runner.retried_by
        assert retry.layerfile_path == runner.layerfile_path
        assert retry.index > runner.index
        assert runner.status in RUNNER_FINAL_STATUSES
    failed = Step.objects.filter(status="FAILURE")
    assert failed.exists()
    assert all(step.exit_code == 1 and step.log for step in failed)


def test_the_text_is_searchable(generated):
    job = Job.objects.exclude(commit_body="").order_by("-pk").first()
    word = job.commit_body.split()[2]

    assert job in Job.objects.matching(f'"{word}"')
    assert Job.objects.matching("fix").exists()
    assert Job.objects.filter(commit_author__contains="ø").exists()


def test_the_same_seed_makes_the_same_jobs(db):
    def made():
        return list(
            Job.objects.order_by("pk").values_list(
                "commit_title", "commit_body", "commit_author", "branch", "uuid"
            )
        )

    generate("60", "--seed", "9")
    first = made()
    Job.objects.all().delete()
    generate("60", "--seed", "9")

    assert made() == first
    # Numbers and ids go on from the first run's, which are never reused.
    assert Job.objects.order_by("pk").first().number > 1
    assert len(set(Job.objects.values_list("uuid", flat=True))) == 60


def test_it_adds_to_what_is_there(generated):
    newest = Job.objects.order_by("pk").last()
    gone = (newest.pk, newest.repository_id, newest.number)
    newest.delete()

    generate("100", "--seed", "4")

    assert Job.objects.count() == 499
    # Neither the deleted job's id nor its number is given again.
    assert not Job.objects.filter(pk=gone[0]).exists()
    for repository in Repository.objects.all():
        numbers = sorted(repository.jobs.values_list("number", flat=True))
        expected = list(range(1, repository.last_job_number + 1))
        if repository.pk == gone[1]:
            expected.remove(gone[2])
        assert numbers == expected


@pytest.mark.parametrize(
    "args, message",
    [
        (["0"], "N must be a whole number from 1"),
        (["-5"], "N must be a whole number from 1"),
        (["many"], "not 'many'"),
        (["1.5"], "N must be a whole number"),
        (["10", "--seed", "x"], "--seed must be a whole number"),
        (["10", "--batch-size", "0"], "--batch-size must be a whole number"),
    ],
)
def test_it_refuses_bad_numbers(db, args, message):
    with pytest.raises(CommandError, match=message):
        generate(*args)
    assert not Job.objects.exists()
