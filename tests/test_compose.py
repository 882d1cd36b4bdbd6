"""docker-compose.yml cannot run here (no Docker engine); check it against what the app really reads."""

from __future__ import annotations

import re
import shlex

import yaml
from click.testing import CliRunner

from engage.cli import cli
from engage.config import Settings
from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SETTINGS_VARS = {f"ENGAGE_{name.upper()}" for name in Settings.model_fields}


def _env(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def test_services_and_images() -> None:
    assert {"postgres", "redis", "migrate", "app1", "app2", "worker"} <= set(SERVICES)
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"].startswith("redis:")
    for name in ("migrate", "app1", "app2", "worker"):
        assert SERVICES[name]["image"] == "engage:latest" and SERVICES[name]["build"] == "."
    for name in ("postgres", "redis", "app1", "app2", "worker"):
        assert "healthcheck" in SERVICES[name], name


def test_migration_runs_once_before_the_apps() -> None:
    assert SERVICES["migrate"]["command"] == ["engage", "db", "upgrade"]
    for name in ("app1", "app2", "worker"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_commands_are_real_cli_commands() -> None:
    runner = CliRunner()
    for name in ("migrate", "app1", "app2", "worker"):
        command = SERVICES[name]["command"]
        assert command[0] == "engage"
        result = runner.invoke(cli, [*command[1:], "--help"])
        assert result.exit_code == 0, f"{name}: {shlex.join(command)}: {result.output}"
    for name in ("app1", "app2"):
        assert "/ready" in " ".join(SERVICES[name]["healthcheck"]["test"])


def test_environment_matches_settings() -> None:
    for name in ("migrate", "app1", "app2", "worker"):
        env = _env(SERVICES[name])
        unknown = set(env) - SETTINGS_VARS
        assert not unknown, f"{name} sets variables the app never reads: {unknown}"
        assert env["ENGAGE_ENV"] == "production"
        assert env["ENGAGE_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["ENGAGE_REDIS_URL"].startswith("redis://redis:")
        assert re.match(r"\$\{ENGAGE_SECRET_KEY:\?", env["ENGAGE_SECRET_KEY"]), "secret must be required"
    pg = _env(SERVICES["postgres"])
    url = _env(SERVICES["app1"])["ENGAGE_DATABASE_URL"]
    assert f"{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}" in url
