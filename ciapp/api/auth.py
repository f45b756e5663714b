"""Authentication of API calls by an organization's token.

webapp.io takes the token as the query parameter ``token``; clients may also
send ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ciapp.api.responses import error
from ciapp.models import ApiToken, Organization, Repository
from ciapp.names import stored_repository_name

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


class ApiRequest(HttpRequest):
    api_token: ApiToken
    organization: Organization
    # The repository the URL names, looked up with the token (see
    # ciapp.api.views._repository): its name as the URL gives it, and the
    # organization's repository of that name, if there is one.
    repository_name: str | None
    repository: Repository | None


def _presented_token(request: HttpRequest) -> tuple[str | None, str | None]:
    """The token the request carries, or an error sentence."""
    from_query = request.GET.get("token")
    header = request.headers.get("Authorization", "")
    from_header = None
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return None, "The Authorization header must be 'Bearer <token>'."
        from_header = value.strip()
    if from_query and from_header and from_query != from_header:
        return None, (
            "The token in the query string and the one in the Authorization "
            "header differ; send one."
        )
    token = from_header or from_query
    if not token:
        return None, (
            "An API token is required: pass it as the query parameter "
            "'token' or as 'Authorization: Bearer <token>'."
        )
    return token, None


def _over_rate_limit(token: ApiToken) -> int:
    """Count a call; seconds to wait if the token is over its limit, else 0.

    Counts are kept per token per calendar minute in the cache.
    """
    limit = settings.CI_API_RATE_LIMIT
    if not limit:
        return 0
    now = time.time()
    window = int(now // 60)
    key = f"api-calls:{token.key_id}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        calls = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        calls = 1
    if calls <= limit:
        return 0
    logger.info("API token %s is over its rate limit", token.key_id)
    return max(1, int((window + 1) * 60 - now) + 1)


def token_required(view: View) -> View:
    """Let the view run only for a valid token, and give it the organization."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        plain, problem = _presented_token(request)
        if plain is None:
            return error(problem or "", 401, WWW_Authenticate="Bearer")

        # Most calls name a repository (the keyword argument ``repo``): it
        # comes in the token's query.
        named = kwargs.get("repo")
        stored = stored_repository_name(named) if named else None
        token = ApiToken.authenticate(plain, repository=stored or "")
        if token is None:
            logger.info("rejected an API token from %s", request.META["REMOTE_ADDR"])
            return error(
                "The API token is not valid: it is unknown or was revoked.",
                401,
                WWW_Authenticate="Bearer",
            )

        wait = _over_rate_limit(token)
        if wait:
            return error(
                f"This token made more than {settings.CI_API_RATE_LIMIT} calls this "
                f"minute; try again in {wait} s.",
                429,
                Retry_After=str(wait),
            )

        token.touch()
        api = cast(ApiRequest, request)
        api.api_token = token
        api.organization = token.organization
        api.repository_name = named if stored else None
        api.repository = getattr(token, "named_repository", None)
        return view(api, *args, **kwargs)

    return wrapper


def allow_methods(*methods: str) -> Callable[[View], View]:
    """Answer other methods with a JSON 405 that lists the allowed ones."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return error(
                    f"{request.method} is not allowed here; use "
                    f"{' or '.join(methods)}.",
                    405,
                    Allow=", ".join(methods),
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
