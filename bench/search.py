"""Time search and the run list on a large database.

    CI_DATA_DIR=/tmp/scale-sqlite .venv/bin/python bench/search.py --jobs 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ci_bench \\
        .venv/bin/python bench/search.py --jobs 1000000

The database is the one the environment names, exactly as for manage.py; the
default one under var/ is refused, since the benchmark fills it with a
million generated jobs. It is migrated, and filled with ``generate_jobs``
until it holds ``--jobs`` jobs.

For each class of query, on the same data and in the same run, it times:

- api: the real view, through Django's test client in this process:
  ``GET /api/v1/run/<repo>/search?search=...`` with a token;
- sql: the statements that request ran, captured once and run again on a
  cursor: the floor the view cannot go below;
- naive: what a typical project ships: the same view with the plain
  ``icontains`` on title, body and author (``Query.to_q()``), which no text
  index helps;

and checks that the view and the naive query find the same job. Then it
times the dashboard's run list, page 1 and page 10,000, with and without a
search, and counts its queries; "list" is the run list's own query alone,
as the dashboard's view makes it, apart from the rest of the page. Results
are printed as tables and, with ``--json``, written out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ciapp.settings")
# The API's rate limit (calls per token per minute) would answer most of the
# benchmark's calls with 429; it is turned off, as its own setting allows.
os.environ.setdefault("CI_API_RATE_LIMIT", "0")

# (class, query, what it shows). {repo} and {number} are filled in.
API_QUERIES = [
    ("repo:", "repo:{repo}", "structured"),
    ("branch: (default)", "branch:{branch}", "structured"),
    ("branch: (rare)", "branch:{rare_branch}", "structured"),
    ("id:", "id:{number}", "structured"),
    ("status:", "status:failure", "structured"),
    ("status: (rare)", "status:job_error", "structured"),
    ("running", "running", "structured"),
    ("done", "done", "structured"),
    ("failed", "failed", "structured"),
    ("rare word", "PAY-4821", "text"),
    ("rare identifier", "spool_backoff_probe", "text"),
    ("uncommon word", "refund_ledger", "text"),
    ("common word", "fix", "text"),
    ("absent word", "kumquat", "text"),
    ("absent, common trigrams", "ocus", "text"),
    ("phrase", '"login page"', "text"),
    ("rare phrase", '"Fix flaky tests on slow runners"', "text"),
    ("exclusion", "-fix", "text"),
    ("mixed", "login -wip branch:{branch} failed", "mixed"),
    ("mixed, rare", "refund_ledger -fix status:succeeded", "mixed"),
    ("short word", "ui", "text"),
]

DASHBOARD_SEARCHES = [
    ("no search", ""),
    ("common word", "fix"),
    ("rare word", "PAY-4821"),
    ("phrase", '"login page"'),
    ("branch:", "branch:main"),
    ("failed", "failed"),
]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 3) -> list[float]:
    """Milliseconds of each of ``repeat`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "n": len(times),
    }


@contextmanager
def naive_matching() -> Iterator[None]:
    """Make searches what a typical project ships.

    ``Job.objects.matching()`` and the API's ``Job.newest_matching()``
    become the plain ``icontains`` on title, body and author, which no index
    helps, through the ORM as usual.
    """
    from ciapp.models import Job, JobQuerySet, Repository
    from ciapp.search import Query, parse

    def matching(self: JobQuerySet, query: str | Query) -> JobQuerySet:
        if isinstance(query, str):
            query = parse(query)
        return self.filter(query.to_q())

    def newest_matching(
        cls: type[Job], repository: Repository, query: Query
    ) -> Job | None:
        jobs = Job.objects.filter(repository=repository).filter(query.to_q())
        job = jobs.order_by("-number").first()
        if job is not None:
            job.repository = repository
        return job

    indexed = JobQuerySet.matching, Job.__dict__["newest_matching"]
    JobQuerySet.matching = matching
    Job.newest_matching = classmethod(newest_matching)
    try:
        yield
    finally:
        JobQuerySet.matching = indexed[0]
        Job.newest_matching = indexed[1]


@contextmanager
def captured(connection: Any) -> Iterator[list[tuple[str, Any]]]:
    """The statements run on ``connection`` inside the block, with params."""
    statements: list[tuple[str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield statements


def uses_text_index(sql: str) -> bool:
    """Whether a statement asks a text index: SQLite's FTS5 table, or the
    expression of PostgreSQL's trigram index."""
    from ciapp.textsearch import TEXT_TABLE

    return TEXT_TABLE in sql or "CHR(1)" in sql


def check_database() -> None:
    if not (os.environ.get("DATABASE_URL") or os.environ.get("CI_DATA_DIR")):
        sys.exit(
            "Set DATABASE_URL or CI_DATA_DIR: the benchmark fills the database "
            "with generated jobs, so it never uses the default one under var/."
        )


def prepare(jobs: int, seed: int) -> None:
    from django.core.management import call_command

    from ciapp.models import Job

    call_command("migrate", verbosity=0)
    # The dashboard's pages need the static files' manifest.
    call_command("collectstatic", interactive=False, verbosity=0)
    have = Job.objects.count()
    if have < jobs:
        print(f"The database has {have:,} jobs; generating {jobs - have:,} ...")
        call_command("generate_jobs", str(jobs - have), seed=str(seed))
    else:
        print(f"The database has {have:,} jobs.")


def machine() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        (version,) = cursor.fetchone()
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        memory = meminfo.read_text().splitlines()[0].split(":")[1].strip()
    import django

    return {
        "database": f"{connection.vendor} {version}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "cpus": os.cpu_count(),
        "memory": memory,
        "load": os.getloadavg(),
    }


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        from django.contrib.auth.models import User
        from django.db.models import Count
        from django.test import Client

        from ciapp.models import ApiToken, Membership, Organization, Repository

        self.args = args
        repositories = Repository.objects.select_related("organization")
        if args.repo:
            self.repository = repositories.get(name=args.repo)
        else:
            # The busiest repository: its walks are the longest.
            self.repository = (
                repositories.annotate(jobs_count=Count("jobs"))
                .order_by("-jobs_count")
                .first()
            )
        self.organization = Organization.objects.get(name=args.org)
        self.user, _ = User.objects.get_or_create(username="bench")
        for organization in Organization.objects.all():
            Membership.objects.get_or_create(organization=organization, user=self.user)
        self.token = ApiToken.issue(self.repository.organization, "bench")[1]
        self.api = Client(HTTP_HOST="127.0.0.1")
        self.dashboard = Client(HTTP_HOST="127.0.0.1")
        self.dashboard.force_login(self.user)

    def fill(self, query: str) -> str:
        from ciapp.models import Job

        jobs = Job.objects.filter(repository=self.repository)
        branch = self.repository.default_branch
        rare_branch = (
            jobs.exclude(branch=branch)
            .order_by("number")
            .values_list("branch", flat=True)[10:11]
            .get()
        )
        return query.format(
            repo=self.repository.name,
            branch=branch,
            rare_branch=rare_branch,
            number=self.repository.last_job_number // 2,
        )

    def api_search(self, query: str) -> Any:
        url = f"/api/v1/run/{self.repository.name}/search"
        return self.api.get(url, {"search": query, "token": self.token})

    def naive(self, query: str) -> Any:
        """The same view, with the plain ``icontains`` of ``Query.to_q()``."""
        with naive_matching():
            return self.api_search(query)

    def run_api(self) -> list[dict[str, Any]]:
        from django.db import connection

        rows = []
        for name, template, kind in API_QUERIES:
            query = self.fill(template)
            response = self.api_search(query)
            found = response.json().get("job", {}).get("id")
            expected = self.naive(query).json().get("job", {}).get("id")
            if found != expected:
                raise SystemExit(
                    f"{name} ({query}): the view found {found}, the naive query "
                    f"{expected}"
                )

            api = timed(lambda q=query: self.api_search(q), self.args.repeat)
            with captured(connection) as statements:
                self.api_search(query)

            def replay(statements: list[tuple[str, Any]] = statements) -> None:
                with connection.cursor() as cursor:
                    for sql, params in statements:
                        cursor.execute(sql, params)
                        cursor.fetchall()

            sql = timed(replay, self.args.repeat)
            with captured(connection) as naive_statements:
                self.naive(query)
            if any(uses_text_index(sql) for sql, _ in naive_statements):
                raise SystemExit(f"{name} ({query}): the naive query used the index")
            naive = timed(lambda q=query: self.naive(q), self.args.naive_repeat, 1)
            row = {
                "class": name,
                "kind": kind,
                "query": query,
                "found": found,
                "statements": len(statements),
                "api": summary(api),
                "sql": summary(sql),
                "naive": summary(naive),
            }
            rows.append(row)
            print(format_api_row(row), flush=True)
        return rows

    def page_before(self, page: int) -> int:
        """The ``before`` that shows page ``page`` of the organization's list."""
        from ciapp.models import Job

        offset = (page - 1) * 50 - 1
        return (
            Job.objects.filter(organization=self.organization)
            .order_by("-pk")
            .values_list("pk", flat=True)[offset : offset + 1]
            .get()
        )

    def run_list(self, path: str, params: dict[str, str]) -> list[Any]:
        """Only the run list's own query, as the dashboard's view makes it."""
        from django.http import QueryDict

        from ciapp.models import Job
        from dashboard import paging
        from dashboard.filters import JobFilter

        jobs = Job.objects.for_org(self.organization)
        if path.rstrip("/").count("/") == 2:
            jobs = jobs.filter(repository=self.repository)
        data = QueryDict(mutable=True)
        data.update(params)
        search = JobFilter(data, queryset=jobs.select_related("repository"))
        return list(paging.window(search.qs, paging.Cursor.from_params(data)))

    def run_dashboard(self) -> list[dict[str, Any]]:
        from django.db import connection

        org = self.organization.name
        deep = self.page_before(self.args.deep_page)
        pages = []
        for name, query in DASHBOARD_SEARCHES:
            params = {"q": query} if query else {}
            pages.append((name, f"/{org}/", params, "1"))
            if not query:
                pages.append(
                    (name, f"/{org}/", {"before": str(deep)}, str(self.args.deep_page))
                )
        repo_path = f"/{org}/{self.repository.name}/"
        if self.repository.organization_id == self.organization.pk:
            pages.append(("repository page", repo_path, {}, "1"))
            pages.append(("repository page", repo_path, {"q": "fix"}, "1"))

        rows = []
        for name, path, params, page in pages:
            response = self.dashboard.get(path, params)
            if response.status_code != 200:
                raise SystemExit(f"{path} {params}: HTTP {response.status_code}")
            with captured(connection) as statements:
                self.dashboard.get(path, params)
            times = timed(
                lambda p=path, q=params: self.dashboard.get(p, q),
                self.args.dashboard_repeat,
            )
            listing = timed(
                lambda p=path, q=params: self.run_list(p, q),
                self.args.dashboard_repeat,
            )
            row = {
                "page": name,
                "path": path,
                "params": params,
                "page_number": page,
                "queries": len(statements),
                "time": summary(times),
                "list": summary(listing),
            }
            rows.append(row)
            print(format_dashboard_row(row), flush=True)
        return rows


def format_api_row(row: dict[str, Any]) -> str:
    api, sql, naive = row["api"], row["sql"], row["naive"]
    return (
        f"| {row['class']:<24} | `{row['query'][:34]}` | "
        f"{api['p50']:6.2f} | {api['p95']:6.2f} | {sql['p50']:6.2f} | "
        f"{sql['p95']:6.2f} | {api['p50'] - sql['p50']:5.2f} | "
        f"{naive['p50']:8.2f} | {naive['p95']:8.2f} | "
        f"{naive['p50'] / api['p50']:7.1f}× |"
    )


API_HEADER = (
    "| class | query | api p50 | api p95 | sql p50 | sql p95 | api−sql p50 "
    "| naive p50 | naive p95 | naive/api |\n"
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def format_dashboard_row(row: dict[str, Any]) -> str:
    query = row["params"].get("q", "")
    return (
        f"| {row['page']:<16} | {row['path']} | `{query}` | {row['page_number']} | "
        f"{row['time']['p50']:6.2f} | {row['time']['p95']:6.2f} | {row['queries']} | "
        f"{row['list']['p50']:5.2f} | {row['list']['p95']:5.2f} |"
    )


DASHBOARD_HEADER = (
    "| page | path | search | page no. | page p50 | page p95 | queries "
    "| list p50 | list p95 |\n"
    "|---|---|---|--:|--:|--:|--:|--:|--:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=200, help="timings per query")
    parser.add_argument("--naive-repeat", type=int, default=20)
    parser.add_argument("--dashboard-repeat", type=int, default=50)
    parser.add_argument("--deep-page", type=int, default=10_000)
    parser.add_argument("--repo", default="", help="default: the busiest one")
    parser.add_argument("--org", default="acme", help="the run list to time")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()

    check_database()
    import logging

    import django

    django.setup()
    # A search that finds nothing answers 404, which Django logs as a warning.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    prepare(args.jobs, args.seed)

    bench = Bench(args)
    before = machine()
    print(
        f"\n{before['database']}, Python {before['python']}, Django "
        f"{before['django']}, {before['cpus']} CPUs, {before['memory']}; "
        f"load {before['load'][0]:.2f}"
    )
    print(
        f"\nAPI search in {bench.repository.organization.name}/"
        f"{bench.repository.name} ({bench.repository.last_job_number:,} jobs), "
        f"milliseconds, {args.repeat} timings (naive {args.naive_repeat}):\n"
    )
    print(API_HEADER)
    api = bench.run_api()
    print(f"\nDashboard run list of {args.org}, {args.dashboard_repeat} timings:\n")
    print(DASHBOARD_HEADER)
    dashboard = bench.run_dashboard()
    after = os.getloadavg()
    print(f"\nload average after: {after[0]:.2f}")

    if args.json:
        results = {
            "machine": before,
            "load_after": after,
            "repository": bench.repository.name,
            "api": api,
            "dashboard": dashboard,
        }
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
