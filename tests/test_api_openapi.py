"""The OpenAPI description is served, covers every endpoint, and tells the truth."""

import json
import re

import jsonschema
import pytest
from django.urls import get_resolver

from ciapp.api.openapi import description
from ciapp.statuses import RunnerStatus
from tests.factories import finish, make_job, start_job


def test_it_is_served_without_a_token(client):
    r = client.get("/api/v1/openapi.json")

    assert r.status_code == 200
    assert r.json()["openapi"] == "3.1.0"


def _documented_paths():
    return {
        (path, method.upper())
        for path, operations in description()["paths"].items()
        for method in operations
    }


def _routed_paths():
    """The API's URL patterns as OpenAPI path templates."""
    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    paths = set()
    for pattern in api.url_patterns:
        regex = pattern.pattern.regex.pattern
        if "(?P<path>" in regex or "openapi" in regex:
            continue
        template = regex.strip("^$").replace("/?", "")
        template = re.sub(r"\(\?P<number>[^)]*\)", "{id}", template)
        template = re.sub(r"\(\?P<action>[^)]*\)", "{action}", template)
        template = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", template)
        paths.add("/api/v1/" + template)
    return paths


def test_every_endpoint_is_documented():
    documented = {path for path, _ in _documented_paths()}
    routed = _routed_paths()
    actions = {
        p
        for p in documented
        if p.endswith(("/retry", "/cancel", "/button")) and "runners" in p
    }

    assert (
        routed - {"/api/v1/runners/{repo}/{job_uuid}/{runner_id}/{action}"}
        == documented - actions
    )
    assert len(actions) == 3


def _schema_for(path, method, status):
    spec = description()
    response = spec["paths"][path][method.lower()]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return _inline(schema, spec["components"]["schemas"])


def _inline(node, schemas):
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(schemas[node["$ref"].rsplit("/", 1)[1]], schemas)
        return {k: _inline(v, schemas) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, schemas) for v in node]
    return node


def check(response, path, method):
    schema = _schema_for(path, method, response.status_code)
    jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)


@pytest.fixture
def job(repository):
    job = make_job(repository)
    (runner,) = start_job(job)
    finish(runner, RunnerStatus.FAILURE)
    return job


def test_real_answers_match_it(client, token, repository, job):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    base = "/api/v1"
    calls = [
        ("get", f"{base}/run/webapp/search", "/api/v1/run/{repo}/search", {}),
        (
            "get",
            f"{base}/run/webapp/search?search=nothing",
            "/api/v1/run/{repo}/search",
            {},
        ),
        (
            "get",
            f"{base}/run/webapp/search?search=id:x",
            "/api/v1/run/{repo}/search",
            {},
        ),
        ("get", f"{base}/run/nope/search", "/api/v1/run/{repo}/search", {}),
        ("get", f"{base}/run/webapp", "/api/v1/run/{repo}", {}),
        ("get", f"{base}/run/webapp?limit=0", "/api/v1/run/{repo}", {}),
        (
            "post",
            f"{base}/run/webapp",
            "/api/v1/run/{repo}",
            {
                "data": json.dumps({"branch": "master"}),
                "content_type": "application/json",
            },
        ),
        (
            "post",
            f"{base}/run/webapp",
            "/api/v1/run/{repo}",
            {"data": "{", "content_type": "application/json"},
        ),
        (
            "post",
            f"{base}/run/webapp",
            "/api/v1/run/{repo}",
            {"data": "x", "content_type": "application/xml"},
        ),
        ("get", f"{base}/run/webapp/1", "/api/v1/run/{repo}/{id}", {}),
        ("get", f"{base}/run/webapp/99", "/api/v1/run/{repo}/{id}", {}),
        ("post", f"{base}/run/webapp/1/cancel", "/api/v1/run/{repo}/{id}/cancel", {}),
        (
            "get",
            f"{base}/runners/webapp/{job.uuid}",
            "/api/v1/runners/{repo}/{job_uuid}",
            {},
        ),
        ("get", f"{base}/runners/webapp/xyz", "/api/v1/runners/{repo}/{job_uuid}", {}),
        (
            "get",
            f"{base}/runners/webapp/{job.uuid}/Layerfile",
            "/api/v1/runners/{repo}/{job_uuid}/{runner_id}",
            {},
        ),
        (
            "post",
            f"{base}/runners/webapp/{job.uuid}/Layerfile/cancel",
            "/api/v1/runners/{repo}/{job_uuid}/{runner_id}/cancel",
            {},
        ),
        (
            "post",
            f"{base}/runners/webapp/{job.uuid}/Layerfile/button",
            "/api/v1/runners/{repo}/{job_uuid}/{runner_id}/button",
            {},
        ),
        (
            "post",
            f"{base}/runners/webapp/{job.uuid}/Layerfile/retry",
            "/api/v1/runners/{repo}/{job_uuid}/{runner_id}/retry",
            {},
        ),
        (
            "post",
            f"{base}/runners/webapp/{job.uuid}/Layerfile/retry",
            "/api/v1/runners/{repo}/{job_uuid}/{runner_id}/retry",
            {},
        ),
        ("put", f"{base}/run/webapp/search", "/api/v1/run/{repo}/search", {}),
    ]
    seen = set()
    for method, url, path, kwargs in calls:
        response = getattr(client, method)(url, **kwargs, **auth)
        method_in_spec = "get" if method == "put" else method
        check(response, path, method_in_spec)
        seen.add(response.status_code)

    unauthorized = client.get(f"{base}/run/webapp/search")
    check(unauthorized, "/api/v1/run/{repo}/search", "get")
    assert seen >= {200, 400, 404, 405, 409, 415}
