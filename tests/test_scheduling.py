"""The reaper: work whose worker died is ended, or queued again."""

from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ciapp.execution import scheduling
from ciapp.models import Job, Runner
from tests.factories import make_job, start_job


def _lose_tasks():
    """As if a worker took every queued task and died."""
    DBTaskResult.objects.update(status="RUNNING")


def test_a_job_whose_start_task_was_lost_is_queued_again(repository, settings):
    job = make_job(repository)
    scheduling.enqueue_job(job)
    _lose_tasks()
    Job.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )

    assert scheduling.reap() == 1

    ready = DBTaskResult.objects.filter(status="READY").get()
    assert (ready.task_path, ready.args_kwargs["args"]) == (
        "ciapp.execution.tasks.start_job",
        [job.pk],
    )
    assert scheduling.reap() == 0  # queued once


def test_a_runner_whose_task_was_lost_is_queued_again(repository):
    job = make_job(repository)
    (runner,) = start_job(job)
    scheduling.schedule(job)
    _lose_tasks()
    Runner.objects.filter(pk=runner.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )

    assert scheduling.reap() == 1

    ready = DBTaskResult.objects.filter(status="READY").get()
    assert (ready.task_path, ready.args_kwargs["args"], ready.queue_name) == (
        "ciapp.execution.tasks.run_runner",
        [runner.pk],
        "default",
    )


def test_work_still_waiting_in_the_queue_is_left_alone(repository):
    job = make_job(repository, created_at=timezone.now() - timedelta(minutes=5))
    scheduling.enqueue_job(job)

    assert scheduling.reap() == 0
    assert DBTaskResult.objects.count() == 1


def test_fresh_work_is_given_time(repository):
    job = make_job(repository)
    scheduling.enqueue_job(job)
    _lose_tasks()

    assert scheduling.reap() == 0
