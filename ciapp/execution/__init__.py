"""Running jobs: starting them, scheduling their runners, executing those.

Work reaches worker processes through Django's task framework with a
database-backed queue (see :mod:`ciapp.execution.tasks`), so the same code
runs one worker beside the web server on SQLite, or many workers on many
hosts against PostgreSQL.
"""
