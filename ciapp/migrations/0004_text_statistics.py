"""PostgreSQL: the text index's expression back to the default statistics.

Migration 0003 had ANALYZE keep a sample of 1,000 values of the expression,
so that the planner could tell rare words from common ones. Searches now
tell them apart by a sample of their own (``ciapp.textsearch.Sample``), and
the planner's estimate of each ``LIKE`` read all 1,000 values: up to 2 ms of
planning for a search of several words. The default sample costs a tenth of
that and tells common words from the rest as well. ANALYZE runs again so
that the change is in effect at once.
"""

from django.db import migrations

from ciapp.migrations._vendor import RunSQLOn

FORWARD = [
    "ALTER INDEX ciapp_job_text_trgm ALTER COLUMN 1 SET STATISTICS -1",
    "ANALYZE ciapp_job",
]
BACKWARD = [
    "ALTER INDEX ciapp_job_text_trgm ALTER COLUMN 1 SET STATISTICS 1000",
    "ANALYZE ciapp_job",
]


class Migration(migrations.Migration):
    dependencies = [
        ("ciapp", "0003_text_index"),
    ]

    operations = [RunSQLOn("postgresql", FORWARD, BACKWARD)]
