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
