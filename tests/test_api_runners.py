"""GET /api/v1/runners/<repo>/<job uuid> — the runners of a job."""

import uuid

from ciapp.statuses import RunnerStatus
from tests.factories import finish, make_job, start_job


def url(job_uuid):
    return f"/api/v1/runners/webapp/{job_uuid}"


def test_it_lists_the_runners_with_their_retries(client, token, repository):
    job = make_job(repository)
    main, e2e = start_job(job, "Layerfile", "tests/e2e/Layerfile")
    main.name = "main-layerfile"
    main.save()
    e2e.name = "tests-e2e"
    e2e.save()
    finish(main, RunnerStatus.SUCCESS)
    finish(e2e, RunnerStatus.FAILURE)
    e2e.retry()

    r = client.get(url(job.uuid), {"token": token})

    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "runners": [
            {
                "id": "main-layerfile",
                "layerfile_relative_path": "Layerfile",
                "status": "SUCCESS",
                "was_retried": False,
                "runner_index": 1,
            },
            {
                "id": "tests-e2e",
                "layerfile_relative_path": "tests/e2e/Layerfile",
                "status": "FAILURE",
                "was_retried": True,
                "runner_index": 1,
            },
            {
                "id": "tests-e2e-2",
                "layerfile_relative_path": "tests/e2e/Layerfile",
                "status": "NEW",
                "was_retried": False,
                "runner_index": 2,
            },
        ],
    }


def test_a_new_job_has_no_runners(client, token, repository):
    job = make_job(repository)

    assert client.get(url(job.uuid), {"token": token}).json() == {
        "status": "ok",
        "runners": [],
    }


def test_it_says_when_there_is_no_such_job(client, token, repository):
    missing = uuid.uuid4()

    r = client.get(url(missing), {"token": token})

    assert r.status_code == 404
    assert r.json() == {
        "status": "error",
        "error": f"There is no run for acme matching uuid {missing}.",
    }


def test_it_hides_another_organizations_job(
    client, token, other_repository, repository
):
    theirs = make_job(other_repository)

    r = client.get(url(theirs.uuid), {"token": token})

    assert r.status_code == 404
    assert r.json()["error"] == f"There is no run for acme matching uuid {theirs.uuid}."


def test_it_looks_only_in_the_named_repository(client, token, org, repository):
    from ciapp.models import Repository

    elsewhere = Repository.objects.create(
        organization=org, name="other", git_source="/x"
    )
    job = make_job(elsewhere)

    assert client.get(url(job.uuid), {"token": token}).status_code == 404


def test_it_refuses_a_malformed_uuid(client, token, repository):
    r = client.get(url("not-a-uuid"), {"token": token})

    assert r.status_code == 400
    assert "'not-a-uuid' is not a run uuid" in r.json()["error"]


def test_it_uses_a_fixed_number_of_queries(
    client, token, repository, django_assert_num_queries
):
    job = make_job(repository)
    start_job(job, "a/Layerfile", "b/Layerfile", "c/Layerfile")
    client.get(url(job.uuid), {"token": token})

    # 1. the token, its organization and the repository
    # 2. the job
    # 3. its runners
    with django_assert_num_queries(3):
        r = client.get(url(job.uuid), {"token": token})
    assert len(r.json()["runners"]) == 3
