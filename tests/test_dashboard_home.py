"""The start page, /: the user's organizations."""

from ciapp.models import Membership


def test_it_sends_anonymous_users_to_sign_in(client, db):
    r = client.get("/")

    assert r.status_code == 302
    assert r["Location"] == "/login/?next=/"


def test_it_goes_straight_to_the_only_organization(member_client):
    r = member_client.get("/")

    assert r.status_code == 302
    assert r["Location"] == "/acme/"


def test_it_lists_several_organizations(member_client, member, other_org):
    Membership.objects.create(organization=other_org, user=member)

    r = member_client.get("/")

    assert r.status_code == 200
    assert 'href="/acme/"' in r.text
    assert 'href="/globex/"' in r.text


def test_it_says_how_to_become_a_member(client, staff):
    client.force_login(staff)

    r = client.get("/")

    assert "manage.py add_member" in r.text
    assert 'href="/admin/"' in r.text


def test_the_sign_in_page_signs_in(client, member):
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'autocomplete="current-password"' in page.text

    r = client.post(
        "/login/", {"username": "member", "password": "pw-member-1", "next": "/"}
    )

    assert r.status_code == 302
    assert client.get("/").status_code == 302  # signed in: to /acme/


def test_a_wrong_password_is_explained(client, member):
    r = client.post("/login/", {"username": "member", "password": "nope"})

    assert r.status_code == 200
    assert 'role="alert"' in r.text
