"""A real gunicorn for tests, on the test database, with DEBUG off."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from tests.workers import ROOT, database_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(folder: Path, **env: str) -> Iterator[str]:
    """Serve the service from ``folder``; yields its URL. ``env`` overrides."""
    port = free_port()
    environment = {
        **os.environ,
        "CI_DATA_DIR": str(folder),
        "DATABASE_URL": database_url(),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": "tests-only",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=environment,
        check=True,
    )
    log_path = folder / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "ciapp.wsgi", "-b", f"127.0.0.1:{port}"]
            + ["--workers", "1", "--threads", "4", "--access-logfile", "-"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(url + "/api/v1/openapi.json", timeout=1)
                break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + log_path.read_text())
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
