"""Text terms of the search language, answered from a text index.

A text term matches jobs whose commit title, body or author contains the
text, ignoring case (see :class:`ciapp.search.TextTerm`). Its plain ``Q``,
three ``icontains`` lookups, is the meaning of the term, but no index can
answer it: every search would read every job of its scope. This module
turns the terms of a :class:`ciapp.search.Query` into conditions that mean
exactly the same and that an index can answer. Migration 0003 makes the
indexes; docs/performance.md has the measurements behind the choices.

PostgreSQL: a trigram GIN index (pg_trgm) over one expression, the title,
body and author joined by U+0001 and upper-cased. A text term becomes that
expression ``LIKE UPPER('%text%')``: the comparison ``icontains`` makes,
with the same answer, since no search can contain U+0001 and so no match
can reach across two fields. GIN reads the list of jobs of every trigram
of a pattern, which for a long text of common trigrams costs tens of
milliseconds; so the index is asked for the two trigrams of the search
that are rarest among the newest jobs (:func:`rarest_trigrams`), and each
text is checked whole, row by row, with ``STRPOS`` on the same expression.
The planner picks the plan from the expression's statistics: for a rare
word it reads the few jobs the index names; for a common word it walks the
scope's newest jobs and stops at the first match, never sorting all of
them.

SQLite: an FTS5 table with the trigram tokenizer, kept in step with the
jobs by triggers. SQLite's planner knows nothing of how many jobs a word is
in. A text that is common among the newest jobs is not looked up at all:
the search walks the scope's jobs newest first, checking each, which finds
matches within a few rows. For the others the index is asked first, by one
more query when the search runs (:class:`IndexedCandidates`): the ids of
the jobs that contain the cheapest parts of every positive text term of 3
characters or more, up to :data:`CANDIDATE_LIMIT` of them. None: the search
matches nothing and the jobs are not read at all. Up to the limit: the
search reads just those jobs. More: the search walks, as for a common text.
The plain ``LIKE`` of every term is always kept as well, so the answer is
exactly the plain ``Q``'s: the index only narrows it down.

Which texts are common, and which parts of a text are cheap to look up,
comes from a :class:`Sample` of the newest jobs that each process keeps and
reads again every :data:`SAMPLE_SECONDS`. It only chooses the plan: any
sample, even an empty one, gives the same answers.

Terms the index cannot answer are checked row by row, as before: exclusions
(``-word`` selects nearly every job; it rejects rows of the walk), and words
shorter than 3 characters, which have no trigram. Next to a term the index
answers they cost nothing, and on their own they are fast when common.

NB: a short word that is rare, and a text all of whose trigrams are common
but that few jobs hold (``ocus``), still cost a scan of the scope or of
large parts of the index; see docs/performance.md.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Expression, F, Q
from django.db.models.expressions import Combinable
from django.db.models.functions import Left
from django.db.models.sql.compiler import SQLCompiler

from ciapp.search import Query, TextTerm

# The SQLite FTS5 table of migration 0003.
TEXT_TABLE = "ciapp_job_text"

# The fields a text term searches, in the order the indexes hold them.
TEXT_FIELDS = ("commit_title", "commit_body", "commit_author")

# The trigram tokenizer makes no token of a shorter text.
MIN_INDEXED_LENGTH = 3

# PostgreSQL: the characters that join the parts of identifiers, paths and
# keys, which the text index sees as the letter JOINED (migration 0004), so
# that pg_trgm, which makes trigrams of letters and digits only, sees
# ``refund_ledger`` as one word.
JOINERS = "_-./:#@"
JOINED = "Q"

# A text longer than this many characters is looked up by its rarest windows
# of this many characters (three trigrams); see windows().
WINDOW = 5
MAX_WINDOWS = 8
WINDOWS_PER_TEXT = 2

# How much more a candidate job costs than one entry of the index's lists,
# roughly: it weighs what asking the index reads against what it leaves.
# SQLite reads a candidate by its id; PostgreSQL reads it and checks its
# text against every trigram asked for, again, and against the search.
FTS5_WEIGHT = 100
GIN_WEIGHT = 500

# A part of a text whose trigrams' lists hold at most this share of the
# sample, all together, is rare: cheap to ask the index for.
RARE_IN_SAMPLE = 0.01

# How many of the newest jobs tell how rare a text is (see Sample), and for
# how many seconds a process uses them before it reads them again.
SAMPLE_JOBS = 2000
SAMPLE_SECONDS = 600.0
# How much of each field of a job the sample keeps.
SAMPLE_CHARACTERS = 300
# A text in at least this many of the sampled jobs is common: walking the
# newest jobs meets it within a few hundred rows, and SQLite's index is not
# asked at all.
COMMON_IN_SAMPLE = 10

# Up to how many candidate jobs a search reads one by one on SQLite; a word
# in more jobs than this is common enough that walking the newest jobs finds
# its matches sooner. See docs/performance.md for how it was chosen.
CANDIDATE_LIMIT = 1000


class _Condition(Expression):
    """A boolean SQL condition over the job row, usable in ``Q``."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, *fields: str) -> None:
        super().__init__()
        self.fields: list[Any] = [F(name) for name in fields]

    def get_source_expressions(self) -> list[Any]:
        return self.fields

    def set_source_expressions(self, exprs: Sequence[Combinable | Expression]) -> None:
        self.fields = list(exprs)

    def _columns(self, compiler: SQLCompiler) -> tuple[list[str], tuple[Any, ...]]:
        sqls: list[str] = []
        params: list[Any] = []
        for column in self.fields:
            sql, column_params = compiler.compile(column)
            sqls.append(sql)
            params.extend(column_params)
        return sqls, tuple(params)


class TextContains(_Condition):
    """The title, body or author contains ``text``, ignoring case.

    The same comparison as the ``icontains`` of ``TextTerm.to_q()``, in one
    expression. On SQLite it is the three ``LIKE`` that ``icontains`` makes
    there.

    On PostgreSQL it is ``STRPOS`` over the title, body and author joined
    and upper-cased, which no index answers. With ``indexed=True`` it is
    instead a ``LIKE`` on the expression of the ``ciapp_job_text_trgm``
    index, so that the planner can use it (keep the two identical): the
    same expression with every character of :data:`JOINERS` turned into
    :data:`JOINED`, on both sides. That holds for every job that contains
    the text and for a few that do not (``refundQledger`` for
    ``refund_ledger``), so it is always paired with the exact test.
    """

    def __init__(self, text: str, indexed: bool = True) -> None:
        super().__init__(*TEXT_FIELDS)
        self.text = text
        self.indexed = indexed

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r}, indexed={self.indexed})"

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        columns, params = self._columns(compiler)
        pattern = f"%{connection.ops.prep_for_like_query(self.text)}%"
        if connection.vendor == "postgresql":
            if not self.indexed:
                text = _upper(columns)
                return f"STRPOS({text}, UPPER(%s)) > 0", (*params, self.text)
            return (
                f"{_indexed(columns)} LIKE TRANSLATE(UPPER(%s), {_JOINS})",
                (*params, pattern),
            )
        if connection.vendor == "sqlite":
            likes = " OR ".join(f"{column} LIKE %s ESCAPE '\\'" for column in columns)
            return f"({likes})", (*params, *[pattern] * len(columns))
        raise NotImplementedError(f"TextContains is not made for {connection.vendor}.")


class IndexedPattern(_Condition):
    """PostgreSQL: the text index's expression is ``LIKE pattern``, a
    pattern made by :func:`pick_patterns` (letters, digits and ``%``)."""

    def __init__(self, pattern: str) -> None:
        super().__init__(*TEXT_FIELDS)
        self.pattern = pattern

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.pattern!r})"

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        columns, params = self._columns(compiler)
        return f"{_indexed(columns)} LIKE %s", (*params, self.pattern.upper())


# TRANSLATE's arguments that turn JOINERS into JOINED: constants written
# into the SQL, since the planner matches the index by its expression, and a
# parameter would not be the same.
_JOINS = f"'{JOINERS}', '{JOINED * len(JOINERS)}'"


def _upper(columns: list[str]) -> str:
    """PostgreSQL: the title, body and author joined by U+0001, upper-cased."""
    return f"UPPER({' || CHR(1) || '.join(columns)})"


def _indexed(columns: list[str]) -> str:
    """PostgreSQL: the expression of the ``ciapp_job_text_trgm`` index."""
    return f"TRANSLATE({_upper(columns)}, {_JOINS})"


class IndexedCandidates(_Condition):
    """SQLite: the job is among those the text index finds for ``texts``.

    The index is asked when the query is compiled, so the answer is as fresh
    as the query. It is a superset of the jobs whose text contains every one
    of ``texts``, so it is always combined with the plain ``LIKE``: FTS5
    folds the case of all of Unicode where ``LIKE`` folds ASCII only, and
    only part of each text is looked up (see :func:`windows`).
    """

    def __init__(self, texts: list[str]) -> None:
        super().__init__("pk")
        self.texts = list(texts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.texts!r})"

    def probe(self, sample: Sample) -> tuple[str, list[Any]]:
        """The query for the ids of the candidates, up to one past the limit.

        Each text is looked up by the :data:`WINDOWS_PER_TEXT` of its
        :func:`parts` that ``sample`` says cost least to look up and leave
        fewest candidates.
        """
        phrases: list[str] = []
        for text in self.texts:
            chosen = sample.cheapest(parts(text), WINDOWS_PER_TEXT, FTS5_WEIGHT)
            phrases += [_phrase(part) for part in chosen]
        sql = (
            f"SELECT rowid FROM {TEXT_TABLE} WHERE {TEXT_TABLE} MATCH %s "
            f"LIMIT {CANDIDATE_LIMIT + 1}"
        )
        return sql, [" AND ".join(phrases)]

    def candidates(self, connection: BaseDatabaseWrapper) -> list[int] | None:
        """Ask the index: the candidates' ids; None when there are too many.

        Texts that are common among the newest jobs have too many; the index
        is not asked for them.
        """
        sample = current_sample()
        if is_common(self.texts, sample):
            return None
        with connection.cursor() as cursor:
            cursor.execute(*self.probe(sample))
            rows = cursor.fetchall()
        if len(rows) > CANDIDATE_LIMIT:
            return None
        return [pk for (pk,) in rows]

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        ids = self.candidates(connection)
        if ids is None:
            raise FullResultSet
        if not ids:
            raise EmptyResultSet

        (column,), params = self._columns(compiler)
        return f"{column} IN ({inline_ids(ids)})", params


class CandidateSlot(_Condition):
    """The job is among ids written into the SQL after it was compiled.

    For a statement compiled once and run many times (see
    :mod:`ciapp.prepared`): it compiles to ``id IN (<MARKER>)``, and each run
    puts the ids :class:`IndexedCandidates` found in place of the marker.
    """

    MARKER = "/* candidate ids */"

    def __init__(self) -> None:
        super().__init__("pk")

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[Any, ...]]:
        (column,), params = self._columns(compiler)
        return f"{column} IN ({self.MARKER})", params


def inline_ids(ids: list[int]) -> str:
    """Ids that came from the database as integers, for writing into SQL.

    Inlined rather than bound: up to a thousand parameters cost more.
    """
    return ", ".join(str(int(pk)) for pk in sorted(ids))


def _phrase(text: str) -> str:
    """``text`` as an FTS5 phrase: quoted, with its quotes doubled."""
    return '"' + text.replace('"', '""') + '"'


def windows(text: str) -> list[str]:
    """The parts of ``text`` that the index may be asked for.

    Asking FTS5 for a long text costs as much as reading the list of jobs of
    every one of its trigrams, and most trigrams are in a good part of all
    jobs; asking for the rarest few characters of it costs little and
    leaves few candidates. A text of up to :data:`WINDOW` characters is
    asked for whole; a longer one for its windows of :data:`WINDOW`
    characters, at most :data:`MAX_WINDOWS` of them spread over it, the
    first and the last first, so that a tie picks two that do not overlap.
    """
    if len(text) <= WINDOW:
        return [text]
    last = len(text) - WINDOW
    count = min(last + 1, MAX_WINDOWS)
    starts = [round(i * last / (count - 1)) for i in range(count)]
    order = [starts[0], starts[-1], *starts[1:-1]]
    return list(dict.fromkeys(text[i : i + WINDOW] for i in order))


def parts(text: str) -> list[str]:
    """What the index may be asked for instead of ``text``: its
    :func:`windows`, then each of its trigrams.

    A window is a phrase of three trigrams in a row, which few jobs hold; a
    lone trigram costs a third of a window to look up, and the rarest are
    rare enough on their own.
    """
    trigrams = [text[k : k + 3] for k in range(len(text) - 2)]
    return list(dict.fromkeys([*windows(text), *trigrams]))


class Plan(NamedTuple):
    """How a query is asked of the database (see :func:`plan`)."""

    # Equal in meaning to ``query.to_q()``, by conditions an index can answer.
    q: Q
    # SQLite: the texts whose candidates the FTS5 index is asked for.
    probe_texts: list[str]


def plan(query: Query, vendor: str) -> Plan:
    """The conditions of ``query`` for ``vendor``'s text index."""
    if vendor == "postgresql":
        return _postgresql_plan(query)
    q = Q()
    texts: list[str] = []
    for term in query.terms:
        if not isinstance(term, TextTerm) or vendor != "sqlite":
            q &= term.to_q()
        elif term.negated:
            q &= ~Q(TextContains(term.text))
        else:
            q &= Q(TextContains(term.text))
            if len(term.text) >= MIN_INDEXED_LENGTH:
                texts.append(term.text)
    return Plan(q, texts)


def _postgresql_plan(query: Query) -> Plan:
    """Each text is checked whole, row by row. The index is asked for the
    rarest trigrams of the texts; or, for texts without any, for each text
    whole, and the planner weighs that from the expression's statistics.
    Common texts are not asked of the index at all: the planner walks the
    newest jobs."""
    texts = [
        term.text
        for term in query.terms
        if isinstance(term, TextTerm)
        and not term.negated
        and len(term.text) >= MIN_INDEXED_LENGTH
    ]
    sample = current_sample()
    common = is_common(texts, sample)
    picks = () if common else rarest_trigrams(texts, sample)
    whole = not picks and not common
    q = Q()
    for term in query.terms:
        if not isinstance(term, TextTerm):
            q &= term.to_q()
        elif term.negated:
            q &= ~Q(TextContains(term.text, indexed=False))
        else:
            q &= Q(TextContains(term.text, indexed=False))
            if whole and term.text in texts:
                q &= Q(TextContains(term.text))
    if not picks:
        patterns = []
    elif sample.holding(picks) >= LOOSE_IN_SAMPLE:
        # Many jobs hold the picks without the text: a trigram each, so that
        # the planner sees them as common and narrows them down by the
        # other conditions' indexes before it reads the jobs.
        patterns = [f"%{pick}%" for pick in picks]
    else:
        patterns = pick_patterns(texts, picks)
    for pattern in patterns:
        q &= Q(IndexedPattern(pattern))
    return Plan(q, [])


def query_q(query: Query, vendor: str) -> Q:
    """A ``Q`` equal in meaning to ``query.to_q()``, for ``vendor``'s indexes."""
    q, texts = plan(query, vendor)
    if texts:
        q = Q(IndexedCandidates(texts)) & q
    return q


# PostgreSQL: the rarest trigrams ---------------------------------------------

# pg_trgm makes a trigram of three word characters. Only ASCII letters and
# digits are picked: they are word characters in every locale.
_RUN = re.compile(r"[a-z0-9]{3,}")

# At most how many trigrams of a search the index is asked for.
PICKS = 4
# When this many of the sampled jobs hold the trigrams asked for, they are
# asked for one by one (see plan()).
LOOSE_IN_SAMPLE = 2


_AS_INDEXED = str.maketrans(JOINERS, JOINED.lower() * len(JOINERS))


def as_indexed(text: str) -> str:
    """``text`` as PostgreSQL's text index sees it, lower-cased as pg_trgm
    makes its trigrams."""
    return text.lower().translate(_AS_INDEXED)


def trigrams_of(text: str) -> set[str]:
    """The trigrams of ASCII letters and digits in ``text`` as PostgreSQL's
    text index sees it (see :func:`as_indexed`)."""
    return {
        run[i : i + 3]
        for run in _RUN.findall(as_indexed(text))
        for i in range(len(run) - 2)
    }


def is_common(texts: list[str], sample: Sample) -> bool:
    """Whether enough of the newest jobs hold all of ``texts`` that walking
    the newest jobs finds one within a few hundred."""
    return bool(texts) and (
        sample.jobs_with(texts, COMMON_IN_SAMPLE) >= COMMON_IN_SAMPLE
    )


def rarest_trigrams(texts: list[str], sample: Sample) -> tuple[str, ...]:
    """The trigrams the index is asked for, for jobs that contain all of
    ``texts``: up to :data:`PICKS` of them, the cheapest by ``sample``.

    pg_trgm asks GIN for every trigram of a ``LIKE`` pattern, and reads the
    whole list of jobs of each: for a common trigram, milliseconds at a
    million jobs, and as many jobs to read and check again. Asking for the
    few trigrams that leave fewest jobs costs little. None for a text
    without three ASCII letters or digits in a row (it is asked of the index
    whole). Common texts are not asked of the index at all (see plan()).
    """
    if not texts or any(not trigrams_of(text) for text in texts):
        return ()
    choices = sorted({trigram for text in texts for trigram in trigrams_of(text)})
    return tuple(sample.cheapest(choices, PICKS, GIN_WEIGHT))


def pick_patterns(texts: list[str], picks: Sequence[str]) -> list[str]:
    """``LIKE`` patterns that ask the index for ``picks``, trigrams of
    ``texts``: one a text, with its picks in the order the text has them.

    Every job that contains the text matches its pattern, and the pattern
    asks pg_trgm for the picks and nothing else (overlapping picks are one
    run of letters, whose trigrams are theirs and those between them). One
    ``LIKE`` a text, not one a trigram: PostgreSQL checks each candidate
    against each of them again, and reading the job's text is the dear part.
    """
    patterns = []
    left = list(picks)
    for text in texts:
        seen = as_indexed(text)
        spans = sorted(
            (seen.index(pick), seen.index(pick) + 3) for pick in left if pick in seen
        )
        left = [pick for pick in left if pick not in seen]
        merged: list[list[int]] = []
        for start, end in spans:
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        if merged:
            parts = [seen[start:end] for start, end in merged]
            patterns.append("%" + "%".join(parts) + "%")
    return patterns


# How rare a text is ----------------------------------------------------------


class Sample:
    """The text of the newest jobs, to tell common texts from rare ones.

    Neither index can say cheaply how many jobs hold a text: SQLite's planner
    knows nothing of FTS5's lists, and GIN reads a trigram's whole list to
    count it. A few thousand of the newest jobs, kept in each process, say
    it well enough to choose the plan; the answer never depends on it.

    The sample keeps, for each trigram (any three characters, lower-cased),
    the set of sampled jobs that hold it as the bits of an integer: the jobs
    that may hold a text are then the AND of its trigrams' sets, in
    microseconds.
    """

    def __init__(
        self, texts: Sequence[str], fold: Callable[[str], str] = str.lower
    ) -> None:
        # How texts are compared: lower-cased, and on PostgreSQL as its
        # index sees them (as_indexed), so that the trigrams are its own.
        self.fold = fold
        self.jobs = [fold(text) for text in texts]
        self.everyone = (1 << len(self.jobs)) - 1
        index: dict[str, int] = {}
        for i, job in enumerate(self.jobs):
            bit = 1 << i
            for trigram in {job[k : k + 3] for k in range(len(job) - 2)}:
                index[trigram] = index.get(trigram, 0) | bit
        self.index = index

    def _maybe(self, text: str) -> int:
        """The sampled jobs that hold every trigram of ``text``, as bits."""
        lowered = self.fold(text)
        jobs = self.everyone
        for k in range(len(lowered) - 2):
            jobs &= self.index.get(lowered[k : k + 3], 0)
            if not jobs:
                break
        return jobs

    def count(self, text: str) -> int:
        """About how many sampled jobs hold ``text``: those that hold all its
        trigrams, which is enough to rank the parts of a search."""
        return self._maybe(text).bit_count()

    def cost(self, text: str) -> int:
        """How many sampled jobs hold each trigram of ``text``, summed: how
        long the lists are that an index reads for it."""
        lowered = self.fold(text)
        return sum(
            self.index.get(lowered[k : k + 3], 0).bit_count()
            for k in range(len(lowered) - 2)
        )

    def cheapest(self, parts: Sequence[str], most: int, weight: int) -> list[str]:
        """Up to ``most`` of ``parts`` to ask an index for, the jobs holding
        them all being the candidates: the least work, by this sample.

        The work is the lists read (:meth:`cost`) and the candidates left,
        each ``weight`` times dearer than a list entry. A part
        is added if it lessens the work, or if it is rare itself (its lists
        hold at most :data:`RARE_IN_SAMPLE` of the sample): cheap insurance
        against a sample too small to see that the first one is not rare.
        Ties go to the earlier part.
        """
        size = len(self.jobs)
        known = [
            (part, self.cost(part), self._maybe(part), self.count(part))
            for part in parts
        ]
        rare = RARE_IN_SAMPLE * size
        chosen: list[str] = []
        jobs = self.everyone
        share = 1.0  # of the sample, as if the parts' jobs were independent
        read = 0
        work = float("inf")
        for _ in range(most):
            best: tuple[float, str, int, int, float] | None = None
            for part, cost, maybe, count in known:
                if part in chosen:
                    continue
                left = jobs & maybe
                # None of the sample may still be some of the whole table:
                # then guess, as if the parts were independent.
                part_share = share * count / size if size else 0.0
                found = left.bit_count() or part_share * size
                total = read + cost + weight * found
                if total < work or (chosen and cost <= rare):
                    if best is None or total < best[0]:
                        best = (total, part, cost, left, part_share)
            if best is None:
                break
            work, part, cost, jobs, share = best
            read += cost
            chosen.append(part)
        return chosen

    def holding(self, parts: Sequence[str]) -> int:
        """How many sampled jobs hold every trigram of all of ``parts``."""
        jobs = self.everyone
        for part in parts:
            jobs &= self._maybe(part)
        return jobs.bit_count()

    def jobs_with(self, texts: Sequence[str], enough: int) -> int:
        """How many sampled jobs contain all of ``texts``, ignoring case,
        counted up to ``enough``."""
        jobs = self.everyone
        for text in texts:
            jobs &= self._maybe(text)
        lowered = [self.fold(text) for text in texts]
        found = 0
        while jobs and found < enough:
            lowest = jobs & -jobs
            jobs ^= lowest
            job = self.jobs[lowest.bit_length() - 1]
            found += all(text in job for text in lowered)
        return found


class _Sampler:
    """This process's :class:`Sample`, read again every
    :data:`SAMPLE_SECONDS`: which texts are rare changes slowly."""

    def __init__(self) -> None:
        self.sample = Sample([])
        self.taken_at: float | None = None
        self.lock = threading.Lock()

    def get(self) -> Sample:
        with self.lock:
            now = time.monotonic()
            if self.taken_at is None or now - self.taken_at > SAMPLE_SECONDS:
                self.sample = self.take()
                self.taken_at = now
            return self.sample

    @staticmethod
    def take() -> Sample:
        from ciapp.models import Job

        # The start of each field: enough to judge words by, and a bound on
        # the sample's time and memory when commit messages run long.
        fields = [Left(field, SAMPLE_CHARACTERS) for field in TEXT_FIELDS]
        rows = Job.objects.order_by("-pk").values_list(*fields)[:SAMPLE_JOBS]
        texts = ["\x01".join(row) for row in rows]
        if connections[Job.objects.db].vendor == "postgresql":
            return Sample(texts, as_indexed)
        return Sample(texts)


_sampler = _Sampler()


def current_sample() -> Sample:
    return _sampler.get()
