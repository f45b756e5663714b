"""A health check: the process is up and answers.

``GET /healthz`` answers ``{"status": "ok"}`` without touching the database,
so that a load balancer can tell a live web process from a dead one, and so
that benchmarks have the cheapest JSON answer the stack can give to compare
the real endpoints with.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
