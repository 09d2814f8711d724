"""Shared Alembic environment: each component migrates its own schema with its own history.

The core (`pgstac/migrations`) and each plugin keep their tables in a schema of their own and
record their revision in that schema's `alembic_version` table, so components upgrade
independently. A component's `env.py` is one call to `run_migrations()`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text


def run_migrations() -> None:
    config = context.config
    schema = config.get_main_option("dinamis_schema")
    url = config.get_main_option("sqlalchemy.url")
    if not schema or not url:
        raise RuntimeError("Alembic is run through pgstac.migrate, which sets the schema and URL.")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        connection.commit()
        context.configure(
            connection=connection,
            version_table_schema=schema,
            include_schemas=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
