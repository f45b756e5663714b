"""A real server for browser tests: gunicorn with DEBUG off, after
collectstatic, on the test database, driven by Debian's Chromium.

The tests write to the database from the test process and the server reads
it, so they need committed data: ``django_db(transaction=True)``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.servers import gunicorn

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server_url(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    if connection.settings_dict["NAME"] == ":memory:":
        pytest.skip("the server cannot share an in-memory SQLite database")

    with gunicorn(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="session")
def browser(server_url: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread, for the rest
    # of the session; the tests' database calls (and pytest-django's flush
    # after each test) are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
            ],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, server_url: str) -> Iterator[object]:
    # Playwright's wait_for_function evaluates strings, which the service's
    # Content-Security-Policy forbids; test_security_headers checks the
    # pages under the policy with a context of its own.
    context = browser.new_context(
        base_url=server_url, viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()
