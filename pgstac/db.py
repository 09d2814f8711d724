"""Synchronous connections for the CLI, migrations and bulk loads (the API uses asyncpg pools)."""

from __future__ import annotations

import psycopg

SEARCH_PATH = "pgstac,public"


def connect(dsn: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection whose search_path resolves pgstac's unqualified internal calls."""
    return psycopg.connect(
        dsn,
        autocommit=autocommit,
        options=f"-c search_path={SEARCH_PATH}",
        application_name="dinamis",
    )
