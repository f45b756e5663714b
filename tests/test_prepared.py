"""Statements compiled once: they must answer exactly as the ORM does."""

import uuid
from datetime import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from ciapp import prepared, textsearch
from ciapp.models import ApiToken, Job, Organization, Repository
from ciapp.prepared import Prepared
from ciapp.search import parse
from tests.factories import make_job
from tests.test_text_search import QUERIES

pytestmark = pytest.mark.django_db


def ormish_newest(repository, query):
    return (
        Job.objects.filter(repository=repository)
        .filter(parse(query).to_q())
        .order_by("-number")
        .first()
    )


@pytest.fixture
def jobs(repository):
    texts = [
        ("Add login page", "Uses OAuth.", "Ada Lovelace"),
        ("Fix the login", "page two of the docs", "Grace Hopper"),
        ("Show 100% coverage", "", "Ken Thompson"),
        ("Call refund_ledger twice", "", "Ken Thompson"),
        (r"Escape C:\temp\new paths", "", "Dennis Ritchie"),
        ("Übersetzung der Straße", "Grüße aus Köln", "Søren Jørgensen"),
        ("修复登录页面", "", "王小明"),
        ("Tweak the UI", "", "Ana Souza"),
    ]
    made = []
    for i, (title, body, author) in enumerate(texts * 2):
        made.append(
            make_job(
                repository,
                commit_title=title,
                commit_body=body,
                commit_author=author,
                branch="main" if i % 3 else "feature/x",
            )
        )
    return made


SEARCHES = [query for query, _ in QUERIES] + [
    "",
    "failed",
    "branch:main",
    "-branch:main login",
    "id:3",
    "id:999",
    "status:new",
    "repo:webapp login",
    "repo:other",
]


@pytest.mark.parametrize("limit", [textsearch.CANDIDATE_LIMIT, 1])
def test_the_newest_match_is_the_orms(jobs, repository, monkeypatch, limit):
    # A limit of 1 sends every indexed word on SQLite down the walk.
    monkeypatch.setattr(textsearch, "CANDIDATE_LIMIT", limit)
    for search in SEARCHES:
        expected = ormish_newest(repository, search)
        for _ in range(2):  # compiled, then from the cache
            assert Job.newest_matching(repository, parse(search)) == expected, search


def test_a_cached_statement_sees_new_data(jobs, repository):
    query = parse("zebracorn")
    assert Job.newest_matching(repository, query) is None

    first = make_job(repository, commit_title="zebracorn one")
    assert Job.newest_matching(repository, query) == first
    second = make_job(repository, commit_title="zebracorn two")
    assert Job.newest_matching(repository, query) == second

    other = Repository.objects.create(
        organization=repository.organization, name="other", git_source="/x"
    )
    assert Job.newest_matching(other, query) is None
    elsewhere = make_job(other, commit_title="zebracorn three")
    assert Job.newest_matching(other, query) == elsewhere
    assert Job.newest_matching(repository, query) == second


def test_the_job_comes_back_whole(jobs, repository):
    job = Job.newest_matching(repository, parse("login"))
    fresh = Job.objects.get(pk=job.pk)

    for field in Job._meta.concrete_fields:
        assert getattr(job, field.attname) == getattr(fresh, field.attname), field
    assert isinstance(job.uuid, uuid.UUID)
    assert isinstance(job.created_at, datetime) and job.created_at.tzinfo
    assert isinstance(job.accept_buttons, bool)
    assert job.repository is repository
    assert job.to_dict() == fresh.to_dict()


def test_a_token_comes_with_its_organization(org, django_assert_num_queries):
    token, plain = ApiToken.issue(org, "ci")

    with django_assert_num_queries(1):
        found = ApiToken.authenticate(plain)
        assert found.organization.name == "acme"
    assert found == token
    assert isinstance(found.organization, Organization)
    assert found.created_at == ApiToken.objects.get(pk=token.pk).created_at


def test_a_revoked_token_stops_working_at_once(org):
    token, plain = ApiToken.issue(org, "ci")
    assert ApiToken.authenticate(plain) == token

    token.revoke()

    assert ApiToken.authenticate(plain) is None


def test_a_repository_is_found_by_its_organization_and_name(repository, other_org):
    assert Repository.named(repository.organization, "webapp") == repository
    assert Repository.named(repository.organization, "nope") is None
    assert Repository.named(other_org, "webapp") is None


def test_a_stand_in_must_reach_the_sql_whole(org):
    # icontains wraps the value in % signs: the compiled SQL cannot take the
    # real value in its place.
    wrapped = Prepared(
        Organization,
        lambda name: Organization.objects.filter(name__icontains=name),
        [str],
    )
    twice = Prepared(
        Organization,
        lambda name: (
            Organization.objects.filter(name=name)
            | Organization.objects.filter(name=name, pk__gt=1)
        ),
        [str],
    )

    with pytest.raises(ImproperlyConfigured, match="reached the SQL 0 times"):
        wrapped.first("acme")
    with pytest.raises(ImproperlyConfigured, match="not once"):
        twice.first("acme")


def test_a_statement_that_matches_nothing_runs_no_query(org, django_assert_num_queries):
    nothing = Prepared(
        Organization,
        lambda name: Organization.objects.filter(name=name, pk__in=[]),
        [str],
    )

    with django_assert_num_queries(0):
        assert nothing.first("acme") is None


def test_each_connection_keeps_a_bounded_number_of_statements(
    jobs, repository, monkeypatch
):
    monkeypatch.setattr(prepared, "CACHE_SIZE", 5)
    for number in range(1, 20):
        Job.newest_matching(repository, parse(f"id:{number}"))

    statements = connection._prepared_statements
    assert len(statements) == 5
    newest = [key for key in statements if key[0] == "newest-matching"]
    assert len(newest) == 5
    assert any("19" in key[1] for key in newest)
    assert not any("('number', 1)" in key[1] for key in newest)


def test_a_token_comes_with_the_repository_asked_for(
    repository, other_org, django_assert_num_queries
):
    token, plain = ApiToken.issue(repository.organization, "ci")
    other_token, other_plain = ApiToken.issue(other_org, "ci")
    Repository.objects.create(organization=other_org, name="webapp", git_source="/y")

    with django_assert_num_queries(1):
        found = ApiToken.authenticate(plain, repository="webapp")
        assert found.named_repository == repository
        assert found.named_repository.organization.name == "acme"
        assert found.named_repository.git_source == repository.git_source
    assert found == token

    # Each organization sees its own repository of that name, and no other.
    theirs = ApiToken.authenticate(other_plain, repository="webapp")
    assert theirs == other_token
    assert theirs.named_repository.organization == other_org
    assert theirs.named_repository != repository
    assert ApiToken.authenticate(plain, repository="nope").named_repository is None

    token.revoke()
    assert ApiToken.authenticate(plain, repository="webapp") is None
    assert ApiToken.authenticate(plain[:-1] + "x", repository="webapp") is None


def test_a_search_asked_another_way_gets_its_own_statement(
    jobs, repository, monkeypatch
):
    query = parse("login")
    expected = ormish_newest(repository, "login")
    assert Job.newest_matching(repository, query) == expected

    # The sample now finds "login" common: the index is not asked.
    common = textsearch.Sample(["login"] * textsearch.COMMON_IN_SAMPLE)
    monkeypatch.setattr(textsearch, "current_sample", lambda: common)

    assert Job.newest_matching(repository, query) == expected
    shape = repr(textsearch.plan(query, connection.vendor).q)
    assert ("newest-matching", shape, False) in connection._prepared_statements
