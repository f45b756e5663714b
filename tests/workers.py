"""Real worker processes for end-to-end tests, on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """The test database, as a URL a separate process can use."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    host = config.get("HOST") or "127.0.0.1"
    port = config.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{config['NAME']}"


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "ci_worker"],
            cwd=ROOT,
            env=env,
            stdout=open(log, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """Kill the worker at once, as a crash or the OOM killer would."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class Workers:
    """Starts workers that share the test's database and folders."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.started: list[WorkerProcess] = []

    def env(self) -> dict[str, str]:
        """The worker's environment, from the test's settings as they are now."""
        return {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CI_DATA_DIR": str(self.tmp_path / "data"),
            "CI_GIT_MIRROR_DIR": str(settings.GIT_MIRROR_DIR),
            "CI_WORK_DIR": str(settings.CI_WORK_DIR),
            "CI_CACHE_DIR": str(settings.CI_CACHE_DIR),
            "CI_LEASE_SECONDS": str(settings.CI_LEASE_SECONDS),
            "CI_WORKER_POLL_SECONDS": "0.1",
            "CI_STEP_TIMEOUT_SECONDS": str(settings.CI_STEP_TIMEOUT_SECONDS),
            "CI_STEP_LOG_MAX_BYTES": str(settings.CI_STEP_LOG_MAX_BYTES),
            "LOG_LEVEL": "INFO",
        }

    def start(self, **env: str) -> WorkerProcess:
        """Start a worker; ``env`` overrides its environment."""
        log = self.tmp_path / f"worker-{len(self.started) + 1}.log"
        worker = WorkerProcess({**self.env(), **env}, log)
        self.started.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(w.log.read_text() for w in self.started if w.log.exists())

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()


def wait_for(
    predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
