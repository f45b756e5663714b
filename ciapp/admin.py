from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ciapp.models import (
    ApiToken,
    Job,
    Membership,
    Organization,
    Repository,
    RepositorySecret,
    Runner,
    Step,
)


class MembershipInline(admin.TabularInline[Membership, Organization]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiTokenInline(admin.TabularInline[ApiToken, Organization]):
    model = ApiToken
    extra = 0
    fields = ["name", "key_id", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["name", "key_id", "created_at", "last_used_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin[Organization]):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline, ApiTokenInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    list_display = ["__str__", "name", "organization", "created_at", "last_used_at"]
    list_select_related = ["organization"]
    list_filter = ["organization"]
    fields = ["organization", "name", "key_id", "created_at", "last_used_at"]
    readonly_fields = ["key_id", "created_at", "last_used_at"]
    actions = ["revoke"]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ApiToken | None = None
    ) -> list[str]:
        if obj is None:
            return ["key_id", "created_at", "last_used_at"]
        return ["organization", "key_id", "created_at", "last_used_at", "revoked_at"]

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
        for token in queryset.active():  # type: ignore[attr-defined]
            token.revoke()


class RepositorySecretInline(admin.TabularInline[RepositorySecret, Repository]):
    model = RepositorySecret
    extra = 0


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin[Repository]):
    list_display = ["name", "organization", "default_branch", "git_source"]
    list_select_related = ["organization"]
    list_filter = ["organization"]
    search_fields = ["name"]
    inlines = [RepositorySecretInline]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Repository | None = None
    ) -> list[str]:
        return ["organization"] if obj else []


class RunnerInline(admin.TabularInline[Runner, Job]):
    model = Runner
    extra = 0
    can_delete = False
    fields = ["layerfile_path", "name", "index", "status", "was_retried"]
    readonly_fields = ["layerfile_path", "name", "index", "status", "was_retried"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin[Job]):
    list_display = [
        "__str__",
        "calculated_status",
        "branch",
        "commit_title",
        "commit_author",
        "created_at",
    ]
    list_select_related = ["repository"]
    list_filter = ["calculated_status", "repository", "branch"]
    search_fields = ["commit_title", "commit_author", "commit_sha"]
    readonly_fields = [
        "organization",
        "repository",
        "number",
        "uuid",
        "status",
        "error_kind",
        "calculated_status",
        "status_change_time",
        "commit_sha",
        "created_at",
        "started_at",
        "finished_at",
    ]
    inlines = [RunnerInline]
    show_full_result_count = False


class StepInline(admin.TabularInline[Step, Runner]):
    model = Step
    extra = 0
    can_delete = False
    fields = ["position", "line", "instruction", "status", "exit_code"]
    readonly_fields = ["position", "line", "instruction", "status", "exit_code"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Runner)
class RunnerAdmin(admin.ModelAdmin[Runner]):
    list_display = ["__str__", "job", "status", "was_retried", "created_at"]
    list_select_related = ["job__repository"]
    list_filter = ["status"]
    readonly_fields = [
        "job",
        "layerfile_path",
        "name",
        "index",
        "split_index",
        "status",
        "was_retried",
        "retry_of",
        "status_change_time",
        "created_at",
        "started_at",
        "finished_at",
    ]
    inlines = [StepInline]
