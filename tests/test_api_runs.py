"""The endpoints beyond webapp.io's three: read, list, cancel, retry, press."""

import pytest

from ciapp.models import Step
from ciapp.statuses import RunnerStatus, StepStatus
from tests.factories import finish, make_job, start_job


@pytest.fixture
def jobs(repository):
    made = [
        make_job(
            repository, commit_title=f"change {i}", branch="main" if i % 2 else "dev"
        )
        for i in range(1, 8)
    ]
    return made


def test_it_lists_runs_newest_first_in_pages(client, token, jobs):
    first = client.get("/api/v1/run/webapp", {"token": token, "limit": 3}).json()

    assert [j["id"] for j in first["jobs"]] == [7, 6, 5]
    assert first["next_before"] == 5
    second = client.get(
        "/api/v1/run/webapp", {"token": token, "limit": 3, "before": 5}
    ).json()
    assert [j["id"] for j in second["jobs"]] == [4, 3, 2]
    last = client.get(
        "/api/v1/run/webapp", {"token": token, "limit": 3, "before": 2}
    ).json()
    assert [j["id"] for j in last["jobs"]] == [1]
    assert last["next_before"] is None


def test_the_list_takes_a_search(client, token, jobs):
    body = client.get(
        "/api/v1/run/webapp", {"token": token, "search": "branch:main"}
    ).json()

    assert [j["id"] for j in body["jobs"]] == [7, 5, 3, 1]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"limit": "0"}, "'limit' must be a whole number from 1"),
        ({"limit": "201"}, "'limit' must be from 1 to 200."),
        ({"limit": "x"}, "'limit' must be a whole number"),
        ({"limit": "¹"}, "'limit' must be a whole number"),
        ({"before": "٣"}, "'before' must be a whole number"),
        ({"before": "-1"}, "'before' must be a whole number"),
        ({"before": "99999999999"}, "'before' must be a whole number"),
        ({"search": "id:x"}, "Invalid search"),
    ],
)
def test_the_list_refuses_bad_parameters(client, token, jobs, params, message):
    r = client.get("/api/v1/run/webapp", {"token": token, **params})

    assert r.status_code == 400
    assert message in r.json()["error"]


def test_the_list_uses_a_fixed_number_of_queries(
    client, token, jobs, django_assert_num_queries
):
    client.get("/api/v1/run/webapp", {"token": token})

    # 1. the token with the repository  2. the page of runs
    with django_assert_num_queries(2):
        assert (
            len(client.get("/api/v1/run/webapp", {"token": token}).json()["jobs"]) == 7
        )


def test_it_reads_one_run(client, token, repository):
    job = make_job(repository)
    start_job(job, "Layerfile")

    body = client.get(f"/api/v1/run/webapp/{job.number}", {"token": token}).json()

    assert body["job"]["uuid"] == str(job.uuid)
    assert body["runners"][0]["layerfile_relative_path"] == "Layerfile"
    assert body["error"] == ""


@pytest.mark.parametrize("number", ["99", "9999999999"])
def test_a_missing_run_is_404(client, token, repository, number):
    r = client.get(f"/api/v1/run/webapp/{number}", {"token": token})

    assert r.status_code == 404
    assert r.json()["error"] == f"There is no run {number} in acme/webapp."


def test_another_organizations_run_is_missing(
    client, other_token, repository, other_repository
):
    job = make_job(repository)

    r = client.get(f"/api/v1/run/webapp/{job.number}", {"token": other_token})

    assert r.status_code == 404
    assert "There is no run 1 in globex/webapp." == r.json()["error"]


def test_cancelling_a_new_run_cancels_its_runners_when_they_are_made(
    client, token, repository
):
    job = make_job(repository)

    r = client.post(f"/api/v1/run/webapp/{job.number}/cancel?token={token}")

    assert r.status_code == 200
    assert r.json()["cancelled_runners"] == 0
    job.refresh_from_db()
    assert job.cancel_requested_at is not None


def test_cancelling_a_running_run(client, token, repository):
    job = make_job(repository)
    a, b = start_job(job, "a/Layerfile", "b/Layerfile")
    finish(a, RunnerStatus.SUCCESS)

    r = client.post(f"/api/v1/run/webapp/{job.number}/cancel?token={token}")

    assert r.json()["cancelled_runners"] == 1
    assert r.json()["job"]["calculated_status"] == "RUNNER_CANCELLED"
    b.refresh_from_db()
    assert b.status == "CANCELLED" and b.error_message.startswith(
        "Cancelled by API token"
    )


def test_it_reads_a_runner_with_its_steps(client, token, repository):
    job = make_job(repository)
    (runner,) = start_job(job)
    Step.objects.create(
        runner=runner,
        position=1,
        line=1,
        instruction="FROM vm/ubuntu:22.04",
        status="SUCCESS",
        log="ok\n",
    )
    Step.objects.create(
        runner=runner,
        position=2,
        line=2,
        instruction="BUTTON Deploy?",
        status="RUNNING",
    )

    body = client.get(
        f"/api/v1/runners/webapp/{job.uuid}/Layerfile", {"token": token}
    ).json()

    assert body["runner"]["id"] == "Layerfile"
    assert [s["instruction"] for s in body["steps"]] == [
        "FROM vm/ubuntu:22.04",
        "BUTTON Deploy?",
    ]
    assert body["steps"][0]["log"] == "ok\n"
    assert body["steps"][1]["waiting_for_button"] is True


def test_an_unknown_runner_is_404(client, token, repository):
    job = make_job(repository)

    r = client.get(f"/api/v1/runners/webapp/{job.uuid}/nope", {"token": token})

    assert r.status_code == 404
    assert r.json()["error"] == "The run has no runner 'nope'."


def test_retry_needs_a_finished_runner(client, token, repository):
    job = make_job(repository)
    (runner,) = start_job(job)

    r = client.post(f"/api/v1/runners/webapp/{job.uuid}/Layerfile/retry?token={token}")

    assert r.status_code == 409
    assert "Runner Layerfile is NEW" in r.json()["error"]


def test_retry_queues_the_new_attempt(client, token, repository):
    from django_tasks_db.models import DBTaskResult

    job = make_job(repository)
    (runner,) = start_job(job)
    finish(runner, RunnerStatus.FAILURE)

    r = client.post(f"/api/v1/runners/webapp/{job.uuid}/Layerfile/retry?token={token}")

    assert r.status_code == 200
    assert r.json()["runner"] == {
        "id": "Layerfile-2",
        "layerfile_relative_path": "Layerfile",
        "status": "NEW",
        "was_retried": False,
        "runner_index": 2,
    }
    task = DBTaskResult.objects.get()
    assert task.task_path == "ciapp.execution.tasks.run_runner"


def test_pressing_needs_a_waiting_button(client, token, repository):
    job = make_job(repository)
    (runner,) = start_job(job)

    r = client.post(f"/api/v1/runners/webapp/{job.uuid}/Layerfile/button?token={token}")

    assert r.status_code == 409
    assert r.json()["error"] == "Runner Layerfile is not waiting at a BUTTON."


def test_pressing_records_who_pressed(client, token, repository):
    job = make_job(repository)
    (runner,) = start_job(job)
    runner.transition(RunnerStatus.RUNNING)
    step = Step.objects.create(
        runner=runner,
        position=1,
        line=2,
        instruction="BUTTON Go?",
        status=StepStatus.RUNNING,
    )

    r = client.post(f"/api/v1/runners/webapp/{job.uuid}/Layerfile/button?token={token}")

    assert r.status_code == 200
    step.refresh_from_db()
    assert step.pressed_at is not None and step.pressed_by.startswith("API token ")


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/api/v1/run/webapp/1/cancel"),
        ("post", "/api/v1/run/webapp/1"),
        ("get", "/api/v1/runners/webapp/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/x/retry"),
    ],
)
def test_wrong_methods_are_405(client, token, repository, method, url):
    r = getattr(client, method)(f"{url}?token={token}")

    assert r.status_code == 405
