"""PostgreSQL: a text index that sees identifiers whole.

pg_trgm makes trigrams of letters and digits only: ``refund_ledger`` is two
words to it, ``refund`` and ``ledger``, and the trigrams that make it rare
(``d_l``) are not in the index. The index of migration 0003 is made again
over the same expression with the characters that join the parts of
identifiers, paths and keys (``ciapp.textsearch.JOINERS``) turned into
``Q``, a letter: ``REFUNDQLEDGER`` is one word, and ``DQL`` one of its
trigrams. A search still checks every job whole against the text itself;
the index only narrows the jobs down (see ``ciapp.textsearch``).

The new index keeps the default statistics. Migration 0003 had ANALYZE keep
1,000 values of the expression so that the planner could tell rare words
from common ones; searches now tell them apart by a sample of their own,
and reading 1,000 values took up to 2 ms of planning for each word of a
search. ANALYZE runs at the end so that the planner knows the new index at
once.

SQLite's FTS5 index already makes trigrams of every character.
"""

from django.db import migrations

from ciapp.migrations._vendor import RunSQLOn

TEXT = "upper(commit_title || chr(1) || commit_body || chr(1) || commit_author)"

FORWARD = [
    "DROP INDEX IF EXISTS ciapp_job_text_trgm",
    "CREATE INDEX ciapp_job_text_trgm ON ciapp_job USING gin ("
    f"translate({TEXT}, '_-./:#@', 'QQQQQQQ') gin_trgm_ops)",
    "ANALYZE ciapp_job",
]

BACKWARD = [
    "DROP INDEX IF EXISTS ciapp_job_text_trgm",
    f"CREATE INDEX ciapp_job_text_trgm ON ciapp_job USING gin ({TEXT} gin_trgm_ops)",
    "ALTER INDEX ciapp_job_text_trgm ALTER COLUMN 1 SET STATISTICS 1000",
    "ANALYZE ciapp_job",
]


class Migration(migrations.Migration):
    dependencies = [
        ("ciapp", "0003_text_index"),
    ]

    operations = [RunSQLOn("postgresql", FORWARD, BACKWARD)]
