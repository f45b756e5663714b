"""The text index behind word searches, on SQLite (FTS5) and PostgreSQL (pg_trgm).

Whatever path a search takes through the index, it must find exactly the
jobs that the plain ``icontains`` of ``Query.to_q()`` finds.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ciapp import textsearch
from ciapp.models import Job, Repository
from ciapp.search import parse
from ciapp.textsearch import IndexedCandidates, windows
from tests.factories import make_job

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the FTS5 index is SQLite's"
)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's"
)


@pytest.fixture
def texts(repository):
    """Jobs named by what makes their text different."""
    made = {}
    for name, title, body, author in [
        ("login", "Add login page", "Uses OAuth.", "Ada Lovelace"),
        ("split", "Fix the login", "page two of the docs", "Grace Hopper"),
        ("percent", "Show 100% coverage", "", "Ken Thompson"),
        ("thousand", "Show 1000 coverage", "", "Ken Thompson"),
        ("underscore", "Call refund_ledger twice", "", "Ken Thompson"),
        ("x", "Call refundxledger once", "", "Ken Thompson"),
        # What PostgreSQL's index sees of "refund_ledger" (see JOINERS).
        ("joined", "Call refundQledger once", "", "Ken Thompson"),
        ("path", "Move ci/deploy.sh to scripts/", "", "Ken Thompson"),
        ("backslash", r"Escape C:\temp\new paths", "", "Dennis Ritchie"),
        ("quote", 'Support 5" screens', "", "Linus"),
        ("unicode", "Übersetzung der Straße", "Grüße aus Köln", "Søren Jørgensen"),
        ("ascii", "Plain text", "", "Soren Jorgensen"),
        ("cjk", "修复登录页面", "", "王小明"),
        ("ui", "Tweak the UI", "", "Ana Souza"),
    ]:
        made[name] = make_job(
            repository, commit_title=title, commit_body=body, commit_author=author
        )
    return made


def found(query, jobs=None):
    jobs = Job.objects.all() if jobs is None else jobs
    return set(jobs.matching(query).values_list("pk", flat=True))


def naive(query):
    return set(Job.objects.filter(parse(query).to_q()).values_list("pk", flat=True))


def names(texts, pks):
    return {name for name, job in texts.items() if job.pk in pks}


QUERIES = [
    ("login", {"login", "split"}),
    ('"login page"', {"login"}),  # not "login" at the end of a title + "page" body
    ("LOGIN PAGE", {"login", "split"}),
    ("oauth", {"login"}),
    ("ada lovelace", {"login"}),
    ("100%", {"percent"}),
    ("%", {"percent"}),
    ("refund_ledger", {"underscore"}),
    ("refundqledger", {"joined"}),
    ("ci/deploy.sh", {"path"}),
    ("ciqdeploy", set()),
    ("-refund_ledger call", {"x", "joined"}),
    ("_", {"underscore"}),
    (r"C:\temp", {"backslash"}),
    ("\\", {"backslash"}),
    ('5"', {"quote"}),
    ('"5\\" screens"', {"quote"}),
    ("Straße", {"unicode"}),
    ("jørgensen", {"unicode"}),
    ("Jorgensen", {"ascii"}),
    ("登录", {"cjk"}),
    ("修复登录页面", {"cjk"}),
    ("王", {"cjk"}),
    ("ui", {"ui"}),
    ("u", None),
    ("-login", None),
    ('-"login page"', None),
    ("-ken -thompson", None),
    ("login -oauth", {"split"}),
    ("coverage -100%", {"thousand"}),
    ("kumquat", set()),
    ("show coverage ken", {"percent", "thousand"}),
    ("refund_ledger twice call", {"underscore"}),
    ("Übersetzung", {"unicode"}),
]


@pytest.mark.parametrize("query, expected", QUERIES)
def test_it_finds_what_the_plain_query_finds(texts, query, expected):
    result = found(query)

    assert result == naive(query)
    if expected is not None:
        assert names(texts, result) == expected


@pytest.mark.parametrize("query, expected", QUERIES)
def test_it_agrees_when_every_word_is_common(texts, monkeypatch, query, expected):
    # A limit of 1 sends every indexed word down the path for common words:
    # a walk over the newest jobs, checking each.
    monkeypatch.setattr(textsearch, "CANDIDATE_LIMIT", 1)

    assert found(query) == naive(query)


@pytest.mark.parametrize("query, expected", QUERIES)
def test_it_agrees_whichever_trigrams_it_asks_for(texts, monkeypatch, query, expected):
    # On PostgreSQL the index is asked for the rarest trigrams among the
    # newest jobs; here counted for real, on these jobs.
    monkeypatch.setattr(textsearch, "current_sample", textsearch._Sampler.take)

    assert found(query) == naive(query)


@pytest.mark.parametrize("query, expected", QUERIES)
def test_it_agrees_when_the_sample_calls_every_text_common(
    texts, monkeypatch, query, expected
):
    monkeypatch.setattr(textsearch, "COMMON_IN_SAMPLE", 0)

    assert found(query) == naive(query)


def test_it_folds_case_as_the_database_does(texts):
    # ASCII letters everywhere; the rest of Unicode only where the database's
    # own comparison does (PostgreSQL's UPPER, not SQLite's LIKE): the index
    # never changes what a search means.
    assert names(texts, found("übersetzung")) == (
        {"unicode"} if connection.vendor == "postgresql" else set()
    )
    assert found("übersetzung") == naive("übersetzung")
    assert names(texts, found("SØREN")) == (
        {"unicode"} if connection.vendor == "postgresql" else set()
    )
    assert names(texts, found("straSSe")) == set()


def test_it_searches_within_the_scope(texts, org):
    other = Repository.objects.create(organization=org, name="other", git_source="/x")
    elsewhere = make_job(other, commit_title="Add login page")

    jobs = Job.objects.filter(repository=other)

    assert found("login", jobs) == {elsewhere.pk}
    assert found('"login page"', jobs.exclude(pk=elsewhere.pk)) == set()


def test_the_newest_match_comes_first(repository):
    first = make_job(repository, commit_title="Retry the webhook")
    make_job(repository, commit_title="Something else")
    last = make_job(repository, commit_title="webhook again")

    newest = Job.objects.filter(repository=repository).matching("webhook")

    assert newest.order_by("-number").first() == last
    assert newest.order_by("number").first() == first


# Keeping the index in step with the jobs -----------------------------------


def test_it_finds_a_job_as_soon_as_it_is_made(repository):
    job = make_job(repository, commit_title="Brand new zebracorn feature")

    assert found("zebracorn") == {job.pk}


def test_it_follows_a_change_of_text(repository):
    job = make_job(repository, commit_title="Old zebracorn", commit_author="Ada")

    Job.objects.filter(pk=job.pk).update(commit_title="New unicornfish")

    assert found("zebracorn") == set()
    assert found("unicornfish") == {job.pk}

    job.refresh_from_db()
    job.commit_body = "now with a body"
    job.save()

    assert found("unicornfish") == {job.pk}
    assert found('"with a body"') == {job.pk}


def test_a_status_change_leaves_the_text_alone(repository):
    job = make_job(repository, commit_title="Steady zebracorn")

    Job.objects.filter(pk=job.pk).update(calculated_status="FAILURE")

    assert found("zebracorn failed") == {job.pk}


def test_it_forgets_a_deleted_job(repository):
    job = make_job(repository, commit_title="Doomed zebracorn")
    keep = make_job(repository, commit_title="Lasting zebracorn")

    job.delete()

    assert found("zebracorn") == {keep.pk}


@sqlite_only
def test_the_fts_index_holds_exactly_the_jobs(texts):
    with connection.cursor() as cursor:
        # FTS5's own check that the index matches its content table.
        cursor.execute(
            "INSERT INTO ciapp_job_text(ciapp_job_text, rank) VALUES "
            "('integrity-check', 1)"
        )
        cursor.execute(
            "SELECT count(*) FROM ciapp_job_text WHERE ciapp_job_text MATCH %s",
            ['"coverage"'],
        )
        assert cursor.fetchone()[0] == 2

    Job.objects.filter(pk=texts["percent"].pk).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ciapp_job_text(ciapp_job_text, rank) VALUES "
            "('integrity-check', 1)"
        )


@sqlite_only
def test_the_triggers_are_there(db):
    # A migration that makes Django rebuild ciapp_job drops them; it must
    # make them again.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'ciapp_job' ORDER BY name"
        )
        triggers = [name for (name,) in cursor.fetchall()]

    assert triggers == [
        "ciapp_job_text_delete",
        "ciapp_job_text_insert",
        "ciapp_job_text_update",
    ]


# How the index is asked -----------------------------------------------------


@sqlite_only
def test_a_word_in_no_job_costs_one_query(texts, django_assert_num_queries):
    # 1. the index, which finds nothing; the jobs are not read at all
    with django_assert_num_queries(1):
        assert list(Job.objects.matching("kumquat")) == []


@sqlite_only
def test_a_rare_word_reads_only_its_candidates(texts, django_assert_num_queries):
    # 1. the index  2. the candidates
    with django_assert_num_queries(2) as captured:
        assert [j.pk for j in Job.objects.matching("oauth")] == [texts["login"].pk]

    sql = captured.captured_queries[1]["sql"]
    assert f'"ciapp_job"."id" IN ({texts["login"].pk})' in sql


@sqlite_only
def test_a_common_word_walks_the_newest_jobs(texts, monkeypatch):
    monkeypatch.setattr(textsearch, "CANDIDATE_LIMIT", 1)
    query = str(Job.objects.matching("coverage").query)

    assert " IN (" not in query
    assert "LIKE" in query


@postgresql_only
def test_the_trigram_index_can_answer_a_word(texts):
    jobs = Job.objects.matching("oauth")

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = jobs.explain()

    assert "ciapp_job_text_trgm" in plan


@postgresql_only
def test_the_trigram_index_is_asked_for_the_rarest_trigrams(texts, monkeypatch):
    sample = textsearch._Sampler.take()
    monkeypatch.setattr(textsearch, "current_sample", lambda: sample)

    jobs = Job.objects.matching("refund_ledger")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = jobs.explain()

    # The index sees "refund_ledger" and "refundQledger" alike, as
    # REFUNDQLEDGER: "dql", "ndq" and "qle" are in those two jobs, every
    # other trigram of the search in three or more. The first of them is
    # asked for, nothing else; each job it finds is checked whole.
    assert [sample.count(t) for t in ("dql", "ndq", "qle", "led")] == [2, 2, 2, 3]
    index_condition = next(line for line in plan.splitlines() if "Index Cond" in line)
    assert "%DQL%" in index_condition
    assert "REFUND" not in index_condition and "NDQ" not in index_condition
    assert "strpos" in plan.lower()
    assert [j.pk for j in jobs] == [texts["underscore"].pk]


@postgresql_only
def test_a_common_text_is_left_to_the_planner(texts, monkeypatch):
    common = textsearch.Sample(["show 100% coverage"] * textsearch.COMMON_IN_SAMPLE)
    monkeypatch.setattr(textsearch, "current_sample", lambda: common)

    sql = str(Job.objects.matching("coverage").query)

    # Checked row by row only: the index is not asked, and the planner walks.
    assert "LIKE" not in sql and "TRANSLATE" not in sql
    assert "STRPOS(" in sql and "UPPER(coverage)) > 0" in sql

    # A rare text without trigrams of its own is asked of the index whole.
    sql = str(Job.objects.matching("修复登录").query)
    assert "LIKE TRANSLATE(UPPER(%修复登录%)" in sql and "STRPOS(" in sql


@postgresql_only
def test_the_index_is_made_on_the_expression_searches_use(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ciapp_job_text_trgm'"
        )
        (definition,) = cursor.fetchone()

    joins = f"'{textsearch.JOINERS}'::text, '{textsearch.JOINED * 7}'::text"
    assert "translate(upper(" in definition and joins in definition
    assert len(textsearch.JOINERS) == 7


def test_it_picks_the_rarest_trigrams():
    sample = textsearch.Sample(
        ["refund the ledger", "refund", "ledger", "ledge", "edge", "pledge"],
        textsearch.as_indexed,
    )
    # As PostgreSQL's index sees them: joiners are the letter Q.
    assert textsearch.as_indexed("Refund_Ledger ci/cd.sh") == "refundqledger ciqcdqsh"
    assert textsearch.trigrams_of("Refund_Ledger!") == {
        "ref",
        "efu",
        "fun",
        "und",
        "ndq",
        "dql",
        "qle",
        "led",
        "edg",
        "dge",
        "ger",
    }
    # "ger" and the trigrams of "refund" are in two jobs each, "led" in four:
    # "ger" and one of "refund" leave one job; the others add nothing.
    assert textsearch.rarest_trigrams(["refund ledger"], sample) == ("efu", "ger")
    # A trigram no job has leaves none: enough on its own, but the others
    # that no job has are asked for too, in case the sample missed them.
    assert textsearch.rarest_trigrams(["refund_ledger"], sample) == (
        "dql",
        "ndq",
        "qle",
    )
    # A text without three ASCII letters or digits in a row is asked whole.
    assert textsearch.rarest_trigrams(["refund", "修复登录页面"], sample) == ()
    assert textsearch.rarest_trigrams(["a+b"], sample) == ()
    assert textsearch.rarest_trigrams(["a-b"], sample) == ("aqb",)  # joined
    assert textsearch.rarest_trigrams([], sample) == ()
    # A text that the sample finds common is not asked of the index at all.
    common = textsearch.Sample(["refund"] * textsearch.COMMON_IN_SAMPLE)
    assert textsearch.is_common(["refund"], common)
    assert not textsearch.is_common(["refund"], sample)


def test_it_asks_for_the_picks_in_one_pattern_a_text():
    # In the order the text has them, overlapping ones as one run of letters.
    assert textsearch.pick_patterns(["refund_ledger"], ("dql", "edg", "ndq")) == [
        "%ndql%edg%"
    ]
    assert textsearch.pick_patterns(
        ["Fix flaky tests on slow runners"], ("aky", "slo", "fix", "lak")
    ) == ["%fix%laky%slo%"]
    # Overlapping by one letter: the trigram between comes along.
    assert textsearch.pick_patterns(["abcde", "xyz"], ("cde", "abc", "xyz")) == [
        "%abcde%",
        "%xyz%",
    ]
    # A pick of two texts is asked for once.
    assert textsearch.pick_patterns(["login", "plugin"], ("gin",)) == ["%gin%"]


@postgresql_only
def test_every_job_with_the_text_matches_its_pattern(texts, monkeypatch):
    # Whatever the sample picks, the pattern never loses a job.
    for query in ["refund_ledger", "call refund_ledger twice", "ci/deploy.sh"]:
        for sample in (textsearch.Sample([]), textsearch._Sampler.take()):
            monkeypatch.setattr(textsearch, "current_sample", lambda s=sample: s)
            assert found(query) == naive(query) != set(), query


def test_it_splits_long_texts_into_windows():
    assert windows("abc") == ["abc"]
    assert windows("abcde") == ["abcde"]
    assert windows("abcdef") == ["abcde", "bcdef"]
    # The first and the last first, so that a tie takes two apart.
    long = windows("refund_ledger_retry_twice")
    assert long[:2] == ["refun", "twice"]
    assert len(long) == textsearch.MAX_WINDOWS
    assert all(len(window) == textsearch.WINDOW for window in long)


def test_it_quotes_texts_for_fts5():
    sql, params = IndexedCandidates(['5"', 'say "hi" twice']).probe(
        textsearch.Sample([])
    )

    # A short text is asked for whole, a long one by two of its windows: with
    # nothing to tell them apart, the first and the last.
    assert params == ['"5""" AND "say """ AND "twice"']
    assert sql.count("MATCH") == 1


def test_it_asks_the_index_for_the_cheapest_parts():
    sample = textsearch.Sample(
        ["Refund the ledger", "ledger_retry", "REFUND_LEDGER_RETRY", "ledger"]
    )
    assert sample.count("LEDGER") == 4
    assert sample.count("r_ret") == 2
    assert sample.count("kumquat") == 0
    assert sample.jobs_with(["refund", "retry"], 10) == 1
    assert sample.jobs_with(["ledger"], 10) == 4
    assert sample.jobs_with(["ledger"], 2) == 2  # counted up to enough
    assert sample.holding(["ledger", "refund"]) == 2
    assert sample.holding(["ledger", "kumquat"]) == 0
    # Both trigrams of "abab" are in "aba bab"; the text is not.
    assert textsearch.Sample(["aba bab"]).count("abab") == 1
    assert textsearch.Sample(["aba bab"]).jobs_with(["abab"], 10) == 0

    sql, params = IndexedCandidates(["refund_ledger_retry"]).probe(sample)

    # "nd_" is in one job, and the index reads one entry for it: 1 + 20 for
    # the candidate. The window "nd_le" leaves the same job and reads three
    # entries, "ledge" twelve and four candidates. No other part leaves
    # fewer jobs, and in a sample of four none is rare enough to ask for
    # just in case.
    assert [sample.cost(w) for w in ("nd_", "nd_le", "ledge")] == [1, 3, 12]
    assert params == ['"nd_"']
    insured = textsearch.Sample([*sample.jobs, *["x"] * 96])
    assert IndexedCandidates(["refund_ledger_retry"]).probe(insured)[1] == [
        '"nd_" AND "d_l"'
    ]
    assert sample.cheapest(["ledge", "fund_"], 1, textsearch.FTS5_WEIGHT) == ["fund_"]


@sqlite_only
def test_a_common_word_does_not_ask_the_index(
    texts, monkeypatch, django_assert_num_queries
):
    # 1. the index  2. the candidates
    with django_assert_num_queries(2) as captured:
        assert found("coverage") == {texts["percent"].pk, texts["thousand"].pk}
    assert textsearch.TEXT_TABLE in captured.captured_queries[0]["sql"]

    common = textsearch.Sample(["show 100% coverage"] * textsearch.COMMON_IN_SAMPLE)
    monkeypatch.setattr(textsearch, "current_sample", lambda: common)
    with django_assert_num_queries(1) as captured:
        assert found("coverage") == {texts["percent"].pk, texts["thousand"].pk}
    assert textsearch.TEXT_TABLE not in captured.captured_queries[0]["sql"]


# The migration ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_reverses_and_applies_again(repository):
    job = make_job(repository, commit_title="Survives zebracorn migrations")
    executor = MigrationExecutor(connection)

    executor.migrate([("ciapp", "0002_execution")])
    executor.loader.build_graph()
    assert "job_org_branch" not in _indexes()
    assert naive("zebracorn") == {job.pk}

    executor.migrate(executor.loader.graph.leaf_nodes("ciapp"))
    assert "job_org_branch" in _indexes()
    assert found("zebracorn") == {job.pk}


def _indexes():
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, "ciapp_job")


def test_the_sample_keeps_the_start_of_long_messages(repository):
    long_body = "intro " + "x" * 5000 + " zebracorn"
    make_job(repository, commit_title="Long one", commit_body=long_body)

    sample = textsearch._Sampler.take()

    (job,) = sample.jobs
    assert job.startswith("long one\x01intro ")
    assert len(job) <= 3 * textsearch.SAMPLE_CHARACTERS + 2
    assert sample.count("zebracorn") == 0  # beyond the start: not sampled
    # The search itself still reads the whole text.
    assert found("zebracorn") == {Job.objects.get().pk}
