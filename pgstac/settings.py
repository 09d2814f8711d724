"""Where the database is: an external PostgreSQL, or the embedded cluster under DINAMIS_HOME."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Prefixed names only: pydantic-settings matches environment names case-insensitively, so an
# alias such as "home" would silently read $HOME.
HOME_ALIASES = AliasChoices("DINAMIS_HOME")


def default_home() -> Path:
    """The product's working folder: `.dinamis/` in the current project, like `.git`."""
    return Path(".dinamis")


class ClusterSettings(BaseSettings):
    """The embedded PostgreSQL cluster that `dinamis db start` manages."""

    model_config = SettingsConfigDict(
        env_prefix="DINAMIS_CLUSTER_", extra="ignore", populate_by_name=True
    )

    home: Path = Field(default_factory=default_home, validation_alias=HOME_ALIASES)
    data_dir: Path | None = None
    """PostgreSQL data directory; `<home>/pgdata` by default."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """Fixed port; by default a free port is chosen once and kept."""
    os_user: str = "postgres"
    """Unprivileged system user the cluster runs as when the CLI is run by root."""
    database: str = "dinamis"

    @property
    def state_file(self) -> Path:
        return self.home.absolute() / "cluster.json"

    @property
    def pgdata(self) -> Path:
        return (self.data_dir or self.home / "pgdata").absolute()


def kept_secret(name: str) -> str:
    """A secret made once for this installation and kept in `<DINAMIS_HOME>/<name>` (0600),
    for the processes that share that folder; production sets its own instead."""
    path = ClusterSettings().home / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


class DatabaseSettings(BaseSettings):
    """How every part of the product reaches PostgreSQL.

    Order of precedence: `DATABASE_URL`; the standard `PG*` variables (`PGHOST`, `PGPORT`,
    `PGUSER`, `PGPASSWORD`, `PGDATABASE`); the embedded cluster's state file.
    """

    model_config = SettingsConfigDict(
        env_prefix="DINAMIS_DB_", extra="ignore", populate_by_name=True
    )

    url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DINAMIS_DB_URL")
    )
    reader_url: SecretStr | None = None
    """Optional DSN of a read replica: searches, aggregates, tiles, rights and identities
    are read there, with pgstac in read-only mode; writes go to the primary."""
    read_your_writes_seconds: int = Field(default=30, ge=1)
    """With a replica, how long at most a client that just wrote reads from the primary
    while the replica has not replayed its write yet."""
    home: Path = Field(default_factory=default_home, validation_alias=HOME_ALIASES)
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    pool_timeout_seconds: float = Field(default=10.0, gt=0)
    """How long a request waits for a connection of the application lane before a 503 with
    `Retry-After` (a database down or saturated), instead of psycopg's 30 s."""
    statement_timeout_ms: int = Field(default=30_000, ge=0)
    """Upper bound of one API query, so a pathological search cannot hold a connection."""

    @property
    def external(self) -> bool:
        return self.url is not None or bool(
            os.environ.get("PGHOST") or os.environ.get("PGDATABASE")
        )

    def dsn(self) -> str:
        """The read-write DSN, resolved in the documented order."""
        if self.url is not None:
            return normalise_dsn(self.url.get_secret_value())
        if self.external:
            return dsn_from_pg_env()
        state = self.home.absolute() / "cluster.json"
        if not state.exists():
            raise DatabaseNotConfigured(
                "No database configured: run `dinamis db start` (embedded cluster) "
                "or set DATABASE_URL."
            )
        return json.loads(state.read_text())["dsn"]

    def reader_dsn(self) -> str:
        if self.reader_url is not None:
            return normalise_dsn(self.reader_url.get_secret_value())
        return self.dsn()


class DatabaseNotConfigured(RuntimeError):
    """Raised when neither an external database nor the embedded cluster is set up."""


def normalise_dsn(dsn: str) -> str:
    """Accept SQLAlchemy-style URLs (`postgresql+psycopg://`) as plain libpq DSNs."""
    scheme, sep, rest = dsn.partition("://")
    if sep and scheme.startswith("postgres"):
        return f"postgresql://{rest}"
    return dsn


def dsn_from_pg_env() -> str:
    env = os.environ
    user = quote(env.get("PGUSER", "postgres"), safe="")
    password = env.get("PGPASSWORD")
    auth = f"{user}:{quote(password, safe='')}@" if password else f"{user}@"
    host = env.get("PGHOST", "127.0.0.1")
    port = env.get("PGPORT", "5432")
    database = env.get("PGDATABASE", "postgres")
    if host.startswith("/"):  # a Unix socket directory
        return f"postgresql://{auth}/{database}?host={quote(host, safe='')}&port={port}"
    return f"postgresql://{auth}{host}:{port}/{database}"
