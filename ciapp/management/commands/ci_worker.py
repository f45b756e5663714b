from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

from ciapp.execution import scheduling
from ciapp.execution.identity import host_queue, worker_id
from ciapp.models import Job

logger = logging.getLogger("ciapp.worker")


class Command(BaseCommand):
    help = (
        "Run jobs: take work from the queue, run it, and end work whose "
        "worker died. Start as many as you like, on as many hosts as you like."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--max-tasks",
            type=int,
            default=None,
            help="stop after this many tasks (for tests and recycling)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        me = worker_id()
        logging.getLogger("django_tasks").setLevel(logging.WARNING)
        stop = threading.Event()
        upkeep = threading.Thread(
            target=_upkeep, args=(stop,), name="upkeep", daemon=True
        )
        upkeep.start()
        worker = Worker(
            queue_names=["default", host_queue()],
            interval=settings.CI_WORKER_POLL_SECONDS,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=options["max_tasks"],
            worker_id=me,
            excluded_queue_names=[],
        )
        worker.configure_signals()
        logger.info("worker %s takes work from %s", me, ", ".join(worker.queue_names))
        try:
            _run_through_outages(worker)
        finally:
            stop.set()
            upkeep.join(timeout=5)
        logger.info("worker %s stopped", me)


def _run_through_outages(worker: Worker) -> None:
    """Run the worker; when the database goes away, wait for it and go on."""
    pause = 1.0
    while worker.running:
        try:
            worker.run()
            return
        except (OperationalError, InterfaceError) as e:
            logger.error("the database is away (%s); trying again in %.0f s", e, pause)
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 30.0)


def _upkeep(stop: threading.Event) -> None:
    """End work whose worker died, and delete files no one needs any more."""
    interval = max(1.0, settings.CI_LEASE_SECONDS / 3)
    try:
        while True:
            try:
                close_old_connections()
                ended = scheduling.reap()
                if ended:
                    logger.warning("took care of %d pieces of lost work", ended)
                _sweep_work_folders()
            except Exception:
                logger.exception("upkeep failed; trying again")
            if stop.wait(interval):
                return
    finally:
        connection.close()


_last_sweep = 0.0


def _sweep_work_folders() -> None:
    """Delete the files of jobs that ended long enough ago, every few minutes.

    Runners keep their files only while a child runner may still start from
    them; this removes what a killed worker left behind too.
    """
    global _last_sweep
    if time.monotonic() - _last_sweep < 300:
        return
    _last_sweep = time.monotonic()
    root = settings.CI_WORK_DIR
    if not root.is_dir():
        return
    cutoff = timezone.now() - timedelta(hours=settings.CI_KEEP_WORK_HOURS)
    folders = {p.name: p for p in root.iterdir() if p.is_dir() and _is_uuid(p.name)}
    keep = {
        str(u)
        for u in Job.objects.filter(uuid__in=list(folders))
        .filter(Q(finished_at__isnull=True) | Q(finished_at__gte=cutoff))
        .values_list("uuid", flat=True)
    }
    for name, path in folders.items():
        if name not in keep:
            shutil.rmtree(path, ignore_errors=True)


def _is_uuid(name: str) -> bool:
    try:
        uuid.UUID(name)
    except ValueError:
        return False
    return True
