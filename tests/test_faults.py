"""Faults injected for real: the database going away and coming back.

PostgreSQL is reached through a TCP proxy that the test cuts and restores.
SQLite has no server to lose, so these run on PostgreSQL only.
"""

import json

import pytest
import requests
from django.db import connection

from ciapp.models import Job, Step
from ciapp.statuses import RUNNER_ACTIVE_STATUSES, RUNNING_STATUSES, calculate_status
from tests.proxy import TcpProxy
from tests.servers import gunicorn
from tests.workers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def proxy():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no database server to lose")
    config = connection.settings_dict
    proxy = TcpProxy(config["HOST"] or "127.0.0.1", int(config["PORT"] or 5432))
    yield proxy
    proxy.close()


def _through(proxy):
    config = connection.settings_dict
    return f"postgres://{config['USER']}@127.0.0.1:{proxy.port}/{config['NAME']}"


@pytest.fixture
def server(proxy, tmp_path):
    """gunicorn whose database connections go through the proxy."""
    with gunicorn(
        tmp_path / "server",
        DATABASE_URL=_through(proxy),
        DATABASE_CONN_MAX_AGE="60",
        CI_GIT_MIRROR_DIR=str(tmp_path / "mirrors"),
    ) as url:
        yield url


def test_api_calls_fail_cleanly_while_the_database_is_away(
    server, proxy, token, repository
):
    search = f"{server}/api/v1/run/webapp/search?token={token}"
    assert requests.get(search, timeout=10).status_code == 404  # no runs yet

    proxy.cut()
    r = requests.get(search, timeout=10)
    created = requests.post(f"{server}/api/v1/run/webapp?token={token}", timeout=10)

    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"
    assert r.json() == {
        "status": "error",
        "error": "The service's database cannot be reached; try again shortly.",
    }
    assert created.status_code == 503
    page = requests.get(f"{server}/badge/acme/webapp.svg?key=x", timeout=10)
    assert page.status_code == 503 and "database cannot be reached" in page.text

    proxy.restore()
    wait_for(
        lambda: requests.get(search, timeout=10).status_code == 404,
        20,
        "the API to recover",
    )
    created = requests.post(f"{server}/api/v1/run/webapp?token={token}", timeout=10)
    assert created.status_code == 200
    assert Job.objects.count() == 1


MOMENTS = {
    "a worker has taken the runner": lambda job: job.runners.filter(
        status="RUNNING"
    ).exists(),
    "a RUN step is running": lambda job: Step.objects.filter(
        runner__job=job, log="start\n"
    ).exists(),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_worker_goes_on_after_the_database_comes_back(
    moment, proxy, workers, client, token, repository, source, tmp_path
):
    source.commit(
        "Slow",
        {"Layerfile": "FROM vm/ubuntu:22.04\nRUN echo start; sleep 2; echo end\n"},
    )
    worker = workers.start(DATABASE_URL=_through(proxy))

    first = client.post(
        f"/api/v1/run/webapp?token={token}",
        json.dumps({}),
        content_type="application/json",
    )
    job = Job.objects.get(number=first.json()["job"]["id"])
    wait_for(lambda: MOMENTS[moment](job), 30, moment)

    proxy.cut()
    # The outage lasts until the worker has met it, and less than the lease,
    # so the runner survives it. Which part of the worker meets it first (the
    # lease renewer, a log flush, a step's end) depends on timing.
    wait_for(lambda: _met_outage(worker), 2.5, "the worker to meet the outage")
    proxy.restore()

    def done():
        job.refresh_from_db()
        return (
            job.calculated_status not in RUNNING_STATUSES
            and not job.runners.filter(status__in=RUNNER_ACTIVE_STATUSES).exists()
        )

    wait_for(done, 40, "the run to end")
    statuses = list(
        job.runners.filter(was_retried=False).values_list("status", flat=True)
    )
    assert job.calculated_status == calculate_status(
        job.status, job.error_kind, statuses
    )
    assert job.calculated_status == "SUCCEEDED", job.calculated_status

    second = client.post(
        f"/api/v1/run/webapp?token={token}",
        json.dumps({}),
        content_type="application/json",
    )
    later = Job.objects.get(number=second.json()["job"]["id"])
    wait_for(
        lambda: Job.objects.get(pk=later.pk).calculated_status == "SUCCEEDED",
        40,
        "a later run to succeed",
    )
    assert _met_outage(worker)


OUTAGE_MESSAGES = (
    "the database is away",
    "could not renew a lease",
    "could not store the log",
)


def _met_outage(worker):
    log = worker.log.read_text()
    return any(message in log for message in OUTAGE_MESSAGES)
