"""Names and numbers as people type them in URLs, and as the service keeps
them."""

from __future__ import annotations

from ciapp.models import REPOSITORY_NAME_RE
from ciapp.search import normalize_repository_name


def stored_repository_name(typed: str) -> str | None:
    """The name a repository typed as ``typed`` is kept under, if it can be one.

    None means no repository can have that name (it holds characters names
    never have, such as NUL, which PostgreSQL cannot even compare), so there
    is nothing to look up.
    """
    name = normalize_repository_name(typed)
    return name if REPOSITORY_NAME_RE.match(name) else None


def whole_number(typed: str, maximum: int) -> int | None:
    """``typed`` as a number from 1 to ``maximum``, or None if it is not one.

    Only ASCII digits count: ``str.isdigit`` also takes characters such as
    "¹" that ``int`` refuses.
    """
    if not (typed.isascii() and typed.isdigit()) or len(typed) > 19:
        return None
    number = int(typed)
    return number if 1 <= number <= maximum else None
