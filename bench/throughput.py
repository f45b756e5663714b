"""Requests per second of the search endpoint under gunicorn, against /healthz.

    CI_DATA_DIR=/tmp/scale-sqlite .venv/bin/python bench/throughput.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ci_bench \\
        .venv/bin/python bench/throughput.py

Starts gunicorn on 127.0.0.1 with the database the environment names (run
bench/search.py first to fill it), and points wrk (Debian's package,
installed with apt-get when missing and possible) at ``GET /healthz``, a
JSON view that touches no database, and at the search endpoint with a few
queries. Both go through the same server, middleware and load, so the ratio
says how much of the server's capacity a search costs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ciapp.settings")
# The API's rate limit (calls per token per minute) would answer most of the
# benchmark's calls with 429; it is turned off, as its own setting allows.
os.environ.setdefault("CI_API_RATE_LIMIT", "0")

SEARCHES = ["failed", "fix", "PAY-4821", '"login page" -wip']


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdout=subprocess.DEVNULL,
        )
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is not installed: apt-get install wrk")
    return found


def token_and_repository(name: str) -> tuple[str, str]:
    import django
    from django.db.models import Count

    django.setup()
    from ciapp.models import ApiToken, Repository

    repositories = Repository.objects.select_related("organization")
    if name:
        repository = repositories.get(name=name)
    else:
        repository = (
            repositories.annotate(jobs_count=Count("jobs"))
            .order_by("-jobs_count")
            .first()
        )
    assert repository is not None, "the database has no repositories"
    return ApiToken.issue(repository.organization, "throughput")[1], repository.name


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"gunicorn did not answer {url} within {timeout} s")


def run_wrk(wrk: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    out = subprocess.run(
        [
            wrk,
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--latency",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    rps = float(found.group(1))
    latency = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "latency": latency,
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=int, default=20, help="seconds per URL")
    parser.add_argument("--repo", default="", help="default: the busiest one")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument(
        "--log", type=Path, default=Path("/tmp/bench-gunicorn.log"), help="its log"
    )
    args = parser.parse_args()

    if not (os.environ.get("DATABASE_URL") or os.environ.get("CI_DATA_DIR")):
        sys.exit("Set DATABASE_URL or CI_DATA_DIR, as for bench/search.py.")
    wrk = ensure_wrk()
    token, repo = token_and_repository(args.repo)

    base = f"http://127.0.0.1:{args.port}"
    # The server's own log (a 404 for a search that finds nothing is logged
    # as a warning) goes to a file, not to the terminal.
    log = open(args.log, "w")  # noqa: SIM115
    gunicorn = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "ciapp.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--access-logfile",
            "/dev/null",
            "--error-logfile",
            "-",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    results: dict[str, Any] = {
        "workers": args.workers,
        "connections": args.connections,
        "duration": args.duration,
        "load_before": os.getloadavg(),
        "urls": {},
    }
    try:
        wait_until_up(f"{base}/healthz")
        urls = {"healthz": f"{base}/healthz"}
        for query in SEARCHES:
            params = urlencode({"search": query, "token": token})
            urls[f"search {query}"] = f"{base}/api/v1/run/{repo}/search?{params}"
        print(
            f"gunicorn, {args.workers} sync workers; wrk -t{args.threads} "
            f"-c{args.connections} -d{args.duration}s; repository {repo}\n"
        )
        print("| URL | requests/s | p50 | p99 | share of /healthz | 404 (no match) |")
        print("|---|--:|--:|--:|--:|--:|")
        for name, url in urls.items():
            # A few requests first, so that every worker has its connection.
            for _ in range(args.workers * 4):
                try:
                    urllib.request.urlopen(url, timeout=10).read()
                except urllib.error.HTTPError as e:
                    # 404: the search found no run, a valid answer.
                    if e.code != 404:
                        raise
            result = run_wrk(wrk, url, args)
            results["urls"][name] = result
            share = result["rps"] / results["urls"]["healthz"]["rps"]
            print(
                f"| {name} | {result['rps']:,.0f} | {result['latency'].get('50')} | "
                f"{result['latency'].get('99')} | {share:.0%} | {result['non_2xx']} |",
                flush=True,
            )
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)
    results["load_after"] = os.getloadavg()
    print(
        f"\nload average before {results['load_before'][0]:.2f}, after "
        f"{results['load_after'][0]:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
