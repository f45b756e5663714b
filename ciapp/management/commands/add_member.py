from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ciapp.models import Membership, Organization


class Command(BaseCommand):
    help = "Make an existing user a member of an organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", metavar="ORG")
        parser.add_argument("username", metavar="USERNAME")
        parser.add_argument(
            "--owner", action="store_true", help="make them an owner, not a member"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(name=options["organization"]).first()
        if organization is None:
            raise CommandError(f"There is no organization {options['organization']!r}.")
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(
                f"There is no user {options['username']!r}; make one first, for "
                "example with createsuperuser."
            )

        role = Membership.Role.OWNER if options["owner"] else Membership.Role.MEMBER
        membership, created = Membership.objects.update_or_create(
            organization=organization, user=user, defaults={"role": role}
        )
        verb = "is now" if created else "was already; now"
        self.stdout.write(f"{user.username} {verb} {role} of {organization.name}")
