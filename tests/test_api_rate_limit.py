"""A per-token rate limit, answered with 429 and Retry-After."""

import pytest
import redis
from django.core.cache import cache

URL = "/api/v1/run/webapp/search"


@pytest.fixture
def limit(settings):
    settings.CI_API_RATE_LIMIT = 3
    cache.clear()
    yield 3
    cache.clear()


def calls(client, token, n):
    return [client.get(URL, {"token": token}) for _ in range(n)]


def test_it_answers_429_past_the_limit(client, token, repository, limit):
    answers = calls(client, token, limit + 2)

    assert [r.status_code for r in answers] == [404] * limit + [429, 429]
    last = answers[-1]
    assert 1 <= int(last["Retry-After"]) <= 61
    assert last.json() == {
        "status": "error",
        "error": f"This token made more than 3 calls this minute; try again in {last['Retry-After']} s.",
    }


def test_each_token_has_its_own_count(client, token, repository, org, limit):
    from ciapp.models import ApiToken

    calls(client, token, limit + 1)
    _, another = ApiToken.issue(org)

    assert calls(client, another, 1)[0].status_code == 404


def test_bad_tokens_are_refused_before_they_count(client, token, repository, limit):
    for _ in range(limit + 2):
        assert (
            client.get(URL, {"token": "lci_0000000000000000_nope"}).status_code == 401
        )

    assert calls(client, token, 1)[0].status_code == 404


def test_zero_turns_it_off(client, token, repository, settings):
    settings.CI_API_RATE_LIMIT = 0

    assert {r.status_code for r in calls(client, token, 20)} == {404}


def test_it_counts_in_redis_across_processes(client, token, repository, settings):
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/15",
        }
    }
    settings.CI_API_RATE_LIMIT = 2
    cache.clear()
    try:
        answers = calls(client, token, 3)
        assert [r.status_code for r in answers] == [404, 404, 429]
        keys = redis.Redis(host="127.0.0.1", port=6379, db=15).keys("*api-calls*")
        assert len(keys) == 1
    finally:
        cache.clear()
