"""Demo data: real git repositories with Layerfiles, and a history of runs.

The repositories are real bare git repositories under the data folder, with
Layerfiles that really run on a worker: one passes, one fails on a red step,
one waits on a BUTTON, one is chained to another with FROM, one is split in
three. Loading starts a real run of each repository's newest commit.

The run history that comes with them is generated: every job points at a
real commit of its repository, and its runners and steps at that commit's
real Layerfiles, but their outcomes and logs were made up by this module,
not produced by running anything; their start reason says so.
"""

from __future__ import annotations

import random
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from ciapp import layerfile as lf
from ciapp.execution import scheduling
from ciapp.models import Job, Organization, Repository, Runner, Step
from ciapp.statuses import (
    CalculatedStatus,
    JobErrorKind,
    JobStatus,
    RunnerStatus,
    StepStatus,
    calculate_status,
)

ORGANIZATION = "acme"

AUTHORS = [
    ("Priya Raman", "priya@acme.test"),
    ("Jonas Becker", "jonas@acme.test"),
    ("Ana Souza", "ana@acme.test"),
    ("Wei Chen", "wei@acme.test"),
    ("Fatima Zahra", "fatima@acme.test"),
    ("Liam O'Connor", "liam@acme.test"),
    ("Mei Tanaka", "mei@acme.test"),
    ("dependabot[bot]", "support@dependabot.test"),
]

TITLES = [
    "Fix flaky checkout test on slow runners",
    "Add retry with backoff to the payment webhook",
    "Bump lodash from 4.17.20 to 4.17.21",
    "Refactor session middleware into its own module",
    "fix: crash when the cart is empty",
    "feat: export invoices as CSV",
    "Update README with local setup steps",
    "Cache node_modules between CI runs",
    "Speed up the product search query",
    "Remove the deprecated v1 endpoints",
    "Handle timezones in the order history page",
    "chore: upgrade Django to 5.2",
    "Log the request id in every error report",
    "Add e2e test for the signup flow",
    'Revert "Speed up the product search query"',
    "Make the migration safe for large tables",
    "Guard against double submission of the checkout form",
    "docs: explain the release process",
    "Pin the base image to ubuntu 22.04",
    "Move feature flags to the settings service",
    "perf: batch inventory updates",
    "Show a friendlier message when the API is down",
    "Tighten the Content-Security-Policy",
    "Add a health check endpoint for the load balancer",
    "WIP: new onboarding wizard",
]

BODIES = [
    "",
    "",
    "The test waited a fixed 2 s for the page; it now waits for the\n"
    "confirmation element instead.",
    "Stripe retries webhooks for three days, but our handler gave up after\n"
    "the first failure. Retry up to five times with exponential backoff.",
    "Co-authored-by: Ana Souza <ana@acme.test>",
    "This keeps the public API unchanged; only the import paths move.",
    "Closes the gap where a customer could be charged twice when the\n"
    "button was pressed during a slow network round trip.",
    "Measured on a copy of production: 840 ms -> 95 ms for the worst query.",
    "Signed-off-by: Wei Chen <wei@acme.test>",
]

FEATURE_BRANCHES = [
    "feature/csv-export",
    "fix/empty-cart",
    "release/2.4",
    "dependabot/npm_and_yarn/lodash-4.17.21",
    "experiment/search-index",
]


@dataclass
class DemoRepository:
    name: str
    description: str
    files: dict[str, str]
    # The outcome of a finished run, by weight.
    outcomes: dict[CalculatedStatus, int] = field(default_factory=dict)


PASSING = """FROM vm/ubuntu:22.04
# Unit tests: pure Python, no network needed.
ENV PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
COPY . .
RUN python3 --version
RUN python3 -m unittest discover -s tests -v
"""

E2E = """FROM /Layerfile
LABEL display_name=e2e
RUN python3 tests/e2e.py --against "$GIT_SHORT_COMMIT"
"""

DEPLOY = """FROM vm/ubuntu:22.04
WAIT /Layerfile
BUTTON Deploy this commit to staging?
RUN echo "deploying $GIT_SHORT_COMMIT of $GIT_BRANCH to staging"
"""

LINT = """FROM vm/ubuntu:22.04
COPY /tools tools
RUN python3 tools/lint.py
"""

SPLIT_TESTS = """FROM vm/ubuntu:22.04
SPLIT 3
RUN python3 -c "import os; print('shard', os.environ['SPLIT'], os.environ['SPLIT_NUM'])"
"""

APP = '''def total(prices):
    """The sum of a cart's prices, in cents."""
    return sum(prices)
'''

TESTS = """import unittest

from app import total


class TotalTest(unittest.TestCase):
    def test_empty_cart(self):
        self.assertEqual(total([]), 0)

    def test_two_items(self):
        self.assertEqual(total([250, 199]), 449)


if __name__ == "__main__":
    unittest.main()
"""

E2E_SCRIPT = """import sys

print("checking build", sys.argv[-1])
print("all pages answered 200")
"""

LINT_SCRIPT = """import sys

print("app.py:3: line too long (97 > 88 characters)")
sys.exit(1)
"""

REPOSITORIES = [
    DemoRepository(
        "web-store",
        "The shop front: unit tests, an e2e suite built on them, and a deploy "
        "behind a button.",
        {
            "README.md": "# web-store\n\nThe Acme shop front.\n",
            "Layerfile": PASSING,
            "tests/e2e/Layerfile": E2E,
            "deploy/Layerfile": DEPLOY,
            "app.py": APP,
            "tests/__init__.py": "",
            "tests/test_app.py": TESTS,
            "tests/e2e.py": E2E_SCRIPT,
        },
        {CalculatedStatus.SUCCEEDED: 70, CalculatedStatus.FAILURE: 15},
    ),
    DemoRepository(
        "payments-api",
        "A service whose lint step fails.",
        {
            "README.md": "# payments-api\n",
            "Layerfile": PASSING,
            "lint/Layerfile": LINT,
            "app.py": APP,
            "tests/__init__.py": "",
            "tests/test_app.py": TESTS,
            "tools/lint.py": LINT_SCRIPT,
        },
        {CalculatedStatus.SUCCEEDED: 40, CalculatedStatus.FAILURE: 40},
    ),
    DemoRepository(
        "data-pipeline",
        "Tests split into three shards.",
        {
            "README.md": "# data-pipeline\n",
            "Layerfile": SPLIT_TESTS,
            "app.py": APP,
        },
        {CalculatedStatus.SUCCEEDED: 60, CalculatedStatus.RUNNER_ERROR: 10},
    ),
    DemoRepository(
        "docs-site",
        "Documentation; a few runs were cancelled by hand.",
        {
            "README.md": "# docs-site\n",
            "Layerfile": PASSING,
            "app.py": APP,
            "tests/__init__.py": "",
            "tests/test_app.py": TESTS,
        },
        {CalculatedStatus.SUCCEEDED: 60, CalculatedStatus.RUNNER_CANCELLED: 15},
    ),
]

# Outcomes every repository sees now and then.
COMMON_OUTCOMES = {
    CalculatedStatus.BAD_LAYERFILE: 3,
    CalculatedStatus.JOB_ERROR: 2,
    CalculatedStatus.FAILURE: 4,
    CalculatedStatus.RUNNER_CANCELLED: 2,
    CalculatedStatus.RUNNER_ERROR: 2,
}


@dataclass
class DemoCommit:
    sha: str
    branch: str
    title: str
    body: str
    author: str
    when: datetime


def _fast_import_stream(
    spec: DemoRepository, rng: random.Random, end: datetime, commits: int
) -> tuple[bytes, list[tuple[int, str, str, str, str, datetime]]]:
    """A git fast-import stream of a repository's history, and its commits."""
    out: list[bytes] = []
    made = []

    def data(text: str) -> None:
        raw = text.encode()
        out.append(b"data %d\n" % len(raw) + raw + b"\n")

    gaps = [timedelta(minutes=rng.randint(20, 600)) for _ in range(commits)]
    when = end - sum(gaps, timedelta()) - timedelta(minutes=5)
    mark = 0
    main_tip = 0
    for i in range(commits):
        mark += 1
        branch = "main"
        parent = main_tip
        if i > 5 and rng.random() < 0.25:
            branch = rng.choice(FEATURE_BRANCHES)
        name, email = rng.choice(AUTHORS)
        title = rng.choice(TITLES)
        if name.startswith("dependabot"):
            title = "Bump lodash from 4.17.20 to 4.17.21"
        body = rng.choice(BODIES)
        message = title + ("\n\n" + body if body else "") + "\n"
        when += gaps[i]
        stamp = f"{name} <{email}> {int(when.timestamp())} +0000"
        out.append(f"commit refs/heads/{branch}\nmark :{mark}\n".encode())
        out.append(f"author {stamp}\ncommitter {stamp}\n".encode())
        data(message)
        if parent:
            out.append(f"from :{parent}\n".encode())
        if i == 0:
            for path, content in sorted(spec.files.items()):
                out.append(f"M 100644 inline {path}\n".encode())
                data(content)
        else:
            out.append(b"M 100644 inline CHANGELOG.md\n")
            data(f"- {title}\n")
        out.append(b"\n")
        if branch == "main":
            main_tip = mark
        made.append((mark, branch, title, body.strip(), name, when))
    return b"".join(out), made


def make_git_repository(
    path: Path, spec: DemoRepository, rng: random.Random, end: datetime, commits: int
) -> list[DemoCommit]:
    """Create a bare git repository at ``path`` with a made-up history."""
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)],
        check=True,
    )
    stream, made = _fast_import_stream(spec, rng, end, commits)
    marks = path / "marks"
    subprocess.run(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
        input=stream,
        cwd=path,
        check=True,
    )
    sha_of = dict(line.split(" ", 1) for line in marks.read_text().splitlines() if line)
    marks.unlink()
    return [
        DemoCommit(sha_of[f":{m}"].strip(), branch, title, body, author, when)
        for m, branch, title, body, author, when in made
    ]


def _layerfile_steps(text: str) -> list[tuple[int, str]]:
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.strip().startswith("#")
    ]


def _pick(rng: random.Random, weights: dict[CalculatedStatus, int]) -> CalculatedStatus:
    statuses = list(weights)
    return rng.choices(statuses, [weights[s] for s in statuses])[0]


def _runner_statuses(
    outcome: CalculatedStatus, count: int, rng: random.Random
) -> list[RunnerStatus]:
    """Statuses for ``count`` runners that make up ``outcome``."""
    statuses = [RunnerStatus.SUCCESS] * count
    culprit = rng.randrange(count)
    decisive = {
        CalculatedStatus.FAILURE: RunnerStatus.FAILURE,
        CalculatedStatus.RUNNER_CANCELLED: RunnerStatus.CANCELLED,
        CalculatedStatus.RUNNER_ERROR: RunnerStatus.ERROR,
    }
    if outcome in decisive:
        statuses[culprit] = decisive[outcome]
    return statuses


def _log(instruction: str, status: StepStatus) -> str:
    if not instruction.startswith("RUN "):
        return ""
    command = instruction.removeprefix("RUN ")
    lines = [f"$ {command}"]
    if status == StepStatus.FAILURE:
        lines.append("Error: the command exited with status 1")
    elif status == StepStatus.SUCCESS:
        lines.append("ok")
    return "\n".join(lines) + "\n"


class DemoLoader:
    def __init__(self, source_dir: Path, seed: int = 7, commits: int = 80) -> None:
        self.source_dir = source_dir
        self.rng = random.Random(seed)
        self.commits = commits

    @transaction.atomic
    def load(self) -> Organization:
        """Make the repositories and their history, then start a real run of
        each repository's newest commit, for the workers to run."""
        organization, _ = Organization.objects.get_or_create(name=ORGANIZATION)
        for spec in REPOSITORIES:
            repository, tip = self._load_repository(organization, spec, timezone.now())
            job = Job.create(
                repository,
                commit_sha=tip.sha,
                commit_title=tip.title,
                commit_body=tip.body,
                commit_author=tip.author,
                branch="main",
                ref="origin/main",
                run_start_reason="Started by load_demo",
            )
            scheduling.enqueue_job(job)
        return organization

    def _load_repository(
        self, organization: Organization, spec: DemoRepository, end: datetime
    ) -> tuple[Repository, DemoCommit]:
        path = self.source_dir / f"{spec.name}.git"
        commits = make_git_repository(path, spec, self.rng, end, self.commits)
        repository = Repository.objects.create(
            organization=organization,
            name=spec.name,
            git_source=str(path),
            default_branch="main",
        )
        layerfiles = {p: t for p, t in spec.files.items() if p.endswith("Layerfile")}
        jobs: list[Job] = []
        outcomes = {**COMMON_OUTCOMES, **spec.outcomes}
        now = timezone.now()
        for number, commit in enumerate(commits, start=1):
            outcome = _pick(self.rng, outcomes)
            created = min(commit.when + timedelta(seconds=40), now)
            jobs.append(
                Job(
                    organization=organization,
                    repository=repository,
                    number=number,
                    commit_sha=commit.sha,
                    commit_title=commit.title,
                    commit_body=commit.body,
                    commit_author=commit.author,
                    branch=commit.branch,
                    merge_branch=commit.branch,
                    ref=f"origin/{commit.branch}",
                    run_start_reason=self.rng.choice(
                        [f"Push to branch {commit.branch}"] * 4
                        + ["Manual run created by API"]
                    )
                    + " (generated demo history)",
                    calculated_status=outcome,
                    created_at=created,
                    status_change_time=created,
                )
            )
        Job.objects.bulk_create(jobs)
        repository.last_job_number = len(jobs)
        repository.save(update_fields=["last_job_number"])

        for job in Job.objects.filter(repository=repository).order_by("number"):
            self._fill_job(job, layerfiles)
        tip = [c for c in commits if c.branch == "main"][-1]
        return repository, tip

    def _fill_job(self, job: Job, layerfiles: dict[str, str]) -> None:
        outcome = CalculatedStatus(job.calculated_status)
        started = job.created_at + timedelta(seconds=self.rng.randint(2, 20))
        if outcome == CalculatedStatus.BAD_LAYERFILE:
            job.status = JobStatus.ERROR
            job.error_kind = JobErrorKind.LAYERFILE
            job.error_message = (
                "Layerfile:3: not an instruction: 'EXPOSE 3000' "
                "(did you mean EXPOSE WEBSITE localhost:3000?)"
            )
        elif outcome == CalculatedStatus.JOB_ERROR:
            job.status = JobStatus.ERROR
            job.error_kind = JobErrorKind.INTERNAL
            job.error_message = "could not fetch the repository: connection reset"
        else:
            job.status = JobStatus.SEE_RUNNERS
            job.started_at = started
            self._make_runners(job, outcome, layerfiles, started)

        runner_statuses = job.runners.filter(was_retried=False).values_list(
            "status", flat=True
        )
        job.calculated_status = calculate_status(
            job.status, job.error_kind, list(runner_statuses)
        )
        duration = timedelta(seconds=self.rng.randint(25, 900))
        job.finished_at = (job.started_at or job.created_at) + duration
        job.status_change_time = job.finished_at
        job.save()

    def _make_runners(
        self,
        job: Job,
        outcome: CalculatedStatus,
        layerfiles: dict[str, str],
        started: datetime,
    ) -> None:
        paths = sorted(layerfiles)
        copies = [
            (path, split)
            for path in paths
            for split in (range(1, 4) if "SPLIT 3" in layerfiles[path] else range(0, 1))
        ]
        statuses = _runner_statuses(outcome, len(copies), self.rng)
        index_of: dict[str, int] = {}
        for (path, split), status in zip(copies, statuses, strict=True):
            index_of[path] = index_of.get(path, 0) + 1
            retried = status == RunnerStatus.SUCCESS and self.rng.random() < 0.05
            if retried:
                self._runner(
                    job,
                    path,
                    layerfiles[path],
                    index_of[path],
                    split,
                    RunnerStatus.FAILURE,
                    started,
                    was_retried=True,
                )
                index_of[path] += 1
            self._runner(
                job, path, layerfiles[path], index_of[path], split, status, started
            )

    def _runner(
        self,
        job: Job,
        path: str,
        text: str,
        index: int,
        split: int,
        status: RunnerStatus,
        started: datetime,
        was_retried: bool = False,
    ) -> None:
        runner = Runner.objects.create(
            job=job,
            layerfile_path=path,
            name=lf.runner_name(lf.parse(text, path)),
            index=index,
            split_index=split,
            status=status,
            was_retried=was_retried,
            created_at=started,
            started_at=started,
            finished_at=started + timedelta(seconds=60),
            status_change_time=started,
        )
        steps = _layerfile_steps(text)
        stop = self.rng.randrange(len(steps)) if len(steps) > 1 else 0
        rows = []
        for position, (line, instruction) in enumerate(steps, start=1):
            step_status = StepStatus.SUCCESS if status == RunnerStatus.SUCCESS else None
            if step_status is None:
                if position - 1 < stop:
                    step_status = StepStatus.SUCCESS
                elif position - 1 == stop:
                    step_status = {
                        RunnerStatus.FAILURE: StepStatus.FAILURE,
                        RunnerStatus.ERROR: StepStatus.ERROR,
                        RunnerStatus.CANCELLED: StepStatus.CANCELLED,
                    }[status]
                else:
                    step_status = StepStatus.SKIPPED
            rows.append(
                Step(
                    runner=runner,
                    position=position,
                    line=line,
                    instruction=instruction,
                    status=step_status,
                    exit_code=1 if step_status == StepStatus.FAILURE else None,
                    log=_log(instruction, step_status),
                )
            )
        Step.objects.bulk_create(rows)
