"""Job numbers stay unique and gap-free when many requests create jobs at once.

These run with real transactions and real threads, each on its own database
connection; on PostgreSQL they exercise row locks, on SQLite its write lock.
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from ciapp.models import Job
from ciapp.statuses import RUNNER_ACTIVE_STATUSES, RUNNING_STATUSES
from tests.factories import make_job
from tests.workers import wait_for

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


def _free_connections() -> int:
    """How many more connections the database server will take now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int - count(*) "
            "FROM pg_stat_activity"
        )
        (free,) = cursor.fetchone()
    return int(free)


def test_two_hundred_creations_at_once(repository):
    """200 creations released together by one barrier, as 200 API calls.

    PostgreSQL takes 100 connections, shared with other test runs, so 200
    transactions cannot all be open at once. As behind any connection pool,
    the 200 threads share a pool of up to 60 connections: every creation runs
    in its own transaction on its own connection, and as soon as one ends,
    a waiting thread takes its connection. On PostgreSQL a monitor samples
    pg_stat_activity to show that the repository's row lock really had a
    queue: the creations were concurrent, not one after another.
    """
    postgres = connection.vendor == "postgresql"
    pool = min(60, _free_connections() - 20) if postgres else 60
    if pool < 10:
        pytest.skip("the database server has too few free connections now")
    slots = threading.Semaphore(pool)
    barrier = threading.Barrier(200)
    done = threading.Event()
    waiting: list[int] = []

    @_in_thread
    def create(i):
        barrier.wait()
        with slots:
            try:
                return make_job(repository, commit_title=f"job {i}").number
            finally:
                connection.close()

    @_in_thread
    def monitor():
        with connection.cursor() as cursor:
            while not done.is_set():
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                    "current_database() AND wait_event_type = 'Lock'"
                )
                waiting.append(cursor.fetchone()[0])

    watcher = threading.Thread(target=monitor) if postgres else None
    if watcher:
        watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=200) as threads:
            numbers = list(threads.map(create, range(200)))
    finally:
        done.set()
        if watcher:
            watcher.join()

    assert sorted(numbers) == list(range(1, 201))
    stored = Job.objects.filter(repository=repository).values_list("number", flat=True)
    assert sorted(stored) == list(range(1, 201))
    repository.refresh_from_db()
    assert repository.last_job_number == 200
    if postgres:
        # Many creations queued on the row lock at the same moment.
        assert max(waiting) >= pool // 3, max(waiting)


def test_workers_never_run_a_runner_twice(
    workers, client, token, repository, source, tmp_path
):
    """Three worker processes race for twenty runners, each queued three times.

    The task queue hands a task to one worker; the duplicates stand for a
    task delivered again, so that workers really do try to take the same
    runner at once. Only Runner.claim() stands between them and running it
    twice.
    """
    from django_tasks_db.models import DBTaskResult

    from ciapp.execution import starting
    from ciapp.execution.tasks import run_runner

    claims = tmp_path / "claims.txt"
    source.checkout("master")
    source.branch("split-twenty")
    source.commit(
        "Split in twenty",
        {
            "Layerfile": f"FROM vm/ubuntu:22.04\nSPLIT 20\nRUN echo $RUNNER_ID >> {claims}\n"
        },
    )
    r = client.post(
        f"/api/v1/run/webapp?token={token}",
        json.dumps({"branch": "split-twenty"}),
        content_type="application/json",
    )
    job = Job.objects.get(number=r.json()["job"]["id"])
    starting.start(job.pk, "the test")
    runners = list(job.runners.all())
    assert len(runners) == 20
    for runner in runners:
        for _ in range(2):
            run_runner.using(queue_name="default").enqueue(runner.pk)

    started = [workers.start() for _ in range(3)]

    def finished():
        job.refresh_from_db()
        statuses = set(job.runners.values_list("status", flat=True))
        queued = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
        return (
            job.calculated_status not in RUNNING_STATUSES
            and not statuses & RUNNER_ACTIVE_STATUSES
            and not queued.exists()
        )

    wait_for(finished, 90, "the twenty runners and every task to finish")
    ran = claims.read_text().split()
    assert sorted(ran) == sorted(r.runner_id for r in runners), workers.logs()
    assert len(set(ran)) == 20
    assert set(job.runners.values_list("status", flat=True)) == {"SUCCESS"}
    assert job.calculated_status == "SUCCEEDED"
    logs = [w.log.read_text() for w in started]
    # Each runner ran once; each of its duplicates found it taken or done.
    assert sum(log.count("running main-layerfile") for log in logs) == 20
    assert sum(log.count("is not there to run") for log in logs) == 40
    # And the work really was shared.
    assert sum(1 for log in logs if "running main-layerfile" in log) >= 2
