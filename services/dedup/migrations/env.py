"""Alembic environment for the dedup schema (the shared runtime does the work)."""

from shared.runtime.migrations import run_env

run_env()
