"""Tokens, envelopes and errors shared by every API endpoint."""

import pytest
from django.utils import timezone

from ciapp.models import ApiToken

ENDPOINTS = [
    ("get", "/api/v1/run/webapp/search"),
    ("post", "/api/v1/run/webapp"),
    ("get", "/api/v1/runners/webapp/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
]


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_it_needs_a_token(client, repository, method, url):
    r = getattr(client, method)(url)

    assert r.status_code == 401
    assert r["WWW-Authenticate"] == "Bearer"
    assert r.json()["status"] == "error"
    assert "An API token is required" in r.json()["error"]


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_it_refuses_a_wrong_token(client, repository, method, url):
    r = getattr(client, method)(f"{url}?token=lci_0123456789abcdef_nope")

    assert r.status_code == 401
    assert r.json() == {
        "status": "error",
        "error": "The API token is not valid: it is unknown or was revoked.",
    }


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_it_takes_a_bearer_header(client, repository, token, method, url):
    r = getattr(client, method)(url, headers={"Authorization": f"Bearer {token}"})

    assert r.status_code != 401


def test_it_refuses_another_scheme(client, repository, token):
    r = client.get(ENDPOINTS[0][1], headers={"Authorization": f"Basic {token}"})

    assert r.status_code == 401
    assert "Bearer <token>" in r.json()["error"]


def test_it_refuses_two_different_tokens(client, repository, token, other_token):
    r = client.get(
        f"{ENDPOINTS[0][1]}?token={other_token}",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert r.status_code == 401
    assert "differ" in r.json()["error"]


def test_it_refuses_a_revoked_token(client, repository, org):
    token, plain = ApiToken.issue(org)
    token.revoke()

    assert client.get(f"{ENDPOINTS[0][1]}?token={plain}").status_code == 401


def test_it_records_when_a_token_was_last_used(client, repository, org):
    token, plain = ApiToken.issue(org)
    before = timezone.now()

    client.get(f"{ENDPOINTS[0][1]}?token={plain}")

    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at >= before


def test_unknown_api_paths_answer_in_json(client, token):
    r = client.get(f"/api/v1/nothing/here?token={token}")

    assert r.status_code == 404
    assert r.json() == {
        "status": "error",
        "error": "There is no API endpoint at /api/v1/nothing/here.",
    }


def test_a_trailing_slash_is_fine(client, repository, token):
    assert client.get(f"/api/v1/run/webapp/search/?token={token}").status_code == 404
    assert (
        client.get(f"/api/v1/run/webapp/search/?token={token}")
        .json()["error"]
        .startswith("There are no runs")
    )
