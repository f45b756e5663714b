from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ciapp.models import ApiToken, Organization


class Command(BaseCommand):
    help = "Make an API token for an organization; its last line is the token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", metavar="ORG")
        parser.add_argument("--name", default="", help="a note on what it is for")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(name=options["organization"]).first()
        if organization is None:
            raise CommandError(f"There is no organization {options['organization']!r}.")

        _, plain = ApiToken.issue(organization, options["name"])
        self.stderr.write(
            f"A new token for {organization.name}. It is shown only now; keep it "
            "somewhere safe."
        )
        self.stdout.write(plain)
