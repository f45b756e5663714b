from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from ciapp.git import GitError, check_ref_name, check_source
from ciapp.models import Organization, Repository


class Command(BaseCommand):
    help = (
        "Add a repository to an organization (made if needed), after checking "
        "that git can reach its source."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", metavar="ORG/NAME")
        parser.add_argument("--git", required=True, metavar="SOURCE")
        parser.add_argument("--default-branch", default="master", metavar="BRANCH")
        parser.add_argument(
            "--no-check",
            action="store_true",
            help="add the repository without checking that its source is reachable",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        org_name, slash, repo_name = options["name"].partition("/")
        if not slash or not org_name or not repo_name or "/" in repo_name:
            raise CommandError(
                f"Give the repository as ORG/NAME, not {options['name']!r}."
            )
        problem = check_ref_name(options["default_branch"], "--default-branch")
        if problem:
            raise CommandError(problem)
        organization = Organization.objects.filter(name=org_name).first()
        if organization is None:
            organization = Organization(name=org_name)
            _validate(organization, "organization")
        repository = Repository(
            organization=organization,
            name=repo_name,
            git_source=options["git"],
            default_branch=options["default_branch"],
        )
        _validate(repository, "repository", exclude=["organization"])
        if (
            organization.pk
            and Repository.objects.filter(
                organization=organization, name=repository.name
            ).exists()
        ):
            raise CommandError(f"{org_name}/{repository.name} exists already.")
        if not options["no_check"]:
            try:
                check_source(repository.git_source)
            except GitError as e:
                raise CommandError(f"{e} (--no-check adds it anyway)")

        with transaction.atomic():
            organization.save()
            repository.organization = organization
            repository.save()
        self.stdout.write(f"Added {organization.name}/{repository.name}")


def _validate(obj: Organization | Repository, what: str, **kwargs: Any) -> None:
    try:
        obj.full_clean(**kwargs)
    except ValidationError as e:
        problems = "; ".join(
            f"{field}: {' '.join(messages)}"
            for field, messages in e.message_dict.items()
        )
        raise CommandError(f"Invalid {what}: {problems}")
