"""Alembic environment for the ingest schema (the shared runtime does the work)."""

from shared.runtime.migrations import run_env

run_env()
