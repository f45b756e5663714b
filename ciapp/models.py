"""Organizations, their API tokens and repositories, and the CI runs in them.

A *job* is one CI run of one repository at one commit; it is made of
*runners*, one per Layerfile (and per ``SPLIT`` copy, and per retry), and each
runner is made of *steps*, one per Layerfile instruction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import F, FilteredRelation, Q
from django.utils import timezone

from ciapp import prepared
from ciapp.prepared import Prepared
from ciapp.search import Query, normalize_repository_name, parse
from ciapp.statuses import (
    RUNNER_ACTIVE_STATUSES,
    RUNNER_FINAL_STATUSES,
    RUNNER_TRANSITIONS,
    RUNNING_STATUSES,
    CalculatedStatus,
    JobErrorKind,
    JobStatus,
    RunnerStatus,
    StepStatus,
    calculate_status,
)
from ciapp.textsearch import (
    CandidateSlot,
    IndexedCandidates,
    inline_ids,
    plan,
    query_q,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REPOSITORY_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
SECRET_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def format_go_time(value: datetime) -> str:
    """Render a time the way Go prints a UTC ``time.Time``.

    ``2020-05-05 05:11:44.17955 +0000 UTC``: microseconds with trailing zeros
    dropped, and no fraction at all when it is zero.
    """
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + " +0000 UTC"


class InvalidTransition(Exception):
    """A change of status that the life cycle does not allow."""


# Paths of the service's own that an organization's page would clash with.
RESERVED_ORGANIZATION_NAMES = frozenset(
    {"admin", "api", "badge", "healthz", "jobs", "login", "logout", "static"}
)


class Organization(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="organizations"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.name.lower() in RESERVED_ORGANIZATION_NAMES:
            raise ValidationError(
                {"name": f"{self.name!r} is a path of the service's own; pick another."}
            )


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner"
        MEMBER = "member"

    organization = models.ForeignKey(
        Organization, models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="one_membership_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization}"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """An organization's API key.

    The token a user holds is ``lci_<key id>_<secret>``. Only the key id and a
    SHA-256 digest of the whole token are stored; the token itself is shown
    once, when it is made. Tokens are long random strings, so a fast digest is
    enough: there is nothing to guess.
    """

    PREFIX = "lci_"

    organization = models.ForeignKey(
        Organization, models.CASCADE, related_name="tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.PREFIX}{self.key_id}_… ({self.organization})"

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, organization: Organization, name: str = "") -> tuple[ApiToken, str]:
        """Make a token; return it with the only copy of its plain text."""
        key_id = secrets.token_hex(8)
        plain = f"{cls.PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        token = cls.objects.create(
            organization=organization,
            name=name,
            key_id=key_id,
            digest=cls._digest(plain),
        )
        return token, plain

    @classmethod
    def authenticate(cls, plain: str, repository: str = "") -> ApiToken | None:
        """The active token whose plain text is ``plain``, if there is one.

        With ``repository``, a stored repository name, the same query finds
        the organization's repository of that name too; it is the token's
        ``named_repository``, None if there is none.
        """
        digest = cls._digest(plain)
        match = re.fullmatch(rf"{cls.PREFIX}([0-9a-f]{{16}})_[\w-]+", plain)
        if match is None:
            return None
        if repository:
            token = _TOKEN_AND_REPOSITORY.first(match.group(1), repository)
        else:
            token = _TOKEN_BY_KEY_ID.first(match.group(1))
        if token is None or not hmac.compare_digest(token.digest, digest):
            return None
        named: Repository | None = getattr(token, "named_repository", None)
        if named is not None:
            named.organization = token.organization
        return token

    def touch(self) -> None:
        """Record a use, at most once a minute to spare the database."""
        now = timezone.now()
        if self.last_used_at is None or (now - self.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


# The token lookup of every API call, compiled once (see ciapp.prepared).
_TOKEN_BY_KEY_ID = Prepared(
    ApiToken,
    lambda key_id: ApiToken.objects.active().filter(key_id=key_id).order_by(),
    [str],
    related=["organization"],
)


class Repository(models.Model):
    organization = models.ForeignKey(
        Organization, models.CASCADE, related_name="repositories"
    )
    name = models.CharField(
        max_length=100,
        help_text="Lower-case; spaces and dots become dashes.",
    )
    git_source = models.CharField(
        max_length=1000,
        help_text="A URL or a local path that git can fetch from.",
    )
    default_branch = models.CharField(max_length=255, default="master")
    # The number of the newest job; the next job gets this plus one.
    last_job_number = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "repositories"
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="repository_name_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id and self.organization.name}/{self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name = normalize_repository_name(self.name)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.name = normalize_repository_name(self.name)
        if not REPOSITORY_NAME_RE.match(self.name):
            raise ValidationError(
                {
                    "name": "Use letters, digits, dashes and underscores, "
                    "starting with a letter or digit (at most 100)."
                }
            )
        if not self.git_source.strip():
            raise ValidationError({"git_source": "Give a URL or a path."})

    def secret_values(self) -> dict[str, str]:
        return {s.name: s.value for s in self.secrets.all()}

    @classmethod
    def named(cls, organization: Organization, name: str) -> Repository | None:
        """The organization's repository stored under ``name``, if any."""
        repository = _REPOSITORY_BY_NAME.first(organization.pk, name)
        if repository is not None:
            repository.organization = organization
        return repository


# The token of an API call on a repository, with the repository, compiled
# once: one query where there would be two.
_TOKEN_AND_REPOSITORY = Prepared(
    ApiToken,
    lambda key_id, name: (
        ApiToken.objects.active()
        .annotate(
            named_repository=FilteredRelation(
                "organization__repositories",
                condition=Q(organization__repositories__name=name),
            )
        )
        .filter(key_id=key_id)
        .order_by()
    ),
    [str, str],
    related=["organization"],
    joined={"named_repository": Repository},
)

# The repository lookup of every API call, compiled once.
_REPOSITORY_BY_NAME = Prepared(
    Repository,
    lambda organization_id, name: Repository.objects.filter(
        organization_id=organization_id, name=name
    ).order_by(),
    [int, str],
)


class RepositorySecret(models.Model):
    """A value for ``SECRET ENV``.

    NB: secrets are stored as plain text in the database, like the rest of a
    repository's settings; whoever can read the database can read them.
    """

    repository = models.ForeignKey(Repository, models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=128)
    value = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "name"], name="secret_name_per_repository"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not SECRET_NAME_RE.match(self.name):
            raise ValidationError(
                {"name": "Use an environment variable name such as NPM_TOKEN."}
            )


class JobQuerySet(models.QuerySet["Job"]):
    def for_org(self, organization: Organization) -> JobQuerySet:
        return self.filter(organization=organization)

    def for_user(self, user: User) -> JobQuerySet:
        return self.filter(organization__memberships__user=user)

    def matching(self, query: str | Query) -> JobQuerySet:
        """Jobs matching a search; raises ``InvalidQuery`` on a bad query.

        The same jobs as ``query.to_q()`` selects, by conditions that the
        database's text index can answer (see :mod:`ciapp.textsearch`).
        """
        if isinstance(query, str):
            query = parse(query)
        return self.filter(query_q(query, connections[self.db].vendor))

    def newest_first(self) -> JobQuerySet:
        return self.order_by("-pk")


class CommitFields(models.Model):
    """What a job knows of its commit. Abstract: its fields live on Job."""

    commit_sha = models.CharField(max_length=64, blank=True)
    commit_title = models.TextField(blank=True)
    commit_body = models.TextField(blank=True)
    commit_author = models.CharField(max_length=255, blank=True)

    class Meta:
        abstract = True


class Job(CommitFields):
    # The job's organization is its repository's. It is kept on the job too so
    # that an organization's run list is one index range, not a join.
    organization = models.ForeignKey(
        Organization, models.CASCADE, related_name="jobs", editable=False
    )
    repository = models.ForeignKey(Repository, models.CASCADE, related_name="jobs")
    number = models.PositiveIntegerField(editable=False)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    status = models.CharField(max_length=20, choices=JobStatus, default=JobStatus.NEW)
    error_kind = models.CharField(
        max_length=10, choices=JobErrorKind, default=JobErrorKind.NONE, blank=True
    )
    error_message = models.TextField(blank=True)
    calculated_status = models.CharField(
        max_length=20, choices=CalculatedStatus, default=CalculatedStatus.NEW
    )
    status_change_time = models.DateTimeField(default=timezone.now)

    branch = models.CharField(max_length=255)
    merge_branch = models.CharField(max_length=255, blank=True)
    ref = models.CharField(max_length=255, blank=True)
    run_start_reason = models.CharField(max_length=255)
    run_start_reason_url = models.CharField(max_length=1000, blank=True)
    accept_buttons = models.BooleanField(default=False)
    extra = models.TextField(blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Which worker is starting the job, and until when it has to say it is.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "number"], name="job_number_per_repository"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "-id"], name="job_org_newest"),
            models.Index(fields=["calculated_status"], name="job_calculated_status"),
            models.Index(
                fields=["repository", "branch", "-number"], name="job_repo_branch"
            ),
            # branch: on an organization's run list, newest first.
            models.Index(
                fields=["organization", "branch", "-id"], name="job_org_branch"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.repository.name}#{self.number}"

    @classmethod
    def newest_matching(cls, repository: Repository, query: Query) -> Job | None:
        """The repository's newest job that matches ``query``: the API's search.

        The job ``Job.objects.filter(repository=repository).matching(query)
        .order_by("-number").first()`` finds, by a statement compiled once
        per query and connection (see :mod:`ciapp.prepared`).
        """
        connection = connections[DEFAULT_DB_ALIAS]
        q, texts = plan(query, connection.vendor)
        ids: list[int] | None = None
        if texts:
            # None: a common word; the newest jobs are walked instead.
            ids = IndexedCandidates(texts).candidates(connection)
            if ids == []:
                return None
        with_ids = ids is not None

        def compile() -> prepared.Compiled | None:
            (repository_id,) = values = prepared.stand_ins([int])
            condition = q & Q(CandidateSlot()) if with_ids else q
            jobs = cls.objects.filter(condition, repository_id=repository_id)
            jobs = jobs.order_by("-number")[:1]
            try:
                compiled = prepared.compile_queryset(
                    jobs, prepared.model_fields(cls), values
                )
            except EmptyResultSet:
                return None
            assert compiled.sql.count(CandidateSlot.MARKER) == int(with_ids)
            return compiled

        # The conditions say all the statement is made of: the same search
        # may be asked another way once the sample has changed.
        key = ("newest-matching", repr(q), with_ids)
        compiled = prepared.cached(key, compile)
        sql = None
        if compiled is not None and ids is not None:
            sql = compiled.sql.replace(CandidateSlot.MARKER, inline_ids(ids))
        row = prepared.fetch_first(compiled, [repository.pk], sql)
        if row is None:
            return None
        job = prepared.build(cls, row)
        job.repository = repository
        return job

    @classmethod
    def create(
        cls,
        repository: Repository,
        *,
        commit_sha: str,
        branch: str,
        **fields: Any,
    ) -> Job:
        """Make the repository's next job.

        The number comes from an ``UPDATE`` of the repository's counter in the
        same transaction as the insert: concurrent creators queue on the
        repository row, and a failed insert gives its number back, so numbers
        stay unique and without gaps.
        """
        with transaction.atomic(savepoint=False):
            Repository.objects.filter(pk=repository.pk).update(
                last_job_number=F("last_job_number") + 1
            )
            number = (
                Repository.objects.filter(pk=repository.pk)
                .values_list("last_job_number", flat=True)
                .get()
            )
            job = cls(
                organization_id=repository.organization_id,
                repository=repository,
                number=number,
                commit_sha=commit_sha,
                branch=branch,
                merge_branch=fields.pop("merge_branch", branch),
                **fields,
            )
            job.calculated_status = calculate_status(job.status, job.error_kind, [])
            if job.calculated_status not in RUNNING_STATUSES:
                job.finished_at = job.created_at
            job.save(force_insert=True)
        repository.last_job_number = number
        return job

    def to_dict(self) -> dict[str, Any]:
        """The job as webapp.io's API shows it."""
        return {
            "repository_name": self.repository.name,
            "id": self.number,
            "uuid": str(self.uuid),
            "status": self.status,
            "status_change_time": format_go_time(self.status_change_time),
            "calculated_status": self.calculated_status,
            "commit_sha": self.commit_sha,
            "branch": self.branch,
            "merge_branch": self.merge_branch,
            "run_start_reason": self.run_start_reason,
            "run_start_reason_url": self.run_start_reason_url,
        }

    def path(self) -> str:
        org = self.repository.organization.name
        return f"/jobs/github/{org}/{self.repository.name}/{self.number}"

    @property
    def is_running(self) -> bool:
        return self.calculated_status in RUNNING_STATUSES

    def _current_runner_statuses(self) -> list[str]:
        if self.status != JobStatus.SEE_RUNNERS:
            return []
        return list(
            self.runners.filter(was_retried=False).values_list("status", flat=True)
        )

    def derive_calculated_status(self) -> CalculatedStatus:
        return calculate_status(
            self.status, self.error_kind, self._current_runner_statuses()
        )

    def refresh_calculated_status(self) -> bool:
        """Store the derived status and when the job finished.

        A job has finished when its outcome is known and none of its runners
        is still going (a job is FAILURE as soon as one runner fails, while
        others may still run). Returns whether the calculated status changed.

        Callers hold the job's row lock (see :meth:`locked`), so that two
        runners finishing at once cannot each store a status derived from a
        view that misses the other.
        """
        statuses = self._current_runner_statuses()
        calculated = calculate_status(self.status, self.error_kind, statuses)
        now = timezone.now()
        fields = []
        changed = calculated != self.calculated_status
        if changed:
            self.calculated_status = calculated
            self.status_change_time = now
            fields += ["calculated_status", "status_change_time"]
        finished = calculated not in RUNNING_STATUSES and not any(
            status in RUNNER_ACTIVE_STATUSES for status in statuses
        )
        if finished != (self.finished_at is not None):
            self.finished_at = now if finished else None
            fields.append("finished_at")
        if fields:
            self.save(update_fields=fields)
        return changed

    def locked(self) -> Job:
        """This job re-read under a row lock; call inside a transaction."""
        return Job.objects.select_for_update().get(pk=self.pk)

    def set_status(
        self,
        status: JobStatus,
        *,
        error_kind: JobErrorKind = JobErrorKind.NONE,
        error_message: str = "",
    ) -> None:
        """Move the job along its own life cycle and re-derive its outcome."""
        allowed = {
            JobStatus.NEW: {JobStatus.STARTING_RUNNERS, JobStatus.ERROR},
            JobStatus.STARTING_RUNNERS: {JobStatus.SEE_RUNNERS, JobStatus.ERROR},
            JobStatus.SEE_RUNNERS: set(),
            JobStatus.ERROR: set(),
        }
        if (status == JobStatus.ERROR) != bool(error_kind):
            raise ValueError("error_kind is given exactly when the status is ERROR")
        with transaction.atomic():
            job = self.locked()
            if status not in allowed[JobStatus(job.status)]:
                raise InvalidTransition(f"job {job} cannot go {job.status} → {status}")
            now = timezone.now()
            job.status = status
            job.error_kind = error_kind
            job.error_message = error_message
            job.status_change_time = now
            fields = ["status", "error_kind", "error_message", "status_change_time"]
            if status == JobStatus.STARTING_RUNNERS:
                job.started_at = now
                fields.append("started_at")
            job.save(update_fields=fields)
            job.refresh_calculated_status()
        self.refresh_from_db()

    def cancel(self, by: str = "") -> int:
        """Cancel every runner of this job still to finish.

        A job whose runners do not exist yet gets them cancelled as soon as
        they are made. Returns how many runners were cancelled now.
        """
        Job.objects.filter(pk=self.pk, cancel_requested_at__isnull=True).update(
            cancel_requested_at=timezone.now()
        )
        cancelled = 0
        for runner in self.runners.filter(
            was_retried=False, status__in=RUNNER_ACTIVE_STATUSES
        ):
            cancelled += runner.cancel(by)
        self.refresh_from_db()
        return cancelled


class Runner(models.Model):
    job = models.ForeignKey(Job, models.CASCADE, related_name="runners")
    layerfile_path = models.CharField(max_length=1000)
    # The runner's name before its index: LABEL display_name, or the folders
    # the Layerfile is in, or "main-layerfile".
    name = models.CharField(max_length=255)
    index = models.PositiveIntegerField(default=1)
    # Which copy of a SPLIT this runner is (1 to n), or 0 when not split.
    split_index = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=RunnerStatus, default=RunnerStatus.NEW
    )
    was_retried = models.BooleanField(default=False)
    retry_of = models.OneToOneField(
        "self", models.SET_NULL, null=True, blank=True, related_name="retried_by"
    )
    error_message = models.TextField(blank=True)
    status_change_time = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The Layerfiles this runner waits for: its FROM parent and its WAITs.
    depends_on = models.JSONField(default=list, blank=True)
    # The Layerfile whose finished working copy this runner starts from.
    parent_path = models.CharField(max_length=1000, blank=True)
    # Which worker runs it, until when, and on which host its files are.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    host = models.CharField(max_length=255, blank=True)
    # What a later step or a child runner needs to go on from here:
    # environment, working folder, setup files, the next step.
    state = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["layerfile_path", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "layerfile_path", "index"],
                name="runner_index_per_layerfile",
            )
        ]
        indexes = [
            models.Index(fields=["job", "was_retried"], name="runner_current"),
            models.Index(
                fields=["lease_expires_at"],
                name="runner_lease",
                condition=models.Q(status="RUNNING"),
            ),
        ]

    def __str__(self) -> str:
        return self.runner_id

    @property
    def runner_id(self) -> str:
        return self.name if self.index == 1 else f"{self.name}-{self.index}"

    def to_dict(self) -> dict[str, Any]:
        """The runner as webapp.io's API shows it."""
        return {
            "id": self.runner_id,
            "layerfile_relative_path": self.layerfile_path,
            "status": self.status,
            "was_retried": self.was_retried,
            "runner_index": self.index,
        }

    def transition(self, status: RunnerStatus, *, error_message: str = "") -> None:
        """Change this runner's status and re-derive its job's outcome."""
        with transaction.atomic():
            job = self.job.locked()
            runner = Runner.objects.get(pk=self.pk)
            current = RunnerStatus(runner.status)
            if status not in RUNNER_TRANSITIONS[current]:
                raise InvalidTransition(
                    f"runner {runner} cannot go {current} → {status}"
                )
            now = timezone.now()
            runner.status = status
            runner.status_change_time = now
            fields = ["status", "status_change_time"]
            if status == RunnerStatus.RUNNING:
                runner.started_at = now
                fields.append("started_at")
            if status in RUNNER_FINAL_STATUSES:
                runner.finished_at = now
                runner.lease_owner = ""
                runner.lease_expires_at = None
                fields += ["finished_at", "lease_owner", "lease_expires_at"]
            if error_message:
                runner.error_message = error_message
                fields.append("error_message")
            runner.save(update_fields=fields)
            job.refresh_calculated_status()
        self.refresh_from_db()
        self.job.refresh_from_db()

    def retry(self) -> Runner:
        """Run this runner's Layerfile again as a new runner.

        Only a finished runner that was not retried already can be retried.
        The new runner takes the next index of its Layerfile in this job.
        """
        with transaction.atomic():
            job = self.job.locked()
            runner = Runner.objects.get(pk=self.pk)
            if runner.was_retried:
                raise InvalidTransition(f"runner {runner} was retried already")
            if runner.status not in RUNNER_FINAL_STATUSES:
                raise InvalidTransition(
                    f"runner {runner} is {runner.status}; only a finished "
                    "runner can be retried"
                )
            last_index = (
                Runner.objects.filter(job=job, layerfile_path=runner.layerfile_path)
                .order_by("-index")
                .values_list("index", flat=True)
                .first()
            )
            runner.was_retried = True
            runner.save(update_fields=["was_retried"])
            new = Runner.objects.create(
                job=job,
                layerfile_path=runner.layerfile_path,
                name=runner.name,
                index=(last_index or 0) + 1,
                split_index=runner.split_index,
                depends_on=runner.depends_on,
                parent_path=runner.parent_path,
                retry_of=runner,
            )
            job.refresh_calculated_status()
        self.refresh_from_db()
        self.job.refresh_from_db()
        return new

    def claim(self, worker: str, host: str) -> bool:
        """Take this runner to run, or to go on with after a pressed BUTTON.

        Returns False when it is not there to take: another worker has it,
        or it ended (was cancelled, say) before a worker got to it.
        """
        with transaction.atomic():
            job = self.job.locked()
            runner = Runner.objects.get(pk=self.pk)
            now = timezone.now()
            fields = ["lease_owner", "lease_expires_at", "host"]
            if runner.status in (RunnerStatus.NEW, RunnerStatus.WAITING_PARENTS):
                runner.status = RunnerStatus.RUNNING
                runner.started_at = runner.status_change_time = now
                fields += ["status", "started_at", "status_change_time"]
            elif not (
                runner.status == RunnerStatus.RUNNING
                and not runner.lease_owner
                and runner.state.get("parked")
            ):
                return False
            runner.lease_owner = worker
            runner.lease_expires_at = now + timedelta(seconds=settings.CI_LEASE_SECONDS)
            runner.host = host
            runner.save(update_fields=fields)
            job.refresh_calculated_status()
        self.refresh_from_db()
        return True

    def renew_lease(self, worker: str) -> bool:
        """Extend the lease; False when this worker no longer holds it."""
        expires = timezone.now() + timedelta(seconds=settings.CI_LEASE_SECONDS)
        return bool(
            Runner.objects.filter(
                pk=self.pk, lease_owner=worker, status=RunnerStatus.RUNNING
            ).update(lease_expires_at=expires)
        )

    def park(self, worker: str, state: dict[str, Any]) -> None:
        """Let go of a runner that waits for a BUTTON, keeping where it was."""
        Runner.objects.filter(pk=self.pk, lease_owner=worker).update(
            lease_owner="", lease_expires_at=None, state={**state, "parked": True}
        )

    def cancel(self, by: str = "") -> bool:
        """Cancel this runner; False when it had already ended.

        A worker running it notices within a second and stops its processes.
        Its steps are ended here too, for a runner that no worker holds (not
        started yet, or waiting at a BUTTON).
        """
        try:
            self.transition(
                RunnerStatus.CANCELLED,
                error_message=f"Cancelled by {by}." if by else "Cancelled.",
            )
        except InvalidTransition:
            return False
        self.steps.filter(status=StepStatus.RUNNING).update(
            status=StepStatus.CANCELLED, finished_at=timezone.now()
        )
        self.steps.filter(status=StepStatus.NEW).update(status=StepStatus.SKIPPED)
        return True


class Step(models.Model):
    """One instruction of a runner's Layerfile, with its outcome and log."""

    runner = models.ForeignKey(Runner, models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    line = models.PositiveIntegerField()
    instruction = models.TextField()
    status = models.CharField(max_length=20, choices=StepStatus, default=StepStatus.NEW)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A BUTTON step records who pressed it, and when.
    pressed_at = models.DateTimeField(null=True, blank=True)
    pressed_by = models.CharField(max_length=150, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["runner", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["runner", "position"], name="step_position_per_runner"
            )
        ]

    def __str__(self) -> str:
        return f"{self.runner} step {self.position}"

    @property
    def is_waiting_for_button(self) -> bool:
        return (
            self.instruction.startswith("BUTTON")
            and self.status == StepStatus.RUNNING
            and self.pressed_at is None
        )

    def press(self, by: str) -> bool:
        """Press this BUTTON; False when it is not waiting to be pressed."""
        return bool(
            Step.objects.filter(
                pk=self.pk,
                status=StepStatus.RUNNING,
                pressed_at__isnull=True,
                instruction__startswith="BUTTON",
            ).update(pressed_at=timezone.now(), pressed_by=by[:150])
        )
