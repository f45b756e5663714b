"""Leases: how a worker shows it is still alive while it works.

A worker holds a lease on the job it starts or the runner it runs, and a
thread of its own renews it every third of ``CI_LEASE_SECONDS``. A lease
that runs out means the worker died or lost the database; the reaper (see
:func:`ciapp.execution.scheduling.reap`) then ends the work as an error.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from types import TracebackType

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ciapp.models import Job, Runner
from ciapp.statuses import JobStatus, RunnerStatus

logger = logging.getLogger(__name__)


class _Renewer:
    """A thread that calls ``renew`` every ``interval`` seconds until stopped.

    ``renew`` returning False ends the thread.
    """

    def __init__(self, name: str, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def renew(self) -> bool:
        raise NotImplementedError

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    if not self.renew():
                        return
                except Exception:
                    # The database may be away for a moment; the lease is
                    # long enough for a few missed renewals. A new connection
                    # is made for the next one.
                    logger.exception("could not renew a lease")
                    connection.close()
        finally:
            connection.close()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class JobLease(_Renewer):
    """Hold a job while it is being started."""

    def __init__(self, job: Job, worker: str) -> None:
        super().__init__(f"lease-job-{job.pk}", settings.CI_LEASE_SECONDS / 3)
        self.job_id = job.pk
        self.worker = worker

    def renew(self) -> bool:
        expires = timezone.now() + timedelta(seconds=settings.CI_LEASE_SECONDS)
        return bool(
            Job.objects.filter(
                pk=self.job_id,
                status=JobStatus.STARTING_RUNNERS,
                lease_owner=self.worker,
            ).update(lease_expires_at=expires)
        )

    def __enter__(self) -> JobLease:
        expires = timezone.now() + timedelta(seconds=settings.CI_LEASE_SECONDS)
        Job.objects.filter(pk=self.job_id).update(
            lease_owner=self.worker, lease_expires_at=expires
        )
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
        Job.objects.filter(pk=self.job_id, lease_owner=self.worker).update(
            lease_owner="", lease_expires_at=None
        )


class RunnerHeartbeat(_Renewer):
    """Hold a runner while it runs, and notice when it is cancelled.

    ``cancelled`` is set when someone cancels the runner, ``lost`` when the
    lease was taken away (the reaper ended the runner): either way the
    executor stops its processes.
    """

    # How often to look for a cancel, in seconds.
    POLL_SECONDS = 1.0

    def __init__(self, runner: Runner, worker: str) -> None:
        super().__init__(f"lease-runner-{runner.pk}", self.POLL_SECONDS)
        self.runner = runner
        self.worker = worker
        self.cancelled = threading.Event()
        self.lost = threading.Event()
        self._renewed_at = time.monotonic()

    def renew(self) -> bool:
        status, owner = (
            Runner.objects.filter(pk=self.runner.pk)
            .values_list("status", "lease_owner")
            .get()
        )
        if status == RunnerStatus.CANCELLED:
            self.cancelled.set()
            return False
        if status != RunnerStatus.RUNNING or owner != self.worker:
            self.lost.set()
            return False
        if time.monotonic() - self._renewed_at >= settings.CI_LEASE_SECONDS / 3:
            if not self.runner.renew_lease(self.worker):
                self.lost.set()
                return False
            self._renewed_at = time.monotonic()
        return True

    def __enter__(self) -> RunnerHeartbeat:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
