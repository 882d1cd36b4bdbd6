"""Push's setup: the migration agrees with the models on both databases, settings refuse what they must,
`engage push keys`, and the staff channels."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from engage.config import SettingsError, load_settings
from engage.platform.identity import Identity, Role
from engage.platform.migrations import check
from engage.push.channel import push_kinds
from engage.push.delivery import DEFAULT_ALLOWED_ENDPOINTS
from engage.push.vapid import keys_from_text
from engage.services import Services


async def test_models_and_migrations_agree_on_both_databases(pg_url: str, push_sqlite_settings) -> None:
    await check(pg_url)
    await check(push_sqlite_settings.db_url)


def test_default_endpoints_are_the_major_browsers() -> None:
    settings = load_settings()
    assert tuple(settings.push_allowed_endpoints) == DEFAULT_ALLOWED_ENDPOINTS
    assert all(p.startswith("https://") for p in settings.push_allowed_endpoints)


PRODUCTION = {
    "env": "production",
    "secret_key": "s" * 40,
    "database_url": "postgresql+asyncpg://x@127.0.0.1/x",
    "redis_url": "redis://127.0.0.1:6379/0",
}


def test_production_needs_a_vapid_key_and_refuses_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENGAGE_VAPID_PRIVATE_KEY", raising=False)
    with pytest.raises(SettingsError, match="ENGAGE_VAPID_PRIVATE_KEY"):
        load_settings(**PRODUCTION)
    key = "kVfW6E3XbZQvB7tAxLqg3b1mJ0M0cU1WlHqTgq3o5Wk"
    assert load_settings(**PRODUCTION, vapid_private_key=key).vapid_private_key is not None
    with pytest.raises(SettingsError, match="plain http"):
        load_settings(**PRODUCTION, vapid_private_key=key, push_allowed_endpoints="http://push.internal/x/")
    loopback = load_settings(
        **PRODUCTION, vapid_private_key=key, push_allowed_endpoints="http://127.0.0.1:8765/push/"
    )
    assert loopback.push_allowed_endpoints == ["http://127.0.0.1:8765/push/"]
    for bad in (
        "ftp://x/",
        "https://*evil.example/",
        "https://a@b.example/",
        "https://x.example/?q=1",
        "nonsense",
    ):
        with pytest.raises(SettingsError, match="ENGAGE_PUSH_ALLOWED_ENDPOINTS"):
            load_settings(push_allowed_endpoints=bad)
    with pytest.raises(SettingsError, match="ENGAGE_VAPID_SUBJECT"):
        load_settings(vapid_subject="ops@example.com")
    with pytest.raises(SettingsError, match="ENGAGE_PUSH_DEFAULT_TIMEZONE"):
        load_settings(push_default_timezone="Mars/Base")


def test_push_keys_command_shows_and_rotates(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engage.cli import cli
    from engage.config import get_settings

    for key in ("ENGAGE_VAPID_PRIVATE_KEY", "ENGAGE_DATABASE_URL", "ENGAGE_REDIS_URL", "ENGAGE_ENV"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        shown = runner.invoke(cli, ["push", "keys"])
        assert shown.exit_code == 0, shown.output
        first = shown.output.split("public key: ")[1].split()[0]
        assert runner.invoke(cli, ["push", "keys"]).output == shown.output, "made once, then kept"
        assert (tmp_path / "vapid_private_key").stat().st_mode & 0o777 == 0o600
        rotated = runner.invoke(cli, ["push", "keys", "--rotate"])
        assert rotated.exit_code == 0 and "subscribe again" in rotated.output
        second = rotated.output.split("public key: ")[1].split()[0]
        assert second != first and (tmp_path / "vapid_private_key.previous").exists()
        assert runner.invoke(cli, ["push", "keys"]).output.split("public key: ")[1].split()[0] == second
        # keys from the environment cannot be rotated in place: a new one is printed to set
        monkeypatch.setenv("ENGAGE_VAPID_PRIVATE_KEY", (tmp_path / "vapid_private_key").read_text().strip())
        get_settings.cache_clear()
        printed = runner.invoke(cli, ["push", "keys", "--rotate"])
        line = next(x for x in printed.output.splitlines() if x.startswith("ENGAGE_VAPID_PRIVATE_KEY="))
        assert keys_from_text(line.split("=", 1)[1]).public_key in printed.output
    finally:
        get_settings.cache_clear()
        os.environ.pop("ENGAGE_VAPID_PRIVATE_KEY", None)


async def test_campaign_channels_are_for_marketing_only(embedded_stack) -> None:
    services: Services = embedded_stack[0]
    kinds = {k.prefix: k for k in push_kinds(services.runtime)}
    campaign, alerts = kinds["campaign"], kinds["push-alerts"]
    marketer, admin = Identity(1, Role.marketer), Identity(2, Role.admin)
    for who in (Identity(3, Role.customer), Identity(4, Role.agent), Identity(None, None, guest_id="g")):
        assert not await campaign.authorize(who, "campaign:1")
        assert not await alerts.authorize(who, "push-alerts")
    assert await campaign.authorize(marketer, "campaign:1") and await campaign.authorize(admin, "campaign:7")
    assert not await campaign.authorize(marketer, "campaign:abc")
    assert await alerts.authorize(marketer, "push-alerts") and not await alerts.authorize(
        marketer, "push-alerts:1"
    )
    assert campaign.policy == "latest"
    assert await campaign.snapshot(marketer, "campaign:999999999") is None
