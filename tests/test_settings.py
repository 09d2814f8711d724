"""Settings: where the database is, and what production refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from extensions.mail import MailSettings
from extensions.ratelimit import RateLimitSettings
from extensions.settings import ApiSettings, Settings
from extensions.web.settings import WebSettings
from pgstac.settings import ClusterSettings, DatabaseNotConfigured, DatabaseSettings


def test_home_never_comes_from_the_shell_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/root")
    monkeypatch.delenv("DINAMIS_HOME", raising=False)
    assert ClusterSettings().home == Path(".dinamis")
    monkeypatch.setenv("DINAMIS_HOME", "/srv/dinamis")
    assert ClusterSettings().home == Path("/srv/dinamis")


def test_database_url_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@db:5433/cat")
    monkeypatch.setenv("PGHOST", "elsewhere")
    assert DatabaseSettings().dsn() == "postgresql://u:p@db:5433/cat"


def test_pg_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for name, value in {"PGHOST": "db", "PGPORT": "6432", "PGUSER": "me", "PGPASSWORD": "s3cr/t", "PGDATABASE": "stac"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    assert DatabaseSettings().dsn() == "postgresql://me:s3cr%2Ft@db:6432/stac"


def test_no_database_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATABASE_URL", "PGHOST", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(DatabaseNotConfigured, match="dinamis db start"):
        DatabaseSettings(home=tmp_path).dsn()


PRODUCTION = {
    "web": WebSettings(secret_key=SecretStr("s" * 40), public_url="https://dinamis.example"),
    "mail": MailSettings(smtp_host="smtp.dinamis.example"),
}


def test_production_lists_every_unsafe_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The start-up check list: production refuses to run with any of these, and says all."""
    monkeypatch.delenv("DINAMIS_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError) as refused:
        Settings(
            mode="production",
            api=ApiSettings(cors_credentials=True, admin_token=SecretStr("short")),
            rate_limits=RateLimitSettings(enabled=False),
        )
    for setting in (
        "DINAMIS_SECRET_KEY",
        "DINAMIS_API_ADMIN_TOKEN",
        "DINAMIS_PUBLIC_URL",
        "DINAMIS_MAIL_SMTP_HOST",
        "DINAMIS_RATE_LIMIT_ENABLED",
        "DINAMIS_API_CORS_CREDENTIALS",
    ):
        assert setting in str(refused.value)
    assert Settings(mode="production", **PRODUCTION).production


def test_production_refuses_a_weak_admin_token() -> None:
    def settings(mode: str, token: str) -> Settings:
        return Settings(mode=mode, api=ApiSettings(admin_token=token), **PRODUCTION)

    with pytest.raises(ValidationError, match="at least 32"):
        settings("production", "admin")
    assert settings("production", "x" * 40).api.admin_token is not None
    assert settings("development", "admin").api.admin_token is not None


def test_no_published_secret_is_ever_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Defect 14: development mode, the default, signed with a key printed in the source."""
    monkeypatch.delenv("DINAMIS_SECRET_KEY", raising=False)
    monkeypatch.setenv("DINAMIS_HOME", str(tmp_path / "one"))
    first = WebSettings().secret_key.get_secret_value()
    assert first == WebSettings().secret_key.get_secret_value()  # kept for the installation
    assert len(first) >= 32 and (tmp_path / "one" / "secret-key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("DINAMIS_HOME", str(tmp_path / "two"))
    assert WebSettings().secret_key.get_secret_value() != first
    with pytest.raises(ValidationError, match="DINAMIS_SECRET_KEY must be set"):
        Settings(mode="production")


def test_previous_keys_are_read_newest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DINAMIS_SECRET_KEY", "new-" + "n" * 32)
    monkeypatch.setenv("DINAMIS_PREVIOUS_SECRET_KEYS", "old-" + "o" * 32 + ", older-" + "x" * 32)
    keys = WebSettings().secret_keys
    assert [k[:4] for k in keys] == ["new-", "old-", "olde"]
