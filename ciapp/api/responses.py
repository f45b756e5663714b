"""The API's JSON envelope: ``{"status": "ok", …}`` or an error sentence."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


def ok(**payload: Any) -> JsonResponse:
    return JsonResponse({"status": "ok", **payload})


def error(message: str, status: int, **headers: str) -> JsonResponse:
    response = JsonResponse({"status": "error", "error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response
