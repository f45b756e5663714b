"""Who gets what, for every page and every endpoint.

Personas: anonymous, an outsider (signed in, in no organization), a member
of another organization, a member, and staff (not a member). Another
organization's things look missing (404), never forbidden.
"""

import pytest
from django.contrib.auth.models import User

from ciapp.models import ApiToken, Membership, Step
from ciapp.statuses import RunnerStatus
from dashboard.views import badge_key
from tests.factories import finish, make_job, start_job

PERSONAS = ["anonymous", "outsider", "other_member", "member", "staff"]


@pytest.fixture
def world(org, other_org, repository):
    job = make_job(repository)
    done, going = start_job(job, "a/Layerfile", "b/Layerfile")
    finish(done, RunnerStatus.FAILURE)
    step = Step.objects.create(
        runner=done,
        position=1,
        line=1,
        instruction="RUN false",
        status="FAILURE",
        log="x",
    )
    users = {
        "outsider": User.objects.create_user("outsider-x", password="pw"),
        "other_member": User.objects.create_user("other-x", password="pw"),
        "member": User.objects.create_user("member-x", password="pw"),
        "staff": User.objects.create_user(
            "staff-x", password="pw", is_staff=True, is_superuser=True
        ),
    }
    Membership.objects.create(organization=other_org, user=users["other_member"])
    Membership.objects.create(organization=org, user=users["member"])
    return {
        "job": job,
        "done": done,
        "going": going,
        "step": step,
        "users": users,
        "repository": repository,
    }


def login(client, world, persona):
    if persona != "anonymous":
        client.force_login(world["users"][persona])


def pages(world):
    job, step = world["job"], world["step"]
    key = badge_key(world["repository"])
    return {
        "org": ("get", "/acme/"),
        "repository": ("get", "/acme/webapp/"),
        "org live": ("get", "/acme/-/live"),
        "repository live": ("get", "/acme/webapp/-/live"),
        "run": ("get", job.path()),
        "run live": ("get", f"{job.path()}/-/live"),
        "step log": ("get", f"{job.path()}/steps/{step.pk}.log"),
        "badge without key": ("get", "/badge/acme/webapp.svg"),
        "badge with key": ("get", f"/badge/acme/webapp.svg?key={key}"),
        "cancel run": ("post", f"{job.path()}/cancel"),
        "retry runner": ("post", f"{job.path()}/runners/{world['done'].pk}/retry"),
        "cancel runner": ("post", f"{job.path()}/runners/{world['going'].pk}/cancel"),
        "press button": ("post", f"{job.path()}/runners/{world['going'].pk}/button"),
        "admin": ("get", "/admin/"),
        "admin jobs": ("get", "/admin/ciapp/job/"),
    }


LOGIN = "login"  # a redirect to a sign-in page
EXPECTED = {
    #                       anonymous  outsider  other  member  staff
    "org":                  (LOGIN,    404,      404,   200,    404),
    "repository":           (LOGIN,    404,      404,   200,    404),
    "org live":             (LOGIN,    404,      404,   200,    404),
    "repository live":      (LOGIN,    404,      404,   200,    404),
    "run":                  (LOGIN,    404,      404,   200,    404),
    "run live":             (LOGIN,    404,      404,   200,    404),
    "step log":             (LOGIN,    404,      404,   200,    404),
    "badge without key":    (404,      404,      404,   200,    404),
    "badge with key":       (200,      200,      200,   200,    200),
    "cancel run":           (LOGIN,    404,      404,   302,    404),
    "retry runner":         (LOGIN,    404,      404,   302,    404),
    "cancel runner":        (LOGIN,    404,      404,   302,    404),
    "press button":         (LOGIN,    404,      404,   302,    404),
    "admin":                (LOGIN,    LOGIN,    LOGIN, LOGIN,  200),
    "admin jobs":           (LOGIN,    LOGIN,    LOGIN, LOGIN,  200),
}  # fmt: skip


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", list(EXPECTED))
def test_pages(client, world, persona, name):
    login(client, world, persona)
    method, url = pages(world)[name]
    expected = EXPECTED[name][PERSONAS.index(persona)]

    r = getattr(client, method)(url)

    if expected == LOGIN:
        assert r.status_code == 302 and "login" in r["Location"], (
            r.status_code,
            r.get("Location"),
        )
    else:
        assert r.status_code == expected


@pytest.mark.parametrize("persona", PERSONAS)
def test_state_changes_by_get_are_refused(client, world, persona):
    login(client, world, persona)

    for name, (method, url) in pages(world).items():
        if method == "post":
            assert client.get(url).status_code in (302, 404, 405), name
    world["job"].refresh_from_db()
    assert world["job"].cancel_requested_at is None


def test_dashboard_forms_need_a_csrf_token(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["member"])

    assert client.post(f"{world['job'].path()}/cancel").status_code == 403
    world["job"].refresh_from_db()
    assert world["job"].cancel_requested_at is None


# The API, by token: none, revoked, another organization's, the right one.
TOKENS = ["none", "revoked", "other_org", "own"]


@pytest.fixture
def tokens(org, other_org):
    revoked, revoked_plain = ApiToken.issue(org)
    revoked.revoke()
    return {
        "none": None,
        "revoked": revoked_plain,
        "other_org": ApiToken.issue(other_org)[1],
        "own": ApiToken.issue(org)[1],
    }


def endpoints(world):
    job = world["job"]
    runner = f"/api/v1/runners/webapp/{job.uuid}"
    return {
        "search": ("get", "/api/v1/run/webapp/search", 200),
        "list": ("get", "/api/v1/run/webapp", 200),
        "create": ("post", "/api/v1/run/webapp", 200),
        "run": ("get", f"/api/v1/run/webapp/{job.number}", 200),
        "cancel run": ("post", f"/api/v1/run/webapp/{job.number}/cancel", 200),
        "runners": ("get", runner, 200),
        "runner": ("get", f"{runner}/a", 200),
        "retry": ("post", f"{runner}/a/retry", 200),
        "cancel runner": ("post", f"{runner}/b/cancel", 200),
        "press": ("post", f"{runner}/b/button", 409),
    }


@pytest.mark.parametrize("who", TOKENS)
@pytest.mark.parametrize(
    "name",
    [
        "search",
        "list",
        "create",
        "run",
        "cancel run",
        "runners",
        "runner",
        "retry",
        "cancel runner",
        "press",
    ],
)
def test_api(client, world, tokens, who, name):
    world["done"].name = "a"
    world["done"].save()
    world["going"].name = "b"
    world["going"].save()
    method, url, success = endpoints(world)[name]
    headers = {} if tokens[who] is None else {"Authorization": f"Bearer {tokens[who]}"}

    r = getattr(client, method)(url, headers=headers)

    expected = {"none": 401, "revoked": 401, "other_org": 404, "own": success}[who]
    assert r.status_code == expected, r.json()
    assert r.json()["status"] == ("ok" if expected == 200 else "error")


def test_the_openapi_description_is_public(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
