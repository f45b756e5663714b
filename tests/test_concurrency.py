"""Job numbers stay unique and gap-free when many requests create jobs at once.

These run with real transactions and real threads, each on its own database
connection; on PostgreSQL they exercise row locks, on SQLite its write lock.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from ciapp.models import Job
from tests.factories import make_job

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _in_thread(fn):
    def run(*args):
        try:
            return fn(*args)
        finally:
            connection.close()

    return run


def test_numbers_have_no_gaps_or_duplicates(repository):
    # NB: PostgreSQL's default limit is 100 connections, so 200 creations share
    # 40 connections, all started together.
    barrier = threading.Barrier(40)

    @_in_thread
    def create(i):
        if i < 40:
            barrier.wait()
        return make_job(repository, commit_title=f"job {i}").number

    with ThreadPoolExecutor(max_workers=40) as pool:
        numbers = list(pool.map(create, range(200)))

    assert sorted(numbers) == list(range(1, 201))
    stored = list(
        Job.objects.filter(repository=repository)
        .order_by("number")
        .values_list("number", flat=True)
    )
    assert stored == list(range(1, 201))
    repository.refresh_from_db()
    assert repository.last_job_number == 200


def test_creating_through_the_api_at_once(repository, token):
    barrier = threading.Barrier(8)

    @_in_thread
    def create(i):
        barrier.wait()
        client = Client()
        return [
            client.post(f"/api/v1/run/webapp?token={token}").json()["job"]["id"]
            for _ in range(3)
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = [n for batch in pool.map(create, range(8)) for n in batch]

    assert sorted(ids) == list(range(1, 25))
    assert (
        Job.objects.filter(repository=repository, calculated_status="NEW").count() == 24
    )


def test_many_writers_at_once_never_see_a_locked_database(repository):
    """Creations and runner transitions from many threads at once."""
    from ciapp.statuses import RunnerStatus
    from tests.factories import start_job

    jobs = [make_job(repository) for _ in range(10)]
    runners = [start_job(job, "a/Layerfile", "b/Layerfile") for job in jobs]
    barrier = threading.Barrier(20)

    @_in_thread
    def write(i):
        barrier.wait()
        if i < 10:
            for runner in runners[i]:
                runner.transition(RunnerStatus.RUNNING)
                runner.transition(RunnerStatus.SUCCESS)
            return None
        return [make_job(repository).number for _ in range(5)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(write, range(20)))

    created = sorted(n for batch in results if batch for n in batch)
    assert created == list(range(11, 61))
    assert set(
        Job.objects.filter(pk__in=[j.pk for j in jobs]).values_list(
            "calculated_status", flat=True
        )
    ) == {"SUCCEEDED"}
