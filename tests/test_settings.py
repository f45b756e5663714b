"""Settings from the environment, and the production settings' checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ciapp.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "SECRET_KEY": "x" * 60 + "-not-a-real-key-" + "y" * 20,
    "ALLOWED_HOSTS": "ci.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_COOKIES": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "true",
}


def test_the_documented_production_settings_pass_the_deploy_checks(tmp_path):
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **_without_test_switches(os.environ),
            **PRODUCTION,
            "CI_DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def _without_test_switches(environ):
    """The environment less what the browser tests set for themselves."""
    return {k: v for k, v in environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def test_secrets_can_come_from_files(tmp_path, monkeypatch):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("SOME_KEY_FILE", str(secret))

    assert env_str("SOME_KEY", "default") == "from-a-file"


def test_an_unreadable_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SOME_KEY_FILE", str(tmp_path / "missing"))

    with pytest.raises(ImproperlyConfigured, match="SOME_KEY_FILE: cannot read"):
        env_str("SOME_KEY", "")


@pytest.mark.parametrize(
    "reader, value, message",
    [
        (lambda: env_bool("FLAG", False), "maybe", "FLAG must be true or false"),
        (lambda: env_int("FLAG", 1), "ten", "FLAG must be a whole number"),
        (lambda: env_int("FLAG", 1, minimum=3), "2", "FLAG must be at least 3"),
    ],
)
def test_bad_values_stop_the_service(monkeypatch, reader, value, message):
    monkeypatch.setenv("FLAG", value)

    with pytest.raises(ImproperlyConfigured, match=message):
        reader()


def test_lists_and_defaults(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example , b.example,")
    monkeypatch.delenv("MISSING", raising=False)

    assert env_list("HOSTS", []) == ["a.example", "b.example"]
    assert env_bool("MISSING", True) is True


def test_answers_carry_the_security_headers(client):
    r = client.get("/login/")

    assert r["Content-Security-Policy"].startswith("default-src 'self'")
    assert r["X-Frame-Options"] == "DENY"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
