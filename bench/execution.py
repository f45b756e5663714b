"""How quickly an idle worker gets going, and what a runner costs.

Usage: .venv/bin/python bench/execution.py [--runs 20] [--database-url URL]

Starts from an empty database in a temporary folder (SQLite unless
--database-url names another, which it then fills: give it an empty one),
makes a git repository whose Layerfile is ``FROM vm/ubuntu:22.04`` and
``RUN true``, starts one real worker process and lets it go idle, then
creates runs one after another through the real API and measures, for each:

- start latency: run created → its RUN step starting;
- runner overhead: the runner's whole life (claimed → finished) for a
  Layerfile whose only command is ``true``;
- end to end: run created → run finished.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="ci-bench-"))
    os.environ["CI_DATA_DIR"] = str(folder / "data")
    os.environ["DATABASE_URL"] = (
        args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    )
    os.environ.setdefault("CI_WORKER_POLL_SECONDS", "0.2")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ciapp.settings"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from ciapp.models import ApiToken, Job, Organization, Repository, Step
    from ciapp.statuses import RUNNING_STATUSES

    call_command("migrate", verbosity=0)
    source = folder / "source"
    source.mkdir()
    git = ["git", "-C", str(source), "-c", "user.name=Bench", "-c", "user.email=b@x"]
    subprocess.run([*git, "init", "-q", "-b", "master"], check=True)
    (source / "Layerfile").write_text("FROM vm/ubuntu:22.04\nRUN true\n")
    subprocess.run([*git, "add", "Layerfile"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "Bench"], check=True)
    org = Organization.objects.create(name="bench")
    Repository.objects.create(organization=org, name="bench", git_source=str(source))
    _, token = ApiToken.issue(org)

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "ci_worker"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = Client()
    starts, overheads, totals = [], [], []
    try:
        time.sleep(3)  # let the worker start and go idle
        for _ in range(args.runs):
            response = client.post(f"/api/v1/run/bench?token={token}")
            assert response.status_code == 200, response.content
            job = Job.objects.get(uuid=response.json()["job"]["uuid"])
            deadline = time.monotonic() + 60
            while job.calculated_status in RUNNING_STATUSES:
                assert time.monotonic() < deadline, "the run did not finish"
                time.sleep(0.02)
                job.refresh_from_db()
            assert job.calculated_status == "SUCCEEDED", job.calculated_status
            runner = job.runners.get()
            run_step = Step.objects.get(runner=runner, instruction="RUN true")
            starts.append((run_step.started_at - job.created_at).total_seconds())
            overheads.append((runner.finished_at - runner.started_at).total_seconds())
            totals.append((job.finished_at - job.created_at).total_seconds())
            time.sleep(0.5)  # idle again before the next run
    finally:
        worker.terminate()
        worker.wait()

    def line(name: str, values: list[float]) -> str:
        values = sorted(values)
        p95 = values[max(0, round(len(values) * 0.95) - 1)]
        return (
            f"{name:<40} p50 {statistics.median(values) * 1000:7.0f} ms"
            f"   p95 {p95 * 1000:7.0f} ms"
        )

    vendor = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    print(
        f"{args.runs} runs on {vendor}, one idle worker polling every "
        f"{os.environ['CI_WORKER_POLL_SECONDS']} s"
    )
    print(line("created -> first RUN starts", starts))
    print(line("runner claimed -> finished (RUN true)", overheads))
    print(line("created -> run finished", totals))


if __name__ == "__main__":
    main()
