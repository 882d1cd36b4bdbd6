from __future__ import annotations

import pytest

from engage.config import SettingsError, load_settings


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for key in ("ENGAGE_DATABASE_URL", "ENGAGE_REDIS_URL", "ENGAGE_ENV", "ENGAGE_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.embedded and settings.is_sqlite
    assert settings.db_url.endswith(str(tmp_path / "engage.db"))
    secret = settings.secret()
    assert len(secret) >= 32 and settings.secret() == secret, "embedded secret is made once and kept"
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ENGAGE_PORT": "seventy"}, "ENGAGE_PORT"),
        ({"ENGAGE_RATE_LIMIT_API": "lots"}, "ENGAGE_RATE_LIMIT_API"),
        ({"ENGAGE_RATE_LIMIT_API": "5/7"}, "period must be"),
        ({"ENGAGE_DATABASE_URL": "mysql://x"}, "ENGAGE_DATABASE_URL"),
        ({"ENGAGE_ENV": "production"}, "ENGAGE_SECRET_KEY"),
        ({"ENGAGE_LOW_STOCK_DIGEST_HOUR": "25"}, "ENGAGE_LOW_STOCK_DIGEST_HOUR"),
    ],
)
def test_bad_values_stop_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key in ("ENGAGE_DATABASE_URL", "ENGAGE_REDIS_URL", "ENGAGE_ENV", "ENGAGE_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert message in str(err.value)


def test_rate_limits_parse() -> None:
    settings = load_settings(rate_limit_api="250/minute", rate_limit_login="3/600")
    assert (settings.rate_limit_api.count, settings.rate_limit_api.unit) == (250, "minute")
    assert (settings.rate_limit_login.count, settings.rate_limit_login.seconds) == (3, 600)


def test_an_empty_digest_hour_turns_the_digest_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENGAGE_LOW_STOCK_DIGEST_HOUR", "")
    assert load_settings().low_stock_digest_hour is None
    monkeypatch.setenv("ENGAGE_LOW_STOCK_DIGEST_HOUR", "6")
    assert load_settings().low_stock_digest_hour == 6
