"""An index of the jobs' commit text, for the search language's words.

SQLite: an FTS5 table with the trigram tokenizer over the title, body and
author, with the jobs table as its external content (it stores no copy of
the text) and triggers that keep it in step with every insert, update and
delete of a job.

PostgreSQL: a GIN index with pg_trgm's operator class over the expression
that ``ciapp.textsearch`` searches: the upper-cased title, body and author
joined by U+0001, a character no search can contain.

Both reverse cleanly. The reverse leaves the pg_trgm extension installed,
since other objects of the database may use it.

NB: on SQLite, Django changes some columns by copying the table into a new
one and dropping the old one, which drops the triggers with it. A later
migration that does that to ciapp_job must run the trigger statements below
again; tests/test_text_search.py fails when the triggers are missing.
"""

from django.db import migrations, models

from ciapp.migrations._vendor import RunSQLOn

COLUMNS = "commit_title, commit_body, commit_author"

SQLITE = [
    "CREATE VIRTUAL TABLE ciapp_job_text USING fts5("
    f"{COLUMNS}, content='ciapp_job', content_rowid='id', "
    "tokenize='trigram', columnsize=0)",
    "CREATE TRIGGER ciapp_job_text_insert AFTER INSERT ON ciapp_job BEGIN "
    f"INSERT INTO ciapp_job_text(rowid, {COLUMNS}) "
    "VALUES (new.id, new.commit_title, new.commit_body, new.commit_author); "
    "END",
    "CREATE TRIGGER ciapp_job_text_delete AFTER DELETE ON ciapp_job BEGIN "
    f"INSERT INTO ciapp_job_text(ciapp_job_text, rowid, {COLUMNS}) "
    "VALUES ('delete', old.id, old.commit_title, old.commit_body, "
    "old.commit_author); "
    "END",
    # Only a change of the indexed text touches the index: status updates,
    # by far the most frequent writes, do not.
    f"CREATE TRIGGER ciapp_job_text_update AFTER UPDATE OF id, {COLUMNS} "
    "ON ciapp_job WHEN old.id IS NOT new.id "
    "OR old.commit_title IS NOT new.commit_title "
    "OR old.commit_body IS NOT new.commit_body "
    "OR old.commit_author IS NOT new.commit_author BEGIN "
    f"INSERT INTO ciapp_job_text(ciapp_job_text, rowid, {COLUMNS}) "
    "VALUES ('delete', old.id, old.commit_title, old.commit_body, "
    "old.commit_author); "
    f"INSERT INTO ciapp_job_text(rowid, {COLUMNS}) "
    "VALUES (new.id, new.commit_title, new.commit_body, new.commit_author); "
    "END",
    # Index the jobs that exist already.
    "INSERT INTO ciapp_job_text(ciapp_job_text) VALUES ('rebuild')",
]

SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS ciapp_job_text_update",
    "DROP TRIGGER IF EXISTS ciapp_job_text_delete",
    "DROP TRIGGER IF EXISTS ciapp_job_text_insert",
    "DROP TABLE IF EXISTS ciapp_job_text",
]

POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ciapp_job_text_trgm ON ciapp_job USING gin ("
    "upper(commit_title || chr(1) || commit_body || chr(1) || commit_author) "
    "gin_trgm_ops)",
    # The planner estimates how many jobs a word matches from a sample of
    # this expression's values; a larger sample tells rare words apart.
    "ALTER INDEX ciapp_job_text_trgm ALTER COLUMN 1 SET STATISTICS 1000",
]

POSTGRESQL_REVERSE = ["DROP INDEX IF EXISTS ciapp_job_text_trgm"]


class Migration(migrations.Migration):
    dependencies = [
        ("ciapp", "0002_execution"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                fields=["organization", "branch", "-id"], name="job_org_branch"
            ),
        ),
        RunSQLOn("sqlite", SQLITE, SQLITE_REVERSE),
        RunSQLOn("postgresql", POSTGRESQL, POSTGRESQL_REVERSE),
    ]
