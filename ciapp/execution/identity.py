"""Who this worker is, for leases and for its own queue."""

from __future__ import annotations

import os

from django.conf import settings


def worker_id() -> str:
    return f"{settings.CI_HOST_NAME}:{os.getpid()}"


def host_queue(host: str | None = None) -> str:
    """The queue of work that needs the files on one host's disk."""
    return f"host-{host or settings.CI_HOST_NAME}"
