"""Settings: one typed object read from ENGAGE_* environment variables, validated at start."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

DurationUnit = Literal["second", "minute", "hour", "day"]
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RateLimit:
    """`count/period`, e.g. `100/minute` or `5/900` (seconds)."""

    count: int
    seconds: int

    @property
    def unit(self) -> DurationUnit:
        """The Litestar rate-limit unit for this period (only whole units are allowed there)."""
        for unit, seconds in _UNIT_SECONDS.items():
            if seconds == self.seconds:
                return unit  # type: ignore[return-value]  # a key of _UNIT_SECONDS: one of the units
        raise ValueError(f"period must be a second, minute, hour or day, not {self.seconds} s")

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        count, _, period = str(text).partition("/")
        try:
            n = int(count)
            seconds = _UNIT_SECONDS[period] if period in _UNIT_SECONDS else int(period)
        except (ValueError, KeyError):
            raise ValueError(f"expected '<count>/<second|minute|hour|day|seconds>', got {text!r}") from None
        if n < 0 or seconds <= 0:
            raise ValueError(f"rate limit must be non-negative over a positive period, got {text!r}")
        return cls(n, seconds)


# the major browsers' push services (engage.push.delivery.DEFAULT_ALLOWED_ENDPOINTS; kept equal by a test)
_DEFAULT_PUSH_ENDPOINTS = (
    "https://fcm.googleapis.com/",
    "https://android.googleapis.com/",
    "https://updates.push.services.mozilla.com/",
    "https://web.push.apple.com/",
    "https://*.notify.windows.com/",
)
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _csv(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            return json.loads(value)
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENGAGE_", extra="ignore", validate_default=True)

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str = ""
    redis_url: str = ""
    # Keys of every Redis-backed part start with this, so several deployments (or test runs) share one Redis.
    redis_prefix: str = "engage"
    # Connections one process opens to Redis at most; a burst waits for a free one rather than opening more.
    redis_max_connections: int = Field(100, ge=4)
    secret_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str = ""
    behind_tls: bool = False
    # Longer than any client's or proxy's idle timeout, so the server never closes a connection a client is
    # reusing at that moment (the client would see a reset request).
    http_keep_alive_seconds: int = Field(75, gt=0)
    cors_origins: Annotated[list[str], NoDecode] = []
    cookie_secure: bool = True
    session_max_age: int = Field(14 * 86400, gt=0)
    # JSON request bodies above this are refused (413) before they are parsed; uploads have their own limits.
    max_body_bytes: int = Field(1024 * 1024, gt=0)

    rate_limit_api: Annotated[RateLimit, NoDecode] = RateLimit(100, 60)
    rate_limit_login: Annotated[RateLimit, NoDecode] = RateLimit(5, 15 * 60)
    rate_limit_login_ip: Annotated[RateLimit, NoDecode] = RateLimit(20, 15 * 60)
    # Roles that may use their powers only after a second factor (TOTP): comma-separated, "" for none.
    two_factor_roles: Annotated[list[str], NoDecode] = ["admin"]

    # Bearer token Prometheus sends to scrape /metrics; unset: /metrics is open outside production only.
    metrics_token: SecretStr | None = None

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    access_log: bool = False

    # embedded mode: migrate and seed demo data when `engage serve` starts on an empty database
    auto_migrate: bool | None = None
    demo_seed: bool | None = None

    db_pool_size: int = Field(20, ge=1)
    db_echo: bool = False

    # ---- commerce -------------------------------------------------------------------------------------------
    currency: str = Field("usd", min_length=3, max_length=3)
    reservation_hold_seconds: int = Field(15 * 60, gt=0)
    low_stock_threshold: int = Field(5, ge=0)
    catalog_cache_seconds: int = Field(60, ge=0)
    payment_provider: Literal["test", "stripe"] = "test"
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str = ""
    # JSON: {"standard": {"label": ..., "flat_cents": 500}, "express": {"per_kg_cents": 300, "base_cents": 900}}
    shipping_rates: str = ""
    # JSON: {"US": 0, "US-CA": 725, "DE": 1900}: basis points by country or country-region
    tax_rates: str = ""

    # ---- loyalty, referrals, leaderboards (the programme's rules are the admin's: /api/admin/loyalty/rules) --
    # off: no points or store credit at checkout, no sign-up bonus or referrals (the ledger stays as it is)
    loyalty_enabled: bool = True

    # ---- real-time ------------------------------------------------------------------------------------------
    ws_max_frame_bytes: int = Field(16 * 1024, gt=0)
    ws_frames_per_second: int = Field(20, gt=0)
    ws_heartbeat_seconds: float = Field(25.0, gt=0)
    ws_send_queue: int = Field(256, gt=0)
    channel_history: int = Field(500, ge=0)
    channel_history_seconds: int = Field(3600, gt=0)
    flash_claim_hold_seconds: int = Field(5 * 60, gt=0)

    # ---- chat -----------------------------------------------------------------------------------------------
    chat_max_message_chars: int = Field(4000, gt=0)
    chat_rate_limit: Annotated[RateLimit, NoDecode] = RateLimit(20, 10)
    chat_agent_capacity: int = Field(5, gt=0)
    chat_first_response_seconds: int = Field(120, gt=0)
    chat_retention_days: int = Field(365, gt=0)
    # shown in the chat widget when nobody of the team is online
    chat_office_hours: str = Field("Monday to Friday, 9:00 to 18:00 (UTC)", max_length=200)
    attachment_max_bytes: int = Field(10 * 1024 * 1024, gt=0)
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "support@engage.local"

    # ---- search and bot -------------------------------------------------------------------------------------
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_threads: int = Field(0, ge=0)  # torch threads; 0: one per core but one
    search_synonyms_file: Path | None = None
    llm_base_url: str = ""
    llm_api_key: SecretStr | None = None
    llm_model: str = ""
    llm_timeout_seconds: float = Field(8.0, gt=0)
    bot_reply_timeout_seconds: float = Field(10.0, gt=0)
    bot_in_chat: bool = True
    bot_name: str = Field("Assistant", min_length=1, max_length=60)

    # ---- web push -------------------------------------------------------------------------------------------
    # URL prefixes a browser's push endpoint must start with (scheme, host or `*.` wildcard, port, path):
    # the server POSTs to these and nowhere else. Plain http only when listed here explicitly.
    push_allowed_endpoints: Annotated[list[str], NoDecode] = list(_DEFAULT_PUSH_ENDPOINTS)
    # The VAPID private key (base64url raw scalar, PEM or DER); embedded mode keeps one in the data dir.
    vapid_private_key: SecretStr | None = None
    vapid_subject: str = "mailto:push@engage.invalid"
    push_rate_per_minute: int = Field(0, ge=0)  # a campaign's default send rate; 0: as fast as workers go
    push_frequency_cap: Annotated[RateLimit, NoDecode] = RateLimit(3, 86400)  # marketing pushes per shopper
    push_batch_size: int = Field(200, ge=1, le=5000)
    push_concurrency: int = Field(100, ge=1, le=1000)
    push_lease_seconds: int = Field(60, ge=5)
    push_max_attempts: int = Field(5, ge=1, le=50)
    push_request_timeout_seconds: float = Field(10.0, gt=0, le=60)
    push_chat_delay_seconds: int = Field(30, ge=0)
    # back-in-stock alerts: signups told per unit back in stock, per wave; the pause before the next wave
    alerts_wave_factor: float = Field(3.0, gt=0, le=1000)
    alerts_wave_seconds: int = Field(60, ge=1, le=86400)
    returns_window_days: int = Field(30, ge=0, le=3650)  # after delivery
    returns_address: str = ""  # where parcels go back to; empty: "the address on your delivery note"
    alerts_everyone_at_once: bool = False  # tell every signup at the first restock, not in waves
    # the hour (shop's time zone) the daily low-stock digest is mailed to admins and marketers; none: off
    low_stock_digest_hour: int | None = Field(8, ge=0, le=23)
    push_conversion_window_hours: int = Field(24, ge=1)
    push_default_timezone: str = "UTC"

    @field_validator("cors_origins", "push_allowed_endpoints", "two_factor_roles", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return _csv(value)

    @field_validator("two_factor_roles")
    @classmethod
    def _check_two_factor_roles(cls, value: list[str]) -> list[str]:
        staff = {"agent", "marketer", "admin"}
        if unknown := [role for role in value if role not in staff]:
            raise ValueError(f"two_factor_roles are staff roles ({', '.join(sorted(staff))}), not {unknown}")
        return value

    @field_validator("push_allowed_endpoints")
    @classmethod
    def _check_push_endpoints(cls, value: list[str]) -> list[str]:
        from urllib.parse import urlsplit

        for prefix in value:
            try:
                parts = urlsplit(prefix)
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError:
                raise ValueError(f"{prefix!r} is not a URL prefix") from None
            host = parts.hostname or ""
            if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
                raise ValueError(f"{prefix!r}: use https://host[:port]/path (no user, no query)")
            if "*" in host and not (host.startswith("*.") and "*" not in host[2:] and host.count(".") >= 2):
                raise ValueError(f"{prefix!r}: a wildcard is only allowed as the first label (*.example.com)")
            if parts.query or parts.fragment:
                raise ValueError(f"{prefix!r}: a prefix has no query or fragment")
        return value

    @field_validator("vapid_subject")
    @classmethod
    def _check_vapid_subject(cls, value: str) -> str:
        if not value.startswith(("mailto:", "https:")) or len(value) < 8:
            raise ValueError("use mailto:someone@example.com or an https: URL")
        return value

    @field_validator("push_default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)") from None
        return value

    @field_validator("low_stock_digest_hour", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "rate_limit_api",
        "rate_limit_login",
        "rate_limit_login_ip",
        "chat_rate_limit",
        "push_frequency_cap",
        mode="before",
    )
    @classmethod
    def _parse_rate(cls, value: object) -> object:
        if isinstance(value, str):
            return RateLimit.parse(value)
        if isinstance(value, tuple | list) and len(value) == 2:
            return RateLimit(int(value[0]), int(value[1]))
        return value

    @field_validator("rate_limit_api")
    @classmethod
    def _whole_unit(cls, value: RateLimit) -> RateLimit:
        value.unit  # noqa: B018 - raises for periods Litestar's rate limiter cannot count in
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("use postgresql+asyncpg://user@host/db or sqlite+aiosqlite:///path/file.db")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db")
        return value

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.env == "production":
            if self.secret_key is None or len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("ENGAGE_SECRET_KEY (32+ characters) is required when ENGAGE_ENV=production")
            if not self.database_url.startswith("postgresql"):
                raise ValueError("ENGAGE_DATABASE_URL must point to PostgreSQL when ENGAGE_ENV=production")
            if not self.redis_url:
                raise ValueError("ENGAGE_REDIS_URL is required when ENGAGE_ENV=production")
            if self.vapid_private_key is None:
                raise ValueError(
                    "ENGAGE_VAPID_PRIVATE_KEY is required when ENGAGE_ENV=production "
                    "(`engage push keys --rotate` prints a new one)"
                )
            from urllib.parse import urlsplit

            for prefix in self.push_allowed_endpoints:
                parts = urlsplit(prefix)
                if parts.scheme == "http" and (parts.hostname or "").lower() not in _LOOPBACK_HOSTS:
                    raise ValueError(
                        f"ENGAGE_PUSH_ALLOWED_ENDPOINTS: plain http ({prefix}) is refused in production "
                        "(only a loopback address may be http)"
                    )
        return self

    # ---- derived -------------------------------------------------------------------------------------------
    @property
    def embedded(self) -> bool:
        """Embedded mode: no Redis, so channels, stores and jobs live in this process."""
        return not self.redis_url

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'engage.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.auto_migrate if self.auto_migrate is not None else self.is_sqlite

    @property
    def should_seed_demo(self) -> bool:
        return self.demo_seed if self.demo_seed is not None else self.embedded and self.env != "test"

    def secret(self) -> str:
        """The signing secret; embedded mode creates one on first start and keeps it in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


class SettingsError(SystemExit):
    pass


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; a bad value stops the program with a readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # names and values checked by pydantic
    except SourceError as exc:
        raise SettingsError(f"engage: invalid configuration: {exc}") from None
    except ValidationError as exc:
        lines = ["engage: invalid configuration"]
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "settings"
            name = f"ENGAGE_{field.upper()}" if err["loc"] else "settings"
            lines.append(f"  {name}: {err['msg']}")
        raise SettingsError("\n".join(lines)) from None


@lru_cache
def get_settings() -> Settings:
    return load_settings()
