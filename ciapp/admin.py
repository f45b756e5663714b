"""The Django admin for staff: organizations, tokens, repositories and runs.

What the service derives is read-only here: a job's number, uuid, statuses
and times, and a runner's status, index and retry links, are changed only by
the life cycle methods on the models. Lists and change pages load related
rows with joins or one query per inline, never one query per row.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.db.models.functions import Length
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ciapp.execution import scheduling
from ciapp.models import (
    ApiToken,
    InvalidTransition,
    Job,
    Membership,
    Organization,
    Repository,
    RepositorySecret,
    Runner,
    Step,
)
from ciapp.names import whole_number
from ciapp.search import InvalidQuery, parse

# The largest primary key a database's bigint holds.
MAX_ID = 2**63 - 1


def _link(obj: Any, text: object) -> SafeString:
    """A link to ``obj``'s change page."""
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text)


class ParentFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Gives each inline row its parent object, which its title names.

    Without it, every row's ``__str__`` would read the parent again.
    """

    def _construct_form(self, i: int, **kwargs: Any) -> Any:
        form = super()._construct_form(i, **kwargs)  # type: ignore[misc]
        setattr(form.instance, self.fk.name, self.instance)
        return form


# Organizations and their members and tokens --------------------------------


class MembershipInline(admin.TabularInline[Membership, Organization]):
    """The members an organization has; a member's user is fixed."""

    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["user", "created_at"]
    verbose_name_plural = "members"

    formset = ParentFormSet

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class NewMembershipInline(admin.TabularInline[Membership, Organization]):
    """Rows for adding members, with a user search.

    Apart from :class:`MembershipInline` because the autocomplete widget
    reads its selected user with one query per row.
    """

    model = Membership
    extra = 1
    fields = ["user", "role"]
    autocomplete_fields = ["user"]
    verbose_name = "new member"
    verbose_name_plural = "add members"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).none()


class ApiTokenInline(admin.TabularInline[ApiToken, Organization]):
    model = ApiToken
    extra = 0
    fields = ["name", "key_id", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["name", "key_id", "created_at", "last_used_at"]
    can_delete = False
    show_change_link = True

    formset = ParentFormSet

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # A token's plain text can be shown only when it is made, which the
        # token page does; see ApiTokenAdmin.save_model.
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ["name", "member_count", "repository_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]
    show_full_result_count = False
    inlines = [MembershipInline, NewMembershipInline, ApiTokenInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organization]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _members=Count("memberships", distinct=True),
                _repositories=Count("repositories", distinct=True),
            )
        )

    @admin.display(description="members", ordering="_members")
    def member_count(self, obj: Organization) -> int:
        return obj._members  # type: ignore[attr-defined,no-any-return]

    @admin.display(description="repositories", ordering="_repositories")
    def repository_count(self, obj: Organization) -> int:
        return obj._repositories  # type: ignore[attr-defined,no-any-return]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = [
        "__str__",
        "name",
        "organization",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_select_related = ["organization"]
    list_filter = ["organization", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key_id", "organization__name"]
    fields = ["organization", "name", "key_id", "created_at", "last_used_at"]
    readonly_fields = ["key_id", "created_at", "last_used_at"]
    actions = ["revoke"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        return super().get_queryset(request).select_related("organization")

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> list[str]:
        if obj is None:
            return ["key_id", "created_at", "last_used_at"]
        return ["organization", "key_id", "created_at", "last_used_at", "revoked_at"]

    def get_fields(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> list[Any]:
        if obj is None:
            return ["organization", "name"]
        return [*self.fields, "revoked_at"]

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: object, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, plain = ApiToken.issue(obj.organization, obj.name)
        obj.pk = token.pk
        obj.key_id = token.key_id
        self.message_user(
            request,
            f"The new token is {plain} — copy it now; it is not shown again.",
            messages.WARNING,
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            token.revoke()
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token(s).")


# Repositories --------------------------------------------------------------


class RepositorySecretInline(admin.TabularInline[RepositorySecret, Repository]):
    model = RepositorySecret
    extra = 0


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin[Repository]):
    list_display = [
        "name",
        "organization",
        "default_branch",
        "git_source",
        "last_job_number",
    ]
    list_select_related = ["organization"]
    list_filter = ["organization"]
    search_fields = ["name", "organization__name", "git_source"]
    inlines = [RepositorySecretInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Repository]:
        return super().get_queryset(request).select_related("organization")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Repository | None = None
    ) -> list[str]:
        # Jobs keep their organization: a repository does not move.
        fields = ["last_job_number", "created_at"]
        return ["organization", *fields] if obj else fields


# Jobs, runners and steps ---------------------------------------------------


class RepositoryFilter(admin.SimpleListFilter):
    """Repositories by their full name, read in one query."""

    title = "repository"
    parameter_name = "repository__id__exact"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        repositories = Repository.objects.select_related("organization")
        return [(str(r.pk), str(r)) for r in repositories]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        number = whole_number(self.value() or "", MAX_ID)
        if number is not None:
            return queryset.filter(repository_id=number)
        return queryset


class BranchFilter(admin.SimpleListFilter):
    """Branches to filter by, without scanning every job for them.

    With a repository chosen, its branches come from the (repository, branch)
    index; without one, from the latest runs only.
    """

    title = "branch"
    parameter_name = "branch"
    RECENT = 500

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        repository = whole_number(request.GET.get("repository__id__exact", ""), MAX_ID)
        if repository is not None:
            jobs = Job.objects.filter(repository_id=repository)
            names = jobs.order_by("branch").values_list("branch", flat=True)
            return [(b, b) for b in names.distinct()[: self.RECENT]]
        recent = Job.objects.order_by("-pk").values_list("branch", flat=True)
        return [(b, b) for b in sorted(set(recent[: self.RECENT]))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(branch=value) if value else queryset


class RunnerInline(admin.TabularInline[Runner, Job]):
    model = Runner
    extra = 0
    can_delete = False
    show_change_link = True
    fields = (
        "runner_id",
        "layerfile_path",
        "index",
        "split_index",
        "status",
        "was_retried",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="runner")
    def runner_id(self, obj: Runner) -> str:
        return obj.runner_id


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
    list_display = [
        "__str__",
        "calculated_status",
        "organization",
        "branch",
        "commit_title",
        "commit_author",
        "created_at",
    ]
    list_select_related = ["repository", "organization"]
    list_filter = ["calculated_status", RepositoryFilter, BranchFilter]
    search_fields = [
        "commit_title",
        "commit_author",
        "commit_sha",
        "branch",
        "repository__name",
    ]
    search_help_text = (
        "The dashboard's search language: words, “phrases”, -word, "
        "repo:NAME, branch:NAME, id:N, status:S, running, done, failed."
    )
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "organization",
                    "repository",
                    "number",
                    "uuid",
                    "dashboard_link",
                ]
            },
        ),
        (
            "Status",
            {
                "fields": [
                    "status",
                    "calculated_status",
                    "status_change_time",
                    "error_kind",
                    "error_message",
                    "created_at",
                    "started_at",
                    "finished_at",
                ]
            },
        ),
        (
            "Commit",
            {
                "fields": [
                    "commit_sha",
                    "commit_title",
                    "commit_body",
                    "commit_author",
                    "branch",
                    "merge_branch",
                    "ref",
                ]
            },
        ),
        (
            "Start",
            {
                "fields": [
                    "run_start_reason",
                    "run_start_reason_url",
                    "accept_buttons",
                    "extra",
                ]
            },
        ),
    ]
    # The commit's description and the start reason are free text; all else
    # is what ran, or derived from the runners.
    readonly_fields = [
        "organization",
        "repository",
        "number",
        "uuid",
        "dashboard_link",
        "status",
        "calculated_status",
        "status_change_time",
        "error_kind",
        "error_message",
        "created_at",
        "started_at",
        "finished_at",
        "commit_sha",
        "branch",
        "merge_branch",
        "ref",
        "accept_buttons",
        "extra",
    ]
    inlines = [RunnerInline]
    show_full_result_count = False
    list_per_page = 50

    actions = ["cancel_runs"]

    @admin.action(description="Cancel the selected runs")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        by = request.user.get_username()
        cancelled = sum(job.cancel(by=by) for job in queryset)
        self.message_user(request, f"Cancelled {cancelled} runner(s).")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Jobs are numbered by Job.create, which the API calls.
        return False

    @admin.display(description="dashboard")
    def dashboard_link(self, obj: Job) -> SafeString:
        path = reverse(
            "dashboard:job",
            args=[obj.organization.name, obj.repository.name, obj.number],
        )
        return format_html('<a href="{}">{}</a>', path, path)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return (
            super()
            .get_queryset(request)
            .select_related("repository__organization", "organization")
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Job], search_term: str
    ) -> tuple[QuerySet[Job], bool]:
        """Search with the dashboard's language; say so when it is invalid."""
        if not search_term.strip():
            return queryset, False
        try:
            query = parse(search_term)
        except InvalidQuery as e:
            self.message_user(request, e.message, messages.ERROR)
            return queryset.none(), False
        return queryset.filter(query.to_q()), False


class StepInline(admin.TabularInline[Step, Runner]):
    model = Step
    formset = ParentFormSet
    extra = 0
    can_delete = False
    fields = (
        "position",
        "line",
        "instruction",
        "status",
        "exit_code",
        "started_at",
        "finished_at",
        "log_size",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Step]:
        # The logs stay in the database; the runner's page on the dashboard
        # shows them.
        return (
            super().get_queryset(request).defer("log").annotate(_log_size=Length("log"))
        )

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="log")
    def log_size(self, obj: Step) -> str:
        return f"{obj._log_size} characters"  # type: ignore[attr-defined]


@admin.register(Runner)
class RunnerAdmin(admin.ModelAdmin[Runner]):
    list_display = ["__str__", "job", "status", "was_retried", "created_at"]
    list_select_related = ["job__repository"]
    list_filter = ["status", "was_retried"]
    search_fields = ["name", "layerfile_path", "job__repository__name"]
    readonly_fields = (
        "job",
        "layerfile_path",
        "name",
        "index",
        "split_index",
        "status",
        "was_retried",
        "retry_of",
        "error_message",
        "status_change_time",
        "created_at",
        "started_at",
        "finished_at",
    )
    fields = readonly_fields
    inlines = [StepInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Runner]:
        return (
            super().get_queryset(request).select_related("job__repository", "retry_of")
        )

    actions = ["retry_runners", "cancel_runners"]

    @admin.action(description="Retry the selected runners")
    def retry_runners(self, request: HttpRequest, queryset: QuerySet[Runner]) -> None:
        retried, refused = [], []
        for runner in queryset.select_related("job"):
            try:
                retried.append(scheduling.retry(runner).runner_id)
            except InvalidTransition:
                refused.append(runner.runner_id)
        if retried:
            self.message_user(request, f"Retrying as {', '.join(retried)}.")
        if refused:
            self.message_user(
                request,
                f"Not retried: {', '.join(refused)} (only a finished runner that "
                "was not retried already can be).",
                messages.WARNING,
            )

    @admin.action(description="Cancel the selected runners")
    def cancel_runners(self, request: HttpRequest, queryset: QuerySet[Runner]) -> None:
        by = request.user.get_username()
        cancelled = sum(runner.cancel(by) for runner in queryset)
        self.message_user(request, f"Cancelled {cancelled} runner(s).")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Runners are made when a job starts, and by a retry.
        return False
