"""Security headers the service sends with every answer."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found, server_error

logger = logging.getLogger(__name__)


class ContentSecurityPolicy:
    """Send ``Content-Security-Policy``: this service's own files only.

    No page has inline script, so scripts may come from the service alone;
    SVG charts and badges are inline markup, not scripts.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response


class DatabaseUnavailable:
    """Answer 503 while the database cannot be reached, instead of a crash.

    API calls get the API's JSON error; pages get a short plain answer. Both
    carry ``Retry-After``.
    """

    RETRY_AFTER = "5"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as e:
            # Raised outside a view (in middleware, or by the session or
            # authentication machinery): handled here like in a view.
            return self._unavailable(request, e)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if isinstance(exception, (OperationalError, InterfaceError)):
            return self._unavailable(request, exception)
        return None

    def _unavailable(self, request: HttpRequest, error: Exception) -> HttpResponse:
        logger.error("database unavailable for %s: %s", request.path, error)
        message = "The service's database cannot be reached; try again shortly."
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"status": "error", "error": message}, status=503
            )
        else:
            response = HttpResponse(message, status=503, content_type="text/plain")
        response["Retry-After"] = self.RETRY_AFTER
        return response


def api_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path nothing answers: in the API, the API's own JSON error."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "status": "error",
                "error": f"There is no API endpoint at {request.path}.",
            },
            status=404,
        )
    return page_not_found(request, exception)


def api_server_error(request: HttpRequest) -> HttpResponse:
    """A crash in the API still answers in the API's own form."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "status": "error",
                "error": "The service failed to answer; it was logged.",
            },
            status=500,
        )
    return server_error(request)
