"""POST /api/v1/run/<repo> — create a job."""

import json

import pytest

from ciapp.models import Job
from ciapp.statuses import CalculatedStatus, JobStatus

URL = "/api/v1/run/webapp"


def post(client, token, data=None, content_type="application/json", **extra):
    body = json.dumps(data) if isinstance(data, dict) else data
    return client.post(
        f"{URL}?token={token}", body or "", content_type=content_type, **extra
    )


def test_it_creates_a_job_at_the_branch_tip(client, token, repository, source):
    r = post(client, token)

    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["status"] == "ok"
    assert body["url"] == "http://testserver/jobs/github/acme/webapp/1"
    job = body["job"]
    assert job["id"] == 1
    assert (job["status"], job["calculated_status"]) == ("NEW", "NEW")
    assert job["commit_sha"] == source.git("rev-parse", "master")
    assert job["branch"] == job["merge_branch"] == "master"
    assert job["run_start_reason"] == "Manual run created by API"
    assert job["run_start_reason_url"] == ""

    stored = Job.objects.get()
    assert stored.commit_title == "Add checkout flow"
    assert stored.commit_body == "The cart can now be paid for.\nSecond line."
    assert stored.commit_author == "Grace Hopper"
    assert stored.ref == ""


def test_it_takes_a_form_body(client, token, repository, source):
    r = client.post(
        f"{URL}?token={token}",
        {"branch": "feature/pay", "accept_buttons": "true", "extra": "deploy=1"},
    )

    assert r.status_code == 200, r.json()
    job = Job.objects.get()
    assert job.branch == "feature/pay"
    assert job.commit_sha == source.git("rev-parse", "feature/pay")
    assert job.commit_title == "WIP: pay with card"
    assert job.accept_buttons is True
    assert job.extra == "deploy=1"


@pytest.mark.parametrize(
    "ref, target",
    [
        ("origin/feature/pay", "feature/pay"),
        ("feature/pay", "feature/pay"),
        ("v1.0", "v1.0"),
        ("master~1", "master~1"),
    ],
)
def test_it_resolves_refs(client, token, repository, source, ref, target):
    r = post(client, token, {"ref": ref})

    assert r.status_code == 200, r.json()
    assert r.json()["job"]["commit_sha"] == source.git(
        "rev-parse", f"{target}^{{commit}}"
    )


def test_it_resolves_a_full_and_an_abbreviated_sha(client, token, repository, source):
    sha = source.git("rev-parse", "master~1")

    assert post(client, token, {"ref": sha}).json()["job"]["commit_sha"] == sha
    assert post(client, token, {"ref": sha[:8]}).json()["job"]["commit_sha"] == sha


def test_it_sees_new_commits(client, token, repository, source):
    post(client, token)
    newer = source.commit("Another change")

    assert post(client, token).json()["job"]["commit_sha"] == newer


def test_it_accepts_json_booleans(client, token, repository):
    assert post(client, token, {"accept_buttons": True}).status_code == 200
    assert Job.objects.get().accept_buttons is True


@pytest.mark.parametrize(
    "data, status, message",
    [
        ({"branch": "nope"}, 400, "There is no branch 'nope' in the repository."),
        ({"ref": "deadbeef"}, 400, "There is no commit, branch or tag 'deadbeef'"),
        ({"branch": ""}, 400, "branch must not be empty."),
        ({"branch": "-x"}, 400, "branch must not start with '-'."),
        ({"branch": "a b"}, 400, "not allow in branch names"),
        ({"branch": "a~1"}, 400, "not allow in branch names"),
        ({"ref": "a..b"}, 400, "must not contain '..'"),
        ({"ref": "HEAD:README.md"}, 400, "no commit name has"),
        ({"branch": 3}, 400, "'branch' must be a string, not int."),
        ({"extra": {"a": 1}}, 400, "'extra' must be a string, not dict."),
        ({"accept_buttons": "maybe"}, 400, "'accept_buttons' must be true or false"),
        ({"accept_buttons": 1}, 400, "'accept_buttons' must be true or false"),
        ({"brnach": "main"}, 400, "Unknown field 'brnach'"),
        ({"branch": "ma\u0000in"}, 400, "NUL"),
        ({"extra": "x" * 16385}, 413, "'extra' is 16385 bytes; the limit is 16384."),
    ],
)
def test_it_refuses_bad_input(client, token, repository, data, status, message):
    r = post(client, token, data)

    assert r.status_code == status
    assert r.json()["status"] == "error"
    assert message in r.json()["error"]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "body, message",
    [
        ("{", "The body is not valid JSON"),
        ("[1, 2]", "must be an object"),
        ('"main"', "must be an object"),
        ("[" * 100000, "The body is not valid JSON"),
    ],
)
def test_it_refuses_malformed_json(client, token, repository, body, message):
    r = post(client, token, body, content_type="application/json")

    assert r.status_code in (400, 413)
    assert message in r.json()["error"] or r.status_code == 413
    assert not Job.objects.exists()


def test_it_refuses_a_body_over_the_limit(client, token, repository):
    r = post(client, token, {"extra": "x" * 70000})

    assert r.status_code == 413
    assert "larger than 65536 bytes" in r.json()["error"]
    assert not Job.objects.exists()


def test_it_refuses_other_content_types(client, token, repository):
    r = post(client, token, "<xml/>", content_type="application/xml")

    assert r.status_code == 415
    assert "JSON or as a form" in r.json()["error"]


def test_it_takes_fields_from_the_query_string(client, token, repository, source):
    r = client.post(f"{URL}?token={token}&branch=feature/pay")

    assert r.status_code == 200
    assert r.json()["job"]["branch"] == "feature/pay"


def test_it_refuses_a_field_given_twice_differently(client, token, repository):
    r = client.post(f"{URL}?token={token}&branch=main", {"branch": "dev"})

    assert r.status_code == 400
    assert "given twice" in r.json()["error"]


def test_it_refuses_a_repeated_form_field(client, token, repository):
    r = client.post(
        f"{URL}?token={token}",
        "branch=a&branch=b",
        content_type="application/x-www-form-urlencoded",
    )

    assert r.status_code == 400
    assert "'branch' is given 2 times" in r.json()["error"]


def test_an_unreachable_source_gives_a_job_error(client, token, repository, tmp_path):
    repository.git_source = str(tmp_path / "gone")
    repository.save()

    r = post(client, token)

    assert r.status_code == 200
    job = r.json()["job"]
    assert (job["status"], job["calculated_status"]) == (
        JobStatus.ERROR,
        CalculatedStatus.JOB_ERROR,
    )
    stored = Job.objects.get()
    assert "could not fetch" in stored.error_message
    assert stored.finished_at is not None


def test_it_hides_another_organizations_repository(client, other_token, repository):
    r = post(client, other_token)

    assert r.status_code == 404
    assert r.json()["error"] == "There is no repository globex/webapp."
    assert not Job.objects.exists()


def test_it_refuses_other_methods(client, token, repository):
    r = client.put(f"{URL}?token={token}")

    assert r.status_code == 405
    assert r["Allow"] == "GET, POST"


def test_it_uses_public_url_when_set(client, token, repository, settings):
    settings.PUBLIC_URL = "https://ci.example.com"

    assert (
        post(client, token).json()["url"]
        == "https://ci.example.com/jobs/github/acme/webapp/1"
    )


def test_it_needs_no_csrf_token(token, repository):
    from django.test import Client

    r = Client(enforce_csrf_checks=True).post(f"{URL}?token={token}")

    assert r.status_code == 200


def test_it_uses_a_fixed_number_of_queries(
    client, token, repository, django_assert_num_queries
):
    post(client, token)  # the first use of a token records it

    # 1. the token, its organization and the repository
    # 2. a savepoint (the transaction, outside tests)
    # 3. bump the repository's job counter
    # 4. read it back
    # 5. insert the job
    # 6. queue the task that starts it
    # 7. release the savepoint
    with django_assert_num_queries(7):
        assert post(client, token).status_code == 200
