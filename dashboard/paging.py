"""Keyset paging over a run list, newest first.

A page is found by the primary key of the row next to it, never by an
offset: ``before=N`` is the page of rows whose key is below N, ``after=N`` the
page of rows whose key is above it. Each is one range scan of an index that
starts with the key, however far back the page is, and a run that arrives
while someone reads never shifts a row onto the next page twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.http import QueryDict

from ciapp.models import Job, JobQuerySet

PAGE_SIZE = 50

# Changes whenever the markup of a live fragment changes, so that a browser
# still holding an old fragment's ETag is sent the new markup.
LIVE_MARKUP_VERSION = "1"


@dataclass(frozen=True)
class Cursor:
    before: int | None = None
    after: int | None = None

    @classmethod
    def from_params(cls, params: QueryDict) -> Cursor:
        """Read ``before``/``after``; an unusable value means the first page."""
        for name in ("before", "after"):
            value = params.get(name, "")
            if value.isascii() and value.isdigit() and 0 < len(value) < 19:
                return cls(**{name: int(value)})
        return cls()

    @property
    def is_first(self) -> bool:
        return self.before is None and self.after is None


@dataclass(frozen=True)
class Page:
    rows: list[Job]  # newest first
    newer: int | None  # the ``after`` of the next newer page, if any
    older: int | None  # the ``before`` of the next older page, if any
    # An ``after`` page that reached the newest run: the first page is the
    # same page, with a URL that keeps showing the newest runs.
    reached_newest: bool = False


def window(jobs: JobQuerySet, cursor: Cursor, size: int | None = None) -> JobQuerySet:
    """The rows of a page plus one, in the order they are fetched.

    The extra row tells whether there is more in the direction of travel.
    """
    n = size or PAGE_SIZE
    if cursor.after is not None:
        return jobs.filter(pk__gt=cursor.after).order_by("pk")[: n + 1]
    if cursor.before is not None:
        jobs = jobs.filter(pk__lt=cursor.before)
    return jobs.order_by("-pk")[: n + 1]


def page_of(rows: Sequence[Job], cursor: Cursor, size: int | None = None) -> Page:
    """Make the page out of the rows of :func:`window`."""
    n = size or PAGE_SIZE
    more = len(rows) > n
    shown = list(rows[:n])

    if cursor.after is not None:
        shown.reverse()
        if not more:
            return Page(shown, None, None, reached_newest=True)
        return Page(shown, shown[0].pk, shown[-1].pk)

    older = shown[-1].pk if more else None
    if cursor.before is None:
        return Page(shown, None, older)
    newer = shown[0].pk if shown else cursor.before - 1
    return Page(shown, newer, older)


def fingerprint(rows: Iterable[tuple[int, datetime]]) -> str:
    """An ETag for a window of rows, from their keys and status change times.

    A run that enters or leaves the window changes the keys; a run whose
    status changes gets a new status change time.
    """
    digest = hashlib.sha256(LIVE_MARKUP_VERSION.encode())
    for pk, changed in rows:
        digest.update(f"{pk}:{changed.timestamp():.6f};".encode())
    return f'"{digest.hexdigest()[:32]}"'
