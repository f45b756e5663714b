"""The search language for CI jobs.

One parser serves the dashboard search bar, the API's ``search`` parameter and
the dashboard's FilterSet. :func:`parse` turns the text into a :class:`Query`
of typed terms; :meth:`Query.to_q` turns that into a ``Q`` for ``Job``
querysets. Every problem with the text is reported as :class:`InvalidQuery`,
whose message is meant for the user.

``Query.to_q()`` says what a query means. ``Job.objects.matching()`` runs
the same query through :mod:`ciapp.textsearch`, which answers text terms
from the database's text index with exactly the same result.

The language:

- Whitespace (any Unicode whitespace) separates terms, and every term must
  hold. An empty or blank query has no terms and matches every job.
- ``word`` matches jobs whose commit title, body or author contains the word,
  ignoring case. ``"exact text"`` does the same for the quoted text, spaces
  kept as typed; inside quotes ``\\"`` is a quote and ``\\\\`` a backslash.
  A quote opens a quoted part only at the start of a term (after an optional
  ``-``) or right after a known ``key:``; elsewhere it is an ordinary
  character, so ``5"`` is a word. A closing quote must end the term.
- ``-word`` and ``-"some text"`` match jobs whose title, body and author all
  lack the text. A ``-`` on its own is the word ``-``.
- ``repo:NAME`` is the repository, NAME normalised as repository names are
  (see :func:`normalize_repository_name`). ``branch:NAME`` is the branch,
  exact and case-sensitive. ``id:N`` is the per-repository job number.
  ``status:S`` is the calculated status, ignoring case. Keys ignore case, a
  value may be quoted (``branch:"release 1"``) and ``-`` in front of a
  qualifier excludes the jobs it matches.
- Any other ``key:value`` is an ordinary word, colon included, because
  commit titles such as ``fix: crash`` are common.
- The bare words ``running``, ``done`` and ``failed`` (any case, not quoted)
  select the groups of calculated statuses of the same names; quote them to
  search commit text instead.
- A qualifier repeated with the same value counts once. The same qualifier
  twice with different values can never match (a job has one branch), and
  neither can a qualifier next to its own negation; both are errors. Several
  negated values (``-branch:a -branch:b``) are fine. Group words and text are
  kept as written.
- A query is at most :data:`MAX_QUERY_LENGTH` characters and
  :data:`MAX_TERMS` terms, and may not contain control characters (other than
  whitespace) or unpaired surrogates, which the database cannot store.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from django.db.models import Q

from ciapp.statuses import (
    DONE_STATUSES,
    FAILED_STATUSES,
    RUNNING_STATUSES,
    CalculatedStatus,
)

MAX_QUERY_LENGTH = 1000  # characters
MAX_TERMS = 50

# The largest value of the integer column that holds job numbers.
MAX_JOB_NUMBER = 2_147_483_647

GROUPS: dict[str, frozenset[CalculatedStatus]] = {
    "running": RUNNING_STATUSES,
    "done": DONE_STATUSES,
    "failed": FAILED_STATUSES,
}

KEYS = ("repo", "branch", "id", "status")

_EXAMPLES = {
    "repo": "repo:my-app",
    "branch": "branch:main",
    "id": "id:42",
    "status": "status:failure",
}

_STATUSES_BY_NAME = {status.value.lower(): status for status in CalculatedStatus}

_DIGITS = re.compile(r"[0-9]+")
_REPOSITORY_SEPARATORS = re.compile(r"[\s.]")


class InvalidQuery(ValueError):
    """A search the user typed cannot be run; the message says why."""

    def __init__(self, message: str, term: str = "") -> None:
        super().__init__(message)
        self.message = message
        # The offending term as the user typed it, or "" for the whole query.
        self.term = term


def normalize_repository_name(name: str) -> str:
    """Return ``name`` the way repository names are stored.

    Names are lower-case, with whitespace and dots turned into dashes, so
    ``My.App`` and ``my app`` both become ``my-app``.
    """
    return _REPOSITORY_SEPARATORS.sub("-", name.lower())


def _statuses_sentence(statuses: frozenset[CalculatedStatus]) -> str:
    # Declaration order, so that sentences are stable and read naturally.
    return ", ".join(status.value for status in CalculatedStatus if status in statuses)


@dataclass(frozen=True)
class TextTerm:
    text: str
    phrase: bool = False
    negated: bool = False

    def to_q(self) -> Q:
        q = (
            Q(commit_title__icontains=self.text)
            | Q(commit_body__icontains=self.text)
            | Q(commit_author__icontains=self.text)
        )
        return ~q if self.negated else q

    def describe(self) -> str:
        verb = "does not contain" if self.negated else "contains"
        return f"commit text {verb} “{self.text}”"


@dataclass(frozen=True)
class RepoTerm:
    name: str
    negated: bool = False

    def to_q(self) -> Q:
        q = Q(repository__name=self.name)
        return ~q if self.negated else q

    def describe(self) -> str:
        verb = "is not" if self.negated else "is"
        return f"repository {verb} {self.name}"


@dataclass(frozen=True)
class BranchTerm:
    name: str
    negated: bool = False

    def to_q(self) -> Q:
        q = Q(branch=self.name)
        return ~q if self.negated else q

    def describe(self) -> str:
        verb = "is not" if self.negated else "is"
        return f"branch {verb} {self.name}"


@dataclass(frozen=True)
class IdTerm:
    number: int
    negated: bool = False

    def to_q(self) -> Q:
        q = Q(number=self.number)
        return ~q if self.negated else q

    def describe(self) -> str:
        verb = "is not" if self.negated else "is"
        return f"id {verb} {self.number}"


@dataclass(frozen=True)
class StatusTerm:
    status: CalculatedStatus
    negated: bool = False

    def to_q(self) -> Q:
        q = Q(calculated_status=self.status)
        return ~q if self.negated else q

    def describe(self) -> str:
        verb = "is not" if self.negated else "is"
        return f"status {verb} {self.status.value}"


@dataclass(frozen=True)
class GroupTerm:
    group: str  # a key of GROUPS
    negated: bool = False

    def to_q(self) -> Q:
        statuses = GROUPS[self.group]
        values = [status for status in CalculatedStatus if status in statuses]
        q = Q(calculated_status__in=values)
        return ~q if self.negated else q

    def describe(self) -> str:
        verb = "is none of" if self.negated else "is one of"
        return f"status {verb} {_statuses_sentence(GROUPS[self.group])}"


Term = TextTerm | RepoTerm | BranchTerm | IdTerm | StatusTerm | GroupTerm
Qualifier = RepoTerm | BranchTerm | IdTerm | StatusTerm


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...] = ()

    def to_q(self) -> Q:
        """Return a ``Q`` matching the jobs that satisfy every term."""
        q = Q()
        for term in self.terms:
            q &= term.to_q()

        return q

    def describe(self) -> list[str]:
        """Return one short sentence per term, for showing the search."""
        return [term.describe() for term in self.terms]


@dataclass(frozen=True)
class _Token:
    """One whitespace-separated piece of the query, before it is typed."""

    raw: str  # as typed, including any "-", key and quotes
    negated: bool
    key: str | None  # a known key in lower case, or None for text
    value: str  # quotes removed and escapes resolved
    quoted: bool


def _is_forbidden(char: str) -> bool:
    category = unicodedata.category(char)
    if category == "Cc":
        return not char.isspace()
    # Unpaired surrogates cannot be encoded, so they cannot reach the database.
    return category == "Cs"


def _printable(text: str) -> str:
    return "".join(
        f"\\u{ord(char):04x}" if _is_forbidden(char) else char for char in text
    )


def _check_characters(text: str) -> None:
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidQuery(
            f"The query is {len(text)} characters long; the limit is "
            f"{MAX_QUERY_LENGTH} characters. Shorten it."
        )

    for position, char in enumerate(text):
        if not _is_forbidden(char):
            continue
        start = position
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        end = position
        while end < len(text) and not text[end].isspace():
            end += 1
        term = text[start:end]
        raise InvalidQuery(
            f"The term `{_printable(term)}` contains the character "
            f"U+{ord(char):04X}, which cannot be used in a search; remove it.",
            term,
        )


class _Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def tokens(self) -> list[_Token]:
        tokens: list[_Token] = []
        while True:
            self._skip_whitespace()
            if self.pos >= len(self.text):
                return tokens
            tokens.append(self._token())

    def _skip_whitespace(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def _at_term_end(self) -> bool:
        return self.pos >= len(self.text) or self.text[self.pos].isspace()

    def _word(self) -> str:
        start = self.pos
        while not self._at_term_end():
            self.pos += 1

        return self.text[start : self.pos]

    def _token(self) -> _Token:
        text = self.text
        start = self.pos

        negated = False
        if text[self.pos] == "-" and self.pos + 1 < len(text):
            if not text[self.pos + 1].isspace():
                negated = True
                self.pos += 1

        if text[self.pos] == '"':
            value = self._quoted(start)
            return _Token(text[start : self.pos], negated, None, value, True)

        key = self._key()
        if key is None:
            value = self._word()
            return _Token(text[start : self.pos], negated, None, value, False)

        quoted = self.pos < len(text) and text[self.pos] == '"'
        value = self._quoted(start) if quoted else self._word()
        return _Token(text[start : self.pos], negated, key, value, quoted)

    def _key(self) -> str | None:
        """Consume ``key:`` if a known key starts here, and return the key."""
        end = self.pos
        while end < len(self.text) and not self.text[end].isspace():
            end += 1
        colon = self.text.find(":", self.pos, end)
        if colon == -1:
            return None

        key = self.text[self.pos : colon]
        if not key.isascii() or key.lower() not in KEYS:
            return None
        self.pos = colon + 1

        return key.lower()

    def _quoted(self, term_start: int) -> str:
        """Consume a quoted part starting here and return what it holds."""
        text = self.text
        self.pos += 1
        chars: list[str] = []
        while True:
            if self.pos >= len(text):
                rest = text[term_start:].rstrip()
                raise InvalidQuery(
                    f'The quote opened at `{rest}` is never closed; add a closing ".',
                    rest,
                )
            char = text[self.pos]
            if char == "\\" and text[self.pos + 1 : self.pos + 2] in ('"', "\\"):
                chars.append(text[self.pos + 1])
                self.pos += 2
            elif char == '"':
                self.pos += 1
                break
            else:
                chars.append(char)
                self.pos += 1

        if not self._at_term_end():
            self._word()
            term = text[term_start : self.pos]
            raise InvalidQuery(
                f"The term `{term}` goes on after its closing quote; put a "
                'space after the closing " to start a new term.',
                term,
            )

        return "".join(chars)


def _text_term(token: _Token) -> Term:
    if token.quoted:
        if not token.value:
            raise InvalidQuery(
                f"The term `{token.raw}` has nothing between its quotes; put "
                "the text to search for inside them.",
                token.raw,
            )
        return TextTerm(token.value, phrase=True, negated=token.negated)

    group = token.value.lower()
    if token.value.isascii() and group in GROUPS:
        return GroupTerm(group, token.negated)

    return TextTerm(token.value, negated=token.negated)


def _qualifier(token: _Token, key: str) -> Qualifier:
    value = token.value
    if not value:
        raise InvalidQuery(
            f"{key}: needs a value, for example {_EXAMPLES[key]}.", token.raw
        )

    if key == "repo":
        return RepoTerm(normalize_repository_name(value), token.negated)
    if key == "branch":
        return BranchTerm(value, token.negated)

    if key == "id":
        if not _DIGITS.fullmatch(value):
            raise InvalidQuery(
                f"id: expects a run number such as id:42, not `{value}`.",
                token.raw,
            )
        # NB: int() refuses more than 4300 digits; MAX_QUERY_LENGTH keeps
        # values well below that.
        number = int(value)
        if not 1 <= number <= MAX_JOB_NUMBER:
            raise InvalidQuery(
                f"id: expects a run number from 1 to {MAX_JOB_NUMBER}, not `{value}`.",
                token.raw,
            )
        return IdTerm(number, token.negated)

    status = _STATUSES_BY_NAME.get(value.lower()) if value.isascii() else None
    if status is None:
        valid = ", ".join(_STATUSES_BY_NAME)
        message = f"status: expects one of {valid}, not `{value}`."
        if value.isascii() and value.lower() in GROUPS:
            word = value.lower()
            message += f" To find every {word} run, write {word} on its own."
        raise InvalidQuery(message, token.raw)

    return StatusTerm(status, token.negated)


def _term(token: _Token) -> Term:
    if token.key is None:
        return _text_term(token)

    return _qualifier(token, token.key)


# Why two positive qualifiers of one kind can never both hold.
_ONLY_ONE: dict[type[Qualifier], str] = {
    RepoTerm: "a run belongs to only one repository",
    BranchTerm: "a run has only one branch",
    IdTerm: "a run has only one id",
    StatusTerm: "a run has only one status",
}


def _without_repeats(tokens: list[_Token]) -> list[Term]:
    """Type the tokens, dropping repeated qualifiers and refusing conflicts."""
    terms: list[Term] = []
    # The raw text of each qualifier kept, and of the positive one of each kind.
    seen: dict[Qualifier, str] = {}
    positive: dict[type[Qualifier], str] = {}
    for token in tokens:
        term = _term(token)
        if isinstance(term, TextTerm | GroupTerm):
            terms.append(term)
            continue

        if term in seen:
            continue

        kind = type(term)
        opposite = replace(term, negated=not term.negated)
        if opposite in seen:
            raise InvalidQuery(
                f"The terms `{seen[opposite]}` and `{token.raw}` contradict "
                "each other, so no run could match; keep one of them.",
                token.raw,
            )
        if not term.negated and kind in positive:
            raise InvalidQuery(
                f"The terms `{positive[kind]}` and `{token.raw}` can never both "
                f"hold, because {_ONLY_ONE[kind]}; keep one of them.",
                token.raw,
            )

        seen[term] = token.raw
        if not term.negated:
            positive[kind] = token.raw
        terms.append(term)

    return terms


def parse(text: str) -> Query:
    """Parse a search typed by a user.

    Raises :class:`InvalidQuery`, and nothing else, when the text is not a
    valid search.
    """
    _check_characters(text)

    tokens = _Tokenizer(text).tokens()
    if len(tokens) > MAX_TERMS:
        raise InvalidQuery(
            f"The query has {len(tokens)} terms; the limit is {MAX_TERMS}. "
            "Remove some of them."
        )

    return Query(tuple(_without_repeats(tokens)))
