from __future__ import annotations

import pytest
from django.db.models import Q
from hypothesis import given, settings
from hypothesis import strategies as st

from ciapp.search import (
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    BranchTerm,
    GroupTerm,
    IdTerm,
    InvalidQuery,
    Query,
    RepoTerm,
    StatusTerm,
    Term,
    TextTerm,
    normalize_repository_name,
    parse,
)
from ciapp.statuses import CalculatedStatus

SEED_EXAMPLE = (
    'text to find in commit body "exact text" -layer -ci '
    "repo:layer-example-repo branch:main id:10 status:running done running failed"
)


@pytest.mark.parametrize(
    "query, expected_terms",
    [
        # Blank queries match everything.
        ("", []),
        ("   ", []),
        ("\t\n\u3000", []),
        # Words and whitespace.
        ("crash", [TextTerm("crash")]),
        ("Crash", [TextTerm("Crash")]),
        ("fix crash", [TextTerm("fix"), TextTerm("crash")]),
        ("  fix   crash  ", [TextTerm("fix"), TextTerm("crash")]),
        (
            "a\u3000b\xa0c\td\ne",
            [TextTerm("a"), TextTerm("b"), TextTerm("c"), TextTerm("d"), TextTerm("e")],
        ),
        ("héllo", [TextTerm("héllo")]),
        # Phrases.
        ('"exact text"', [TextTerm("exact text", phrase=True)]),
        ('"  two  spaces "', [TextTerm("  two  spaces ", phrase=True)]),
        ('"tab\there"', [TextTerm("tab\there", phrase=True)]),
        ('"say \\"hi\\""', [TextTerm('say "hi"', phrase=True)]),
        ('"back\\\\slash"', [TextTerm("back\\slash", phrase=True)]),
        ('"a\\b"', [TextTerm("a\\b", phrase=True)]),
        ('"-foo"', [TextTerm("-foo", phrase=True)]),
        ('"repo:x"', [TextTerm("repo:x", phrase=True)]),
        ('a "b c" d', [TextTerm("a"), TextTerm("b c", phrase=True), TextTerm("d")]),
        # A quote inside a word is an ordinary character.
        ('5"', [TextTerm('5"')]),
        ('it"s', [TextTerm('it"s')]),
        ('a"b c"d', [TextTerm('a"b'), TextTerm('c"d')]),
        ('fix:"a b"', [TextTerm('fix:"a'), TextTerm('b"')]),
        # Negation.
        ("-layer", [TextTerm("layer", negated=True)]),
        ('-"some phrase"', [TextTerm("some phrase", phrase=True, negated=True)]),
        ("--foo", [TextTerm("-foo", negated=True)]),
        ("-", [TextTerm("-")]),
        ("fix - crash", [TextTerm("fix"), TextTerm("-"), TextTerm("crash")]),
        ("a -", [TextTerm("a"), TextTerm("-")]),
        # Unknown keys are text.
        ("fix: crash", [TextTerm("fix:"), TextTerm("crash")]),
        ("feat:login", [TextTerm("feat:login")]),
        ("http://x", [TextTerm("http://x")]),
        (":foo", [TextTerm(":foo")]),
        ("statuses:new", [TextTerm("statuses:new")]),
        ("-fix:", [TextTerm("fix:", negated=True)]),
        ("running:", [TextTerm("running:")]),
        ("--branch:main", [TextTerm("-branch:main", negated=True)]),
        # repo:
        ("repo:layer-example-repo", [RepoTerm("layer-example-repo")]),
        ("repo:My.App", [RepoTerm("my-app")]),
        ('repo:"My App"', [RepoTerm("my-app")]),
        ("REPO:x", [RepoTerm("x")]),
        ("-repo:x", [RepoTerm("x", negated=True)]),
        # branch:
        ("branch:main", [BranchTerm("main")]),
        ("branch:Main", [BranchTerm("Main")]),
        ("Branch:main", [BranchTerm("main")]),
        ('branch:"release 1"', [BranchTerm("release 1")]),
        ('branch:a"b', [BranchTerm('a"b')]),
        ("branch:main:x", [BranchTerm("main:x")]),
        ("branch:feature/login", [BranchTerm("feature/login")]),
        ("-branch:main", [BranchTerm("main", negated=True)]),
        # id:
        ("id:10", [IdTerm(10)]),
        ("id:010", [IdTerm(10)]),
        ('id:"7"', [IdTerm(7)]),
        ("id:2147483647", [IdTerm(2_147_483_647)]),
        ("-id:3", [IdTerm(3, negated=True)]),
        # status:
        ("status:running", [StatusTerm(CalculatedStatus.RUNNING)]),
        ("status:Succeeded", [StatusTerm(CalculatedStatus.SUCCEEDED)]),
        ("STATUS:STARTING_RUNNERS", [StatusTerm(CalculatedStatus.STARTING_RUNNERS)]),
        ('status:"failure"', [StatusTerm(CalculatedStatus.FAILURE)]),
        ("-status:failure", [StatusTerm(CalculatedStatus.FAILURE, negated=True)]),
        # Groups.
        ("running", [GroupTerm("running")]),
        ("Done", [GroupTerm("done")]),
        ("FAILED", [GroupTerm("failed")]),
        ("-running", [GroupTerm("running", negated=True)]),
        ('"failed"', [TextTerm("failed", phrase=True)]),
        ("running done", [GroupTerm("running"), GroupTerm("done")]),
        ("failed failed", [GroupTerm("failed"), GroupTerm("failed")]),
        ("failedx", [TextTerm("failedx")]),
        # Repeats.
        ("branch:main branch:main", [BranchTerm("main")]),
        ("repo:My.App repo:my-app", [RepoTerm("my-app")]),
        ("id:7 id:007", [IdTerm(7)]),
        ("status:new STATUS:NEW", [StatusTerm(CalculatedStatus.NEW)]),
        ("-branch:a -branch:a", [BranchTerm("a", negated=True)]),
        (
            "-branch:a -branch:b",
            [BranchTerm("a", negated=True), BranchTerm("b", negated=True)],
        ),
        ("branch:a -branch:b", [BranchTerm("a"), BranchTerm("b", negated=True)]),
        ("-branch:b branch:a", [BranchTerm("b", negated=True), BranchTerm("a")]),
        ("branch:a repo:a", [BranchTerm("a"), RepoTerm("a")]),
        ("foo foo", [TextTerm("foo"), TextTerm("foo")]),
        # Limits are inclusive.
        ("a" * MAX_QUERY_LENGTH, [TextTerm("a" * MAX_QUERY_LENGTH)]),
        (" ".join(["a"] * MAX_TERMS), [TextTerm("a")] * MAX_TERMS),
        # The example from the specification.
        (
            SEED_EXAMPLE,
            [
                TextTerm("text"),
                TextTerm("to"),
                TextTerm("find"),
                TextTerm("in"),
                TextTerm("commit"),
                TextTerm("body"),
                TextTerm("exact text", phrase=True),
                TextTerm("layer", negated=True),
                TextTerm("ci", negated=True),
                RepoTerm("layer-example-repo"),
                BranchTerm("main"),
                IdTerm(10),
                StatusTerm(CalculatedStatus.RUNNING),
                GroupTerm("done"),
                GroupTerm("running"),
                GroupTerm("failed"),
            ],
        ),
    ],
)
def test_it_parses(query: str, expected_terms: list[Term]) -> None:
    assert parse(query) == Query(tuple(expected_terms))


@pytest.mark.parametrize(
    "query, message, term",
    [
        # Quotes.
        (
            '"exact text',
            'The quote opened at `"exact text` is never closed',
            '"exact text',
        ),
        ('foo -"bar baz', 'opened at `-"bar baz` is never closed', '-"bar baz'),
        ('"trailing  ', "add a closing", '"trailing'),
        ('branch:"release', 'opened at `branch:"release`', 'branch:"release'),
        ('"a\\"', "is never closed", '"a\\"'),
        ('"', "is never closed", '"'),
        ('"abc"def', 'put a space after the closing "', '"abc"def'),
        ('"a b"c d', 'The term `"a b"c` goes on after its closing quote', '"a b"c'),
        ('branch:"a"b', "after its closing quote", 'branch:"a"b'),
        ('""', "nothing between its quotes", '""'),
        ('-""', "nothing between its quotes", '-""'),
        # Empty values.
        ("id:", "id: needs a value, for example id:42.", "id:"),
        ("branch:", "branch: needs a value, for example branch:main.", "branch:"),
        ("repo:", "repo: needs a value, for example repo:my-app.", "repo:"),
        ("status:", "status: needs a value", "status:"),
        ("Branch:", "branch: needs a value", "Branch:"),
        ("-branch:", "branch: needs a value", "-branch:"),
        ('branch:""', "branch: needs a value", 'branch:""'),
        ("fix branch: crash", "branch: needs a value", "branch:"),
        # Ids.
        ("id:abc", "id: expects a run number such as id:42, not `abc`.", "id:abc"),
        ("id:-1", "not `-1`", "id:-1"),
        ("id:1.5", "not `1.5`", "id:1.5"),
        ("id:\u0664\u0662", "such as id:42", "id:\u0664\u0662"),
        ('id:"4 2"', "not `4 2`", 'id:"4 2"'),
        ("id:0", "from 1 to 2147483647, not `0`.", "id:0"),
        ("id:2147483648", "from 1 to 2147483647", "id:2147483648"),
        ("id:" + "9" * 900, "from 1 to 2147483647", "id:" + "9" * 900),
        # Statuses.
        (
            "status:bogus",
            "status: expects one of new, job_error, bad_layerfile, "
            "starting_runners, failure, runner_cancelled, runner_error, running, "
            "succeeded, not `bogus`.",
            "status:bogus",
        ),
        ("status:failed", "write failed on its own", "status:failed"),
        ("-status:done", "write done on its own", "-status:done"),
        (
            "status:starting-runners",
            "not `starting-runners`",
            "status:starting-runners",
        ),
        # Conflicting qualifiers.
        (
            "branch:a branch:b",
            "The terms `branch:a` and `branch:b` can never both hold, because a "
            "run has only one branch; keep one of them.",
            "branch:b",
        ),
        ("branch:main branch:Main", "only one branch", "branch:Main"),
        ("status:new status:failure", "only one status", "status:failure"),
        ("id:1 x id:2", "`id:1` and `id:2`", "id:2"),
        ("repo:a repo:b", "only one repository", "repo:b"),
        ("branch:a -branch:b branch:c", "`branch:a` and `branch:c`", "branch:c"),
        (
            "branch:a -branch:a",
            "The terms `branch:a` and `-branch:a` contradict each other",
            "-branch:a",
        ),
        ("-id:3 id:03", "`-id:3` and `id:03` contradict", "id:03"),
        # Limits and characters.
        (
            "a" * (MAX_QUERY_LENGTH + 1),
            "The query is 1001 characters long; the limit is 1000 characters.",
            "",
        ),
        (
            " ".join(["a"] * (MAX_TERMS + 1)),
            "The query has 51 terms; the limit is 50.",
            "",
        ),
        ("a\x00b c", "The term `a\\u0000b` contains the character U+0000", "a\x00b"),
        ("x \x07", "U+0007, which cannot be used in a search", "\x07"),
        ('"a\x1b[31m b"', "U+001B", '"a\x1b[31m'),
        ("\x7f", "U+007F", "\x7f"),
        ("ok \ud800", "U+D800", "\ud800"),
    ],
)
def test_it_rejects(query: str, message: str, term: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse(query)

    assert message in info.value.message
    assert str(info.value) == info.value.message
    assert info.value.term == term


def test_it_reports_the_first_problem() -> None:
    with pytest.raises(InvalidQuery) as info:
        parse("id:x status:y")

    assert info.value.term == "id:x"


def test_it_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse("id:x")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("my-app", "my-app"),
        ("My.App", "my-app"),
        ("my app", "my-app"),
        ("My App.v2", "my-app-v2"),
        ("a\tb", "a-b"),
        ("under_score", "under_score"),
    ],
)
def test_it_normalizes_repository_names(name: str, expected: str) -> None:
    assert normalize_repository_name(name) == expected


TEXT_Q = (
    Q(commit_title__icontains="wip")
    | Q(commit_body__icontains="wip")
    | Q(commit_author__icontains="wip")
)


@pytest.mark.parametrize(
    "term, expected",
    [
        (TextTerm("wip"), TEXT_Q),
        (TextTerm("wip", negated=True), ~TEXT_Q),
        (RepoTerm("my-app"), Q(repository__name="my-app")),
        (RepoTerm("my-app", negated=True), ~Q(repository__name="my-app")),
        (BranchTerm("main"), Q(branch="main")),
        (BranchTerm("main", negated=True), ~Q(branch="main")),
        (IdTerm(3), Q(number=3)),
        (IdTerm(3, negated=True), ~Q(number=3)),
        (
            StatusTerm(CalculatedStatus.FAILURE),
            Q(calculated_status=CalculatedStatus.FAILURE),
        ),
        (
            GroupTerm("running"),
            Q(calculated_status__in=["NEW", "STARTING_RUNNERS", "RUNNING"]),
        ),
        (
            GroupTerm("failed", negated=True),
            ~Q(
                calculated_status__in=[
                    "JOB_ERROR",
                    "BAD_LAYERFILE",
                    "FAILURE",
                    "RUNNER_ERROR",
                ]
            ),
        ),
    ],
)
def test_it_builds_q_for_each_term(term: Term, expected: Q) -> None:
    assert term.to_q() == expected


def test_it_matches_everything_when_empty() -> None:
    q = parse("  ").to_q()

    assert q == Q()
    assert not q.children


def test_it_ands_terms() -> None:
    q = parse("wip -branch:main id:3").to_q()

    assert q == TEXT_Q & ~Q(branch="main") & Q(number=3)
    assert q.connector == Q.AND
    assert len(q.children) == 3


def test_it_builds_the_text_q_from_three_fields() -> None:
    q = parse("-wip").to_q()

    assert q.negated
    assert str(q) == (
        "(NOT (OR: ('commit_title__icontains', 'wip'), "
        "('commit_body__icontains', 'wip'), ('commit_author__icontains', 'wip')))"
    )


def test_it_groups_done_statuses() -> None:
    (child,) = GroupTerm("done").to_q().children

    assert child == (
        "calculated_status__in",
        [
            "JOB_ERROR",
            "BAD_LAYERFILE",
            "FAILURE",
            "RUNNER_CANCELLED",
            "RUNNER_ERROR",
            "SUCCEEDED",
        ],
    )


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", []),
        ("wip", ["commit text contains “wip”"]),
        ("-wip", ["commit text does not contain “wip”"]),
        ('"exact text"', ["commit text contains “exact text”"]),
        ("repo:My.App", ["repository is my-app"]),
        ("-repo:x", ["repository is not x"]),
        ("branch:main", ["branch is main"]),
        ("-branch:main", ["branch is not main"]),
        ("id:10", ["id is 10"]),
        ("-id:10", ["id is not 10"]),
        ("status:succeeded", ["status is SUCCEEDED"]),
        ("-status:failure", ["status is not FAILURE"]),
        ("running", ["status is one of NEW, STARTING_RUNNERS, RUNNING"]),
        ("-running", ["status is none of NEW, STARTING_RUNNERS, RUNNING"]),
        (
            "failed",
            ["status is one of JOB_ERROR, BAD_LAYERFILE, FAILURE, RUNNER_ERROR"],
        ),
        (
            "done",
            [
                "status is one of JOB_ERROR, BAD_LAYERFILE, FAILURE, "
                "RUNNER_CANCELLED, RUNNER_ERROR, SUCCEEDED"
            ],
        ),
        ("wip branch:main", ["commit text contains “wip”", "branch is main"]),
    ],
)
def test_it_describes(query: str, expected: list[str]) -> None:
    assert parse(query).describe() == expected


def test_it_describes_the_seed_example_term_by_term() -> None:
    query = parse(SEED_EXAMPLE)

    assert len(query.describe()) == len(query.terms) == 16


# Pieces of the language itself, so that generated queries reach the parser's
# corners far more often than random text does.
PIECES = [
    "repo:",
    "branch:",
    "id:",
    "-status:",
    " ",
    "repo",
    "branch",
    "Branch",
    "id",
    "status",
    "STATUS",
    "fix",
    ":",
    "-",
    '"',
    "\\",
    " ",
    "\t",
    "\u3000",
    "0",
    "1",
    "42",
    "2147483648",
    "running",
    "done",
    "failed",
    "succeeded",
    "failure",
    "starting_runners",
    "main",
    "My.App",
    "é",
    "İ",
]

language = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def _check_never_fails_otherwise(text: str) -> None:
    try:
        query = parse(text)
    except InvalidQuery as e:
        assert e.message
        assert str(e) == e.message
        assert isinstance(e.term, str)
        return

    assert isinstance(query.to_q(), Q)
    descriptions = query.describe()
    assert len(descriptions) == len(query.terms) <= MAX_TERMS
    assert all(isinstance(d, str) and d for d in descriptions)


@settings(max_examples=2000, deadline=None)
@given(st.text())
def test_it_raises_only_invalid_query_for_any_text(text: str) -> None:
    _check_never_fails_otherwise(text)


@settings(max_examples=2000, deadline=None)
@given(language)
def test_it_raises_only_invalid_query_for_language_pieces(text: str) -> None:
    _check_never_fails_otherwise(text)
