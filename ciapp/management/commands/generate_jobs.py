"""Fill the database with a large, realistic history of CI runs.

For benchmarks and for trying the dashboard at scale: ``generate_jobs N``
adds N jobs over fifty repositories in five organizations of very different
sizes, each job with its runners and their steps, as the service itself
would have stored them. The same ``--seed`` gives the same jobs on any
database.

What the history looks like:

- Commit titles, bodies and authors are made from templates and word lists
  chosen so that searches have every kind of answer: words in a fifth of the
  jobs (``fix``, ``test``), words in one job in a few hundred (``webhook``),
  identifiers and tracker keys (PAY-4821) in a handful of jobs (``refund_ledger``,
  ``PAY-4821``), words in no job at all, and names with accents.
- Each repository has a layout of Layerfiles: one, a build with an e2e run
  chained to it by ``FROM``, a ``SPLIT 3``, or three services. A runner has
  three steps (``FROM`` and two ``RUN``), with a one-line log per ``RUN``.
- Outcomes: about 78 % succeed, 14 % fail, the rest are cancelled, runner
  errors, bad Layerfiles or jobs that could not start; a few percent of
  failed runners were retried. The newest jobs are still running. Every
  calculated status is derived from the runners by ``calculate_status``.
- Job numbers continue from each repository's ``last_job_number``, which is
  raised in the same transaction as each batch of inserts, so the API keeps
  counting from where the generated history ends.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.db.models import F, Max
from django.utils import timezone

from ciapp.models import Job, Organization, Repository, Runner, Step
from ciapp.statuses import (
    RUNNER_FINAL_STATUSES,
    RUNNING_STATUSES,
    JobErrorKind,
    JobStatus,
    RunnerStatus,
    StepStatus,
    calculate_status,
)

MAX_JOBS = 100_000_000
DEFAULT_BATCH = 2000
PROGRESS_EVERY = 50_000
HISTORY = timedelta(days=730)
START_REASON_SUFFIX = " (generated)"

# Organizations and their repositories. acme holds three fifths of the jobs,
# so that its run list is deep enough to page ten thousand pages back.
ORGANIZATIONS: dict[str, list[str]] = {
    "acme": [
        "web-store", "payments-api", "data-pipeline", "docs-site",
        "mobile-app", "auth-service", "search-service", "billing",
        "inventory", "notifications", "admin-portal", "analytics",
        "checkout", "catalog", "recommendations", "shipping", "tax-engine",
        "fraud-detection", "gateway", "design-system", "email-templates",
        "feature-flags", "infra", "terraform-modules", "load-tests",
        "marketing-site", "partner-api", "reporting", "scheduler",
        "support-tools",
    ],
    "globex": [
        "core", "frontend", "ml-models", "etl", "sdk-python", "sdk-go",
        "cli", "website",
    ],
    "initech": ["tps-reports", "ledger", "hr-portal", "intranet", "printer-queue",
                "payroll"],
    "umbrella": ["lab-console", "sample-tracker", "vaccine-db", "compliance"],
    "hooli": ["nucleus", "hooli-chat"],
}  # fmt: skip

# fmt: off
FIRST_NAMES = [
    "Ada", "Grace", "Alan", "Priya", "Jonas", "Ana", "Wei", "Fatima", "Liam",
    "Mei", "Olusegun", "Sofia", "Mateo", "Aiko", "Noah", "Chloé", "José",
    "Zoë", "Søren", "Łukasz", "Çağla", "Björn", "Ingrid", "Ravi", "Aarav",
    "Nadia", "Tomás", "Yuki", "Hana", "Omar", "Leila", "Kwame", "Amara",
    "Dmitri", "Elena", "Hiroshi", "Isabel", "Jasper", "Kofi", "Lucía",
]
LAST_NAMES = [
    "Lovelace", "Hopper", "Turing", "Raman", "Becker", "Souza", "Chen",
    "Zahra", "O'Connor", "Tanaka", "Adeyemi", "Rossi", "García", "Kowalski",
    "Nakamura", "Müller", "Álvarez", "Jørgensen", "Nowak", "Yılmaz",
    "Andersson", "Haddad", "Okafor", "Petrov", "Ivanova", "Silva", "Dubois",
    "Kim", "Nguyen", "Patel", "Mensah", "Fernández", "Schmidt", "Larsen",
]
BOTS = ["dependabot[bot]", "renovate[bot]", "github-actions[bot]"]
VERBS = [
    "Fix", "Add", "Update", "Remove", "Refactor", "Improve", "Handle",
    "Support", "Move", "Rename", "Simplify", "Document", "Test", "Speed up",
    "Clean up", "Guard against errors in", "Split", "Cache", "Retry",
    "Validate", "Log", "Deprecate", "Extract", "Rewrite", "Harden",
]
# Each of these is in about one title in 150: the "medium" words.
OBJECTS = [
    "checkout flow", "login page", "payment webhook", "user session",
    "invoice export", "search index", "rate limiter", "order history",
    "signup form", "password reset", "cart totals", "shipping quotes",
    "tax calculation", "product images", "inventory sync", "email digest",
    "push notifications", "audit log", "feature flags", "admin dashboard",
    "CSV import", "PDF receipts", "currency rounding", "timezone handling",
    "database migration", "connection pool", "retry queue", "health check",
    "metrics endpoint", "error pages", "dark mode", "accessibility labels",
    "locale files", "API pagination", "GraphQL schema", "OAuth callback",
    "SAML login", "session cookies", "CORS headers", "CSP headers",
    "upload size limit", "thumbnail worker", "cron schedule", "cache keys",
    "Redis client", "Kafka consumer", "S3 bucket policy", "Docker image",
    "Helm chart", "Terraform state", "load balancer", "TLS certificates",
    "build cache", "flaky tests", "snapshot tests", "type hints", "linter",
    "dependency pins", "README", "changelog", "release notes", "onboarding",
    "billing portal", "discount codes", "gift cards", "refund flow",
    "subscription renewal", "trial expiry", "webhook signatures",
    "search filters", "autocomplete", "sitemap", "robots.txt", "analytics",
    "A/B test", "feature toggle", "SSO settings", "team invites",
    "role permissions", "API tokens", "backup job", "data retention",
    "GDPR export", "cookie banner", "mobile layout", "print styles",
    "keyboard shortcuts", "date picker", "modal dialog", "toast messages",
]
QUALIFIERS = [
    "", "", "", "", " on slow runners", " for large tables", " in Safari",
    " when the cart is empty", " for guest users", " behind a proxy",
    " after a timeout", " under load", " on Windows", " in the EU region",
    " for legacy accounts", " during deploys", " with many items",
    " on first run", " in staging", " for admins",
]
TYPES = ["fix", "feat", "chore", "refactor", "docs", "test", "perf", "ci"]
SCOPES = ["api", "ui", "db", "deps", "auth", "billing", "search", "build"]
SHORT_TITLES = [
    "wip", "typo", "fix tests", "address review comments", "lint", "fix build",
    "more tests", "bump version", "formatting", "oops",
]
PACKAGES = [
    "lodash", "react", "django", "requests", "axios", "webpack", "eslint",
    "pytest", "urllib3", "express", "typescript", "babel-core", "jest",
]
# Parts of identifiers: two of them make a function name that is in a
# handful of jobs, a "rare" word.
PARTS = [
    "refund", "ledger", "invoice", "cart", "token", "session", "quota",
    "webhook", "export", "import", "retry", "backoff", "cache", "index",
    "schema", "tenant", "coupon", "parcel", "route", "label", "pricing",
    "payout", "receipt", "badge", "avatar", "locale", "cursor", "batch",
    "shard", "replica", "digest", "cipher", "nonce", "vault", "bundle",
    "sprite", "widget", "metric", "gauge", "span", "trace", "probe", "lease",
    "mutex", "queue", "worker", "spool", "fixture", "stub", "mock", "snapshot",
    "diff", "patch", "merge", "rebase", "tag",
]
# fmt: on
PROJECTS = ["ENG", "OPS", "WEB", "PAY", "SEC", "DATA"]
SENTENCES = [
    "The old code path called {ident} twice, which doubled the work.",
    "{Ident} now returns early when there is nothing to do.",
    "This keeps {object} working{qualifier}.",
    "Follow-up to {key}; the first change missed {ident}.",
    "Refs {key}.",
    "Fixes #{issue}.",
    "See src/{part}/{ident}.py for the new helper.",
    "Tested locally against {object}.",
    "Measured a {pct}% speed-up on the {object} benchmark.",
    "No behaviour change; only {ident} moved.",
    "Reported by a customer: {object} broke{qualifier}.",
]
FAILURE_LOGS = [
    "Error: the command exited with status 1",
    "FAILED tests/test_{part}.py::test_{ident} - AssertionError",
    "npm ERR! Test failed.  See above for more details.",
    "error: could not compile `{part}` due to previous error",
]


# (Layerfile path, which SPLIT copy or 0, the Layerfile it starts FROM)
Copy = tuple[str, int, str]

LAYOUTS: list[list[Copy]] = [
    [("Layerfile", 0, "")],
    [("Layerfile", 0, ""), ("e2e/Layerfile", 0, "Layerfile")],
    [("Layerfile", 1, ""), ("Layerfile", 2, ""), ("Layerfile", 3, "")],
    [
        ("api/Layerfile", 0, ""),
        ("web/Layerfile", 0, ""),
        ("tests/integration/Layerfile", 0, "api/Layerfile"),
    ],
]

COMMANDS = {
    "Layerfile": ("npm ci", "npm test"),
    "e2e/Layerfile": ("npx playwright install", "npx playwright test"),
    "api/Layerfile": ("pip install -r requirements.txt", "pytest -q"),
    "web/Layerfile": ("yarn install --frozen-lockfile", "yarn build"),
    "tests/integration/Layerfile": ("docker compose up -d", "./run-integration.sh"),
}

# How a runner that ended a given way leaves the step it stopped at.
STOPPED_STEP = {
    RunnerStatus.FAILURE: StepStatus.FAILURE,
    RunnerStatus.ERROR: StepStatus.ERROR,
    RunnerStatus.CANCELLED: StepStatus.CANCELLED,
    RunnerStatus.RUNNING: StepStatus.RUNNING,
}


Row = dict[str, Any]


@dataclass
class RepositoryPlan:
    repository: Repository
    weight: float
    layout: list[Copy]
    # The feature branches being worked on now; they come and go.
    branches: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedRunner:
    path: str
    split: int
    parent: str
    status: RunnerStatus
    # The status of a first attempt that was retried, if there was one.
    retried: RunnerStatus | None = None


@dataclass
class PlannedJob:
    job: Row
    runners: list[PlannedRunner]


def _positive(value: str, name: str, limit: int) -> int:
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= limit:
        raise CommandError(
            f"{name} must be a whole number from 1 to {limit:,}, not {value!r}."
        )
    return int(value)


def runner_name(path: str) -> str:
    folders = path.split("/")[:-1]
    return "-".join(folders[-2:]) if folders else "main-layerfile"


@functools.lru_cache(maxsize=4096)
def _sqlite_datetime(value: datetime | None) -> str | None:
    """What Django's SQLite backend stores: naive UTC, as str() has it.

    Cached: a job's runners and steps share a few times.
    """
    if value is None:
        return None
    return str(value.astimezone(UTC).replace(tzinfo=None))


class Table:
    """Inserts plain rows into a model's table, many at a time.

    Rows are dicts keyed by field attribute names; a field left out gets its
    default. Django's ``bulk_create`` spends most of its time making model
    instances and preparing each value; this prepares each column once.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.table = model._meta.db_table
        self.fields = list(model._meta.concrete_fields)
        self.columns = ", ".join(
            connection.ops.quote_name(str(f.column)) for f in self.fields
        )
        fields = [f for f in self.fields if not f.primary_key]
        # A callable default (uuid4, now) is called for each row.
        self.made = [f for f in fields if callable(f.default)]
        self.defaults = {f.attname: f.get_default() for f in fields}
        self.prepare = [self._preparer(f) for f in self.fields]

    @staticmethod
    def _preparer(f: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
        if isinstance(f, models.JSONField):
            return json.dumps
        if connection.vendor != "sqlite":
            return None
        if isinstance(f, models.DateTimeField):
            return _sqlite_datetime
        if isinstance(f, models.UUIDField):
            return lambda v: v.hex
        return None

    def ids(self, count: int) -> list[int]:
        """Reserve ``count`` primary keys; call in the inserting transaction."""
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                    "FROM generate_series(1, %s)",
                    [self.table, count],
                )
                return [pk for (pk,) in cursor.fetchall()]
            # SQLite: the transaction holds the write lock from its start
            # (transaction_mode IMMEDIATE). AUTOINCREMENT never reuses the id
            # of a deleted row, and neither does this.
            cursor.execute(
                f"SELECT max(coalesce((SELECT max(id) FROM {self.table}), 0), "
                "coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
                [self.table],
            )
            (last,) = cursor.fetchone()
            return list(range(last + 1, last + 1 + count))

    def insert(self, rows: list[Row]) -> None:
        values = []
        for row in rows:
            full = {**self.defaults, **row}
            for f in self.made:
                if f.attname not in row:
                    full[f.attname] = f.get_default()
            values.append(
                tuple(
                    full[f.attname] if prepare is None else prepare(full[f.attname])
                    for f, prepare in zip(self.fields, self.prepare, strict=True)
                )
            )
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                sql = f"COPY {self.table} ({self.columns}) FROM STDIN"
                with cursor.cursor.copy(sql) as copy:
                    for value in values:
                        copy.write_row(value)
            else:
                marks = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({self.columns}) VALUES ({marks})",
                    values,
                )


class Generator:
    """Plans jobs with a seeded random generator; :meth:`insert` stores them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people = [
            f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES
        ]
        self.rng.shuffle(self.people)
        # A few people write most of the commits.
        self.people_weights = list(
            itertools.accumulate(
                1 / (rank + 1) ** 0.8 for rank in range(len(self.people))
            )
        )
        self.jobs = Table(Job)
        self.runners = Table(Runner)
        self.steps = Table(Step)

    # Commit text ---------------------------------------------------------------

    def ident(self) -> str:
        """A function or class name, such as ``refund_ledger_retry``."""
        roll = self.rng.random()
        if roll < 0.3:
            a, b = self.rng.sample(PARTS, 2)
            return f"{a.capitalize()}{b.capitalize()}"
        if roll < 0.6:
            return "_".join(self.rng.sample(PARTS, 2))
        return "_".join(self.rng.sample(PARTS, 3))

    def tracker_key(self) -> str:
        return f"{self.rng.choice(PROJECTS)}-{self.rng.randint(100, 9999)}"

    def fill(self, template: str) -> str:
        ident = self.ident()
        return template.format(
            ident=ident,
            Ident=ident[0].upper() + ident[1:],
            object=self.rng.choice(OBJECTS),
            qualifier=self.rng.choice(QUALIFIERS),
            key=self.tracker_key(),
            issue=self.rng.randint(1, 9999),
            part=self.rng.choice(PARTS),
            pct=self.rng.randint(5, 80),
        )

    def author(self) -> str:
        return self.rng.choices(self.people, cum_weights=self.people_weights)[0]

    def commit(self, branch: str) -> tuple[str, str, str]:
        """A commit's title, body and author."""
        rng = self.rng
        author = self.author()
        obj = rng.choice(OBJECTS)
        verb = rng.choice(VERBS)
        roll = rng.random()
        if roll < 0.55:
            title = f"{verb} {obj}{rng.choice(QUALIFIERS)}"
        elif roll < 0.72:
            title = f"{rng.choice(TYPES)}({rng.choice(SCOPES)}): {verb.lower()} {obj}"
        elif roll < 0.79:
            major = rng.randint(1, 9)
            title = (
                f"Bump {rng.choice(PACKAGES)} from "
                f"{major}.{rng.randint(0, 20)}.{rng.randint(0, 9)} to "
                f"{major}.{rng.randint(21, 40)}.{rng.randint(0, 9)}"
            )
            author = rng.choice(BOTS)
        elif roll < 0.87:
            user = self.author().split()[0].lower()
            title = f"Merge pull request #{rng.randint(1, 9999)} from {user}/{branch}"
        elif roll < 0.90:
            title = f'Revert "{verb} {obj}"'
        elif roll < 0.95:
            title = rng.choice(SHORT_TITLES)
        else:
            title = f"{self.tracker_key()}: {verb.lower()} {self.ident()}"

        body = ""
        if rng.random() < 0.6:
            count = rng.randint(1, 4)
            body = " ".join(self.fill(rng.choice(SENTENCES)) for _ in range(count))
            if rng.random() < 0.15:
                body += f"\n\nCo-authored-by: {self.author()} <dev@example.test>"
        return title, body, author

    def branch(self, plan: RepositoryPlan) -> str:
        rng = self.rng
        if rng.random() < 0.45:
            return plan.repository.default_branch
        if plan.branches and rng.random() > 0.08:
            return rng.choice(plan.branches)

        kind = rng.choice(["feature", "fix", "chore", "release", "dependabot"])
        if kind == "release":
            name = f"release/{rng.randint(1, 9)}.{rng.randint(0, 30)}"
        elif kind == "dependabot":
            name = (
                f"dependabot/npm_and_yarn/{rng.choice(PACKAGES)}-"
                f"{rng.randint(1, 9)}.{rng.randint(0, 40)}"
            )
        else:
            words = rng.choice(OBJECTS).lower().replace(" ", "-").replace("/", "-")
            name = f"{kind}/{words}-{rng.randint(1, 999)}"
        plan.branches = [*plan.branches[-11:], name]
        return name

    # Outcomes ------------------------------------------------------------------

    def runner_statuses(self, layout: list[Copy], recent: bool) -> list[PlannedRunner]:
        """Runners for a job that got as far as SEE_RUNNERS."""
        rng = self.rng
        statuses = [RunnerStatus.SUCCESS] * len(layout)
        culprit = rng.randrange(len(layout))
        roll = rng.random()
        if recent:
            choices = [RunnerStatus.RUNNING, RunnerStatus.NEW, RunnerStatus.SUCCESS]
            statuses = [rng.choice(choices) for _ in layout]
        elif roll < 0.14:
            statuses[culprit] = RunnerStatus.FAILURE
        elif roll < 0.16:
            statuses[culprit] = RunnerStatus.CANCELLED
        elif roll < 0.17:
            statuses[culprit] = RunnerStatus.ERROR

        by_path = {
            copy[0]: status for copy, status in zip(layout, statuses, strict=True)
        }
        runners = []
        for (path, split, parent), status in zip(layout, statuses, strict=True):
            # A runner that starts FROM one that did not succeed never runs.
            upstream = by_path.get(parent, RunnerStatus.SUCCESS)
            if upstream == RunnerStatus.ERROR:
                status = RunnerStatus.ERROR
            elif upstream in RUNNER_FINAL_STATUSES - {RunnerStatus.SUCCESS}:
                status = RunnerStatus.CANCELLED
            elif upstream != RunnerStatus.SUCCESS:
                status = RunnerStatus.WAITING_PARENTS
            retried = None
            if status in RUNNER_FINAL_STATUSES and rng.random() < 0.03:
                retried = RunnerStatus.FAILURE
            runners.append(PlannedRunner(path, split, parent, status, retried))
        return runners

    def job(self, plan: RepositoryPlan, created: datetime, recent: bool) -> PlannedJob:
        rng = self.rng
        branch = self.branch(plan)
        title, body, author = self.commit(branch)
        reasons = [f"Push to branch {branch}"] * 5 + [
            f"Pull request #{rng.randint(1, 9999)}",
            "Manual run created by API",
        ]
        job: Row = {
            "organization_id": plan.repository.organization_id,
            "repository_id": plan.repository.pk,
            "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
            "commit_sha": f"{rng.getrandbits(160):040x}",
            "commit_title": title,
            "commit_body": body,
            "commit_author": author,
            "branch": branch,
            "merge_branch": branch,
            "ref": f"origin/{branch}",
            "run_start_reason": rng.choice(reasons) + START_REASON_SUFFIX,
            "created_at": created,
            "status": JobStatus.SEE_RUNNERS,
            "error_kind": JobErrorKind.NONE,
        }

        runners: list[PlannedRunner] = []
        roll = rng.random()
        if recent and roll < 0.2:
            job["status"] = JobStatus.NEW
        elif recent and roll < 0.3:
            job["status"] = JobStatus.STARTING_RUNNERS
        elif not recent and roll < 0.015:
            job["status"], job["error_kind"] = JobStatus.ERROR, JobErrorKind.LAYERFILE
            job["error_message"] = (
                f"{plan.layout[0][0]}:{rng.randint(2, 9)}: not an instruction: "
                "'EXPOSE 3000' (did you mean EXPOSE WEBSITE localhost:3000?)"
            )
        elif not recent and roll < 0.02:
            job["status"], job["error_kind"] = JobStatus.ERROR, JobErrorKind.INTERNAL
            job["error_message"] = "could not fetch the repository: connection reset"
        else:
            runners = self.runner_statuses(plan.layout, recent)

        calculated = calculate_status(
            job["status"], job["error_kind"], [runner.status for runner in runners]
        )
        started = finished = None
        if job["status"] != JobStatus.NEW:
            started = created + timedelta(seconds=rng.randint(2, 30))
        if calculated not in RUNNING_STATUSES:
            finished = (started or created) + timedelta(seconds=rng.randint(25, 1500))
        job.update(
            calculated_status=calculated,
            started_at=started,
            finished_at=finished,
            status_change_time=finished or started or created,
        )
        return PlannedJob(job, runners)

    def plans(self) -> list[RepositoryPlan]:
        """The repositories, made if missing, with how busy each one is."""
        plans = []
        for org_name, names in ORGANIZATIONS.items():
            organization, _ = Organization.objects.get_or_create(name=org_name)
            for index, name in enumerate(names):
                repository, _ = Repository.objects.get_or_create(
                    organization=organization,
                    name=name,
                    defaults={
                        "git_source": f"https://git.example.test/{org_name}/{name}",
                        "default_branch": "master" if index % 4 == 0 else "main",
                    },
                )
                weight = 1 + index * 7 % 5
                if org_name == "acme":
                    weight *= 2
                layout = LAYOUTS[index % len(LAYOUTS)]
                plans.append(RepositoryPlan(repository, weight, layout))
        return plans

    # Runners and steps -----------------------------------------------------------

    def runner_row(
        self, job: Row, planned: PlannedRunner, status: str, index: int
    ) -> Row:
        started = job["started_at"] or job["created_at"]
        return {
            "job_id": job["id"],
            "layerfile_path": planned.path,
            "name": runner_name(planned.path),
            "index": index,
            "split_index": planned.split,
            "status": status,
            "was_retried": False,
            "created_at": started,
            "status_change_time": job["status_change_time"],
            "started_at": None if status == RunnerStatus.NEW else started,
            "finished_at": (
                job["finished_at"] if status in RUNNER_FINAL_STATUSES else None
            ),
            "depends_on": [planned.parent] if planned.parent else [],
            "parent_path": planned.parent,
        }

    def runner_rows(self, item: PlannedJob) -> tuple[list[Row], list[Row]]:
        """A job's runners: the first attempts, and the retries of some."""
        index_of: dict[str, int] = {}
        attempts = []
        for planned in item.runners:
            index_of[planned.path] = index_of.get(planned.path, 0) + 1
            status = planned.retried or planned.status
            index = index_of[planned.path]
            attempts.append(self.runner_row(item.job, planned, status, index))
        # A retry takes its Layerfile's next index, after every SPLIT copy.
        retries = []
        for planned, attempt in zip(item.runners, attempts, strict=True):
            if planned.retried is None:
                continue
            attempt["was_retried"] = True
            index_of[planned.path] += 1
            index = index_of[planned.path]
            retry = self.runner_row(item.job, planned, planned.status, index)
            retry["retry_of"] = attempt
            retries.append(retry)
        return attempts, retries

    def step_rows(self, runner: Row) -> list[Row]:
        rng = self.rng
        first, second = COMMANDS[runner["layerfile_path"]]
        lines = [(1, "FROM vm/ubuntu:22.04"), (3, f"RUN {first}"), (4, f"RUN {second}")]
        status = runner["status"]
        # Where the runner stopped: past the last step when it succeeded,
        # before the first when it has not started.
        if status == RunnerStatus.SUCCESS:
            stop = 3
        elif status == RunnerStatus.FAILURE:
            stop = 2
        elif status in STOPPED_STEP:
            stop = rng.randint(1, 2)
        else:
            stop = -1

        steps = []
        for position, (line, instruction) in enumerate(lines):
            if position < stop:
                step_status = StepStatus.SUCCESS
            elif position == stop:
                step_status = STOPPED_STEP[status]
            elif status in RUNNER_FINAL_STATUSES:
                step_status = StepStatus.SKIPPED
            else:
                step_status = StepStatus.NEW
            ran = step_status not in (StepStatus.NEW, StepStatus.SKIPPED)
            log = ""
            if ran and instruction.startswith("RUN "):
                log = f"$ {instruction[4:]}\n"
                if step_status == StepStatus.FAILURE:
                    log += self.fill(rng.choice(FAILURE_LOGS)) + "\n"
                elif step_status == StepStatus.SUCCESS:
                    log += "ok\n"
            exit_code = None
            if step_status == StepStatus.FAILURE:
                exit_code = 1
            elif step_status == StepStatus.SUCCESS and position > 0:
                exit_code = 0
            steps.append(
                {
                    "runner_id": runner["id"],
                    "position": position + 1,
                    "line": line,
                    "instruction": instruction,
                    "status": step_status,
                    "exit_code": exit_code,
                    "started_at": runner["started_at"] if ran else None,
                    "finished_at": runner["finished_at"] if ran else None,
                    "log": log,
                }
            )
        return steps

    # Storing ---------------------------------------------------------------------

    def insert(self, batch: list[PlannedJob]) -> tuple[int, int]:
        """Store a batch of jobs with their runners and steps, numbered.

        Returns how many runners and steps were stored.
        """
        with transaction.atomic():
            counts: dict[int, int] = {}
            for item in batch:
                key = item.job["repository_id"]
                counts[key] = counts.get(key, 0) + 1
            for pk, count in counts.items():
                Repository.objects.filter(pk=pk).update(
                    last_job_number=F("last_job_number") + count
                )
            last = dict(
                Repository.objects.filter(pk__in=counts).values_list(
                    "pk", "last_job_number"
                )
            )
            following = {pk: last[pk] - count for pk, count in counts.items()}
            for item, pk in zip(batch, self.jobs.ids(len(batch)), strict=True):
                following[item.job["repository_id"]] += 1
                item.job.update(id=pk, number=following[item.job["repository_id"]])
            self.jobs.insert([item.job for item in batch])

            attempts: list[Row] = []
            retries: list[Row] = []
            for item in batch:
                first, again = self.runner_rows(item)
                attempts += first
                retries += again
            runners = attempts + retries
            for runner, pk in zip(runners, self.runners.ids(len(runners)), strict=True):
                runner["id"] = pk
            for retry in retries:
                retry["retry_of_id"] = retry.pop("retry_of")["id"]
            self.runners.insert(runners)

            steps = [step for runner in runners for step in self.step_rows(runner)]
            for step, pk in zip(steps, self.steps.ids(len(steps)), strict=True):
                step["id"] = pk
            self.steps.insert(steps)
        return len(runners), len(steps)


class Command(BaseCommand):
    help = (
        "Add N generated jobs, with runners and steps, over 50 repositories in "
        "5 organizations (made if missing). For benchmarks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("count", metavar="N", help="how many jobs to add")
        parser.add_argument(
            "--seed", default="1", help="the same seed makes the same jobs (default 1)"
        )
        parser.add_argument(
            "--batch-size",
            default=str(DEFAULT_BATCH),
            help=f"jobs per transaction (default {DEFAULT_BATCH})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        count = _positive(str(options["count"]), "N", MAX_JOBS)
        seed = str(options["seed"])
        if not seed.isascii() or not seed.lstrip("-").isdigit():
            raise CommandError(f"--seed must be a whole number, not {seed!r}.")
        batch_size = _positive(str(options["batch_size"]), "--batch-size", 100_000)
        self._check_database()

        generator = Generator(int(seed))
        plans = generator.plans()
        weights = list(itertools.accumulate(plan.weight for plan in plans))
        # The new jobs follow any that exist, and end now.
        end = timezone.now()
        latest = Job.objects.aggregate(latest=Max("created_at"))["latest"]
        start = max(end - HISTORY, latest or end - HISTORY)
        spacing = (end - start) / count
        recent_from = count - max(20, count // 5000)

        began = time.monotonic()
        done = runners = steps = 0
        next_report = min(PROGRESS_EVERY, count)
        while done < count:
            batch = []
            for i in range(done, min(done + batch_size, count)):
                plan = generator.rng.choices(plans, cum_weights=weights)[0]
                created = start + spacing * (i + generator.rng.random())
                batch.append(generator.job(plan, created, recent=i >= recent_from))
            added_runners, added_steps = generator.insert(batch)
            done += len(batch)
            runners += added_runners
            steps += added_steps
            if done >= next_report:
                rate = done / max(time.monotonic() - began, 1e-9)
                self.stdout.write(
                    f"{done:,} of {count:,} jobs ({runners:,} runners, "
                    f"{steps:,} steps), {rate:,.0f} jobs/s"
                )
                next_report = min(next_report + PROGRESS_EVERY, count)

        self.stdout.write("Merging the text index and updating statistics ...")
        self._tidy()
        took = time.monotonic() - began
        self.stdout.write(
            f"Added {count:,} jobs, {runners:,} runners and {steps:,} steps in "
            f"{took:,.0f} s."
        )

    def _check_database(self) -> None:
        if connection.vendor not in ("sqlite", "postgresql"):
            raise CommandError(
                "generate_jobs works on SQLite and PostgreSQL, not "
                f"{connection.vendor}."
            )
        tables = connection.introspection.table_names()
        if Job._meta.db_table not in tables:
            raise CommandError("The database has no tables yet; run migrate first.")
        if connection.vendor == "sqlite" and "ciapp_job_text" not in tables:
            raise CommandError("The database has no text index yet; run migrate first.")

    def _tidy(self) -> None:
        """Merge the text index and update the statistics the planner uses."""
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(
                    "INSERT INTO ciapp_job_text(ciapp_job_text) VALUES ('optimize')"
                )
                cursor.execute("ANALYZE")
                return
            # VACUUM also marks the new rows visible to index-only scans and
            # moves them out of the GIN index's pending list; it cannot run
            # in a transaction (a test's), where ANALYZE alone has to do.
            command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
            for model in (Job, Runner, Step, Repository):
                cursor.execute(f"{command} {model._meta.db_table}")
