from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from ciapp import textsearch
from ciapp.models import ApiToken, Membership, Organization, Repository
from tests.gitrepo import GitRepo
from tests.workers import Workers


@pytest.fixture(autouse=True)
def _own_folders(settings, tmp_path: Path) -> Iterator[None]:
    """Keep each test's git mirrors, work and caches in its own folders."""
    settings.GIT_MIRROR_DIR = tmp_path / "mirrors"
    settings.CI_WORK_DIR = tmp_path / "work"
    settings.CI_CACHE_DIR = tmp_path / "cache"
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings) -> None:
    """Passwords hashed cheaply, except where a real server checks them."""
    if "browser" not in request.node.path.parts:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_rate_limit(settings) -> None:
    """Tests call the API far faster than people do; test_api_rate_limit
    turns the limit on where it is under test."""
    settings.CI_API_RATE_LIMIT = 0


@pytest.fixture(autouse=True)
def _empty_text_sample(monkeypatch) -> None:
    """Searches read a sample of the newest jobs once in a while, to tell
    rare texts from common ones; a query that comes and goes with the order
    of the tests would upset the tests that count queries, and a sample left
    from an earlier test would choose plans by its data. Tests see an empty
    sample (every text rare) unless they take one on purpose."""
    monkeypatch.setattr(textsearch, "current_sample", lambda: textsearch.Sample([]))


@pytest.fixture(autouse=True)
def _unhashed_static(settings) -> None:
    """Static URLs without the manifest that collectstatic writes."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


@pytest.fixture
def workers(settings, tmp_path: Path) -> Iterator[Workers]:
    """Real worker processes on the test database; stopped after the test."""
    settings.CI_LEASE_SECONDS = 3
    started = Workers(tmp_path)
    yield started
    started.stop_all()


@pytest.fixture
def org(db) -> Organization:
    return Organization.objects.create(name="acme")


@pytest.fixture
def other_org(db) -> Organization:
    return Organization.objects.create(name="globex")


@pytest.fixture
def source(tmp_path: Path) -> GitRepo:
    """A git repository with two commits on master and a feature branch."""
    repo = GitRepo(tmp_path / "source")
    repo.commit("Initial commit", {"Layerfile": "FROM vm/ubuntu:22.04\nRUN true\n"})
    repo.commit(
        "Add checkout flow\n\nThe cart can now be paid for.\nSecond line.",
        {"app.py": "print('hi')\n"},
        author="Grace Hopper <grace@example.test>",
    )
    repo.branch("feature/pay")
    repo.commit("WIP: pay with card", {"pay.py": "pass\n"})
    repo.git("tag", "v1.0")
    repo.checkout("master")
    return repo


@pytest.fixture
def repository(org: Organization, source: GitRepo) -> Repository:
    return Repository.objects.create(
        organization=org, name="webapp", git_source=str(source.path)
    )


@pytest.fixture
def other_repository(other_org: Organization, source: GitRepo) -> Repository:
    return Repository.objects.create(
        organization=other_org, name="webapp", git_source=str(source.path)
    )


@pytest.fixture
def token(org: Organization) -> str:
    return ApiToken.issue(org, "tests")[1]


@pytest.fixture
def other_token(other_org: Organization) -> str:
    return ApiToken.issue(other_org, "tests")[1]


@pytest.fixture
def member(org: Organization) -> User:
    user = User.objects.create_user("member", password="pw-member-1")
    Membership.objects.create(organization=org, user=user)
    return user


@pytest.fixture
def outsider(other_org: Organization) -> User:
    user = User.objects.create_user("outsider", password="pw-outsider-1")
    Membership.objects.create(organization=other_org, user=user)
    return user


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_superuser("staff", password="pw-staff-1")


@pytest.fixture
def member_client(client: Client, member: User) -> Client:
    client.force_login(member)
    return client
