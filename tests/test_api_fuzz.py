"""Random input to every endpoint: only answers in the API's form come out,
never a server error, and nothing half-made is left behind."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ciapp.models import Job
from ciapp.statuses import calculate_status
from tests.factories import make_job, start_job

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
fields = st.dictionaries(
    st.sampled_from(["branch", "ref", "accept_buttons", "extra"])
    | st.text(max_size=12),
    json_values,
    max_size=5,
)
path_segment = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="/?#%"),
    min_size=1,
    max_size=30,
)


def check(response):
    assert response.status_code < 500, response.content[:300]
    body = response.json()
    assert body["status"] in ("ok", "error")
    if body["status"] == "error":
        assert isinstance(body["error"], str) and body["error"]
    return body


def consistent():
    for job in Job.objects.all():
        statuses = list(
            job.runners.filter(was_retried=False).values_list("status", flat=True)
        )
        assert job.calculated_status == calculate_status(
            job.status, job.error_kind, statuses
        )


@pytest.mark.django_db
@SETTINGS
@given(body=fields)
def test_create_with_json_bodies(client, token, repository, body):
    check(
        client.post(
            f"/api/v1/run/webapp?token={token}",
            json.dumps(body),
            content_type="application/json",
        )
    )
    consistent()


@pytest.mark.django_db
@SETTINGS
@given(
    raw=st.binary(max_size=200),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "application/octet-stream",
            "",
        ]
    ),
)
def test_create_with_raw_bodies(client, token, repository, raw, content_type):
    check(
        client.post(f"/api/v1/run/webapp?token={token}", raw, content_type=content_type)
    )
    consistent()


@pytest.mark.django_db
@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["search", "limit", "before", "token", "x"]),
        st.text(max_size=60),
        max_size=4,
    )
)
def test_search_and_list_with_any_parameters(client, token, repository, params):
    make_job(repository)
    params = {**params, "token": token}
    check(client.get("/api/v1/run/webapp/search", params))
    check(client.get("/api/v1/run/webapp", params))


@pytest.mark.django_db
@SETTINGS
@given(
    repo=path_segment,
    job=path_segment,
    runner=path_segment,
    action=st.sampled_from(["", "/retry", "/cancel", "/button", "/x"]),
)
def test_any_path(client, token, repository, repo, job, runner, action):
    from urllib.parse import quote

    q = lambda s: quote(s, safe="")  # noqa: E731
    job_obj = make_job(repository)
    start_job(job_obj)
    for url in [
        f"/api/v1/run/{q(repo)}/search",
        f"/api/v1/runners/{q(repo)}/{q(job)}",
        f"/api/v1/runners/webapp/{job_obj.uuid}/{q(runner)}{action}",
        f"/api/v1/run/webapp/{q(job)}",
    ]:
        check(client.get(f"{url}?token={token}"))
        check(client.post(f"{url}?token={token}"))
    consistent()


@pytest.mark.django_db
@SETTINGS
@given(header=st.text(max_size=80), query_token=st.text(max_size=80))
def test_any_credentials(client, repository, header, query_token):
    headers = (
        {"Authorization": header} if header.isprintable() and header.isascii() else {}
    )
    r = client.get("/api/v1/run/webapp/search", {"token": query_token}, headers=headers)
    assert check(r)["status"] == "error"
    assert r.status_code == 401
