from __future__ import annotations

import secrets
import shutil
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from ciapp.demo import ORGANIZATION, DemoLoader
from ciapp.models import ApiToken, Job, Membership, Organization

DEMO_TOKEN_NAME = "demo login"


class Command(BaseCommand):
    help = (
        "Load demo repositories (real git repositories with Layerfiles) and a "
        "history of runs, then print fresh demo logins and an API token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--commits", type=int, default=80, help="commits per repository"
        )
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="where the service runs"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["commits"] < 1:
            raise CommandError("--commits must be at least 1.")
        organization = Organization.objects.filter(name=ORGANIZATION).first()
        if organization is None:
            source_dir = settings.DATA_DIR / "demo-sources"
            shutil.rmtree(source_dir, ignore_errors=True)
            source_dir.mkdir(parents=True)
            organization = DemoLoader(
                source_dir, options["seed"], options["commits"]
            ).load()
            count = Job.objects.for_org(organization).count()
            self.stderr.write(f"Loaded {count} demo runs into {organization.name}.")
        else:
            self.stderr.write(f"Demo organization {organization.name} exists; kept.")

        admin_password, member_password, token = self._logins(organization)
        url = options["url"].rstrip("/")
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  Dashboard:  {url}/",
                    f"  Admin:      {url}/admin/   user admin  "
                    f"password {admin_password}",
                    f"  Member:     user member  password {member_password}",
                    f"  API token:  {token}",
                    f"  Try:        curl '{url}/api/v1/run/web-store/search"
                    f"?token={token}&search=failed'",
                    "",
                ]
            )
        )

    @transaction.atomic
    def _logins(self, organization: Organization) -> tuple[str, str, str]:
        """Fresh passwords for the demo users and a fresh demo token.

        Nothing secret is kept in plain text: each start makes new ones and
        revokes the previous demo token.
        """
        users = get_user_model()
        admin_password = secrets.token_urlsafe(9)
        member_password = secrets.token_urlsafe(9)

        admin, _ = users.objects.get_or_create(username="admin")
        admin.is_staff = admin.is_superuser = True
        admin.set_password(admin_password)
        admin.save()
        member, _ = users.objects.get_or_create(username="member")
        member.set_password(member_password)
        member.save()
        Membership.objects.get_or_create(
            organization=organization,
            user=admin,
            defaults={"role": Membership.Role.OWNER},
        )
        Membership.objects.get_or_create(organization=organization, user=member)

        for old in ApiToken.objects.active().filter(
            organization=organization, name=DEMO_TOKEN_NAME
        ):
            old.revoke()
        _, token = ApiToken.issue(organization, DEMO_TOKEN_NAME)
        return admin_password, member_password, token
