"""What push needs from the process: the VAPID keys, one sender (pooled HTTP client), the policy from settings
and the signing key of its links. One `PushEnv` per process (`Services.push`, built in engage/wiring.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from engage.config import Settings
from engage.push.delivery import PushSender
from engage.push.vapid import VapidKeys, VapidSigner, keys_from_text, load_or_create

KEY_FILE = "vapid_private_key"


@dataclass(frozen=True, slots=True)
class PushPolicy:
    allowed_endpoints: tuple[str, ...]
    rate_per_minute: int = 0  # a campaign's default throttle; 0: unthrottled
    frequency_cap: int = 3  # marketing pushes per shopper per `frequency_period` (0: no cap)
    frequency_period: timedelta = timedelta(days=1)
    batch_size: int = 200  # messages claimed per step
    concurrency: int = 100  # requests in flight per sender
    flush_every: int = 100  # outcomes written per transaction while a batch is out
    draw_page: int = 1000  # audience rows drawn per transaction
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 5
    chat_delay: timedelta = timedelta(seconds=30)
    conversion_window: timedelta = timedelta(hours=24)
    default_timezone: str = "UTC"
    public_url: str = ""  # origin of the links in payloads ("" = site-relative links)
    max_devices_per_owner: int = 20

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)

    @classmethod
    def from_settings(cls, settings: Settings) -> PushPolicy:
        cap = settings.push_frequency_cap
        return cls(
            allowed_endpoints=tuple(settings.push_allowed_endpoints),
            rate_per_minute=settings.push_rate_per_minute,
            frequency_cap=cap.count,
            frequency_period=timedelta(seconds=cap.seconds),
            batch_size=settings.push_batch_size,
            concurrency=settings.push_concurrency,
            flush_every=max(1, min(100, settings.push_batch_size // 2)),
            lease=timedelta(seconds=settings.push_lease_seconds),
            max_attempts=settings.push_max_attempts,
            chat_delay=timedelta(seconds=settings.push_chat_delay_seconds),
            conversion_window=timedelta(hours=settings.push_conversion_window_hours),
            default_timezone=settings.push_default_timezone,
            public_url=settings.public_url.rstrip("/"),
        )


@dataclass(eq=False)
class PushEnv:
    keys: VapidKeys
    sender: PushSender
    policy: PushPolicy
    secret: bytes = field(repr=False)  # signs preference links and click tokens

    @property
    def public_key(self) -> str:
        return self.keys.public_key

    async def aclose(self) -> None:
        await self.sender.aclose()


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def vapid_keys(settings: Settings) -> VapidKeys:
    """ENGAGE_VAPID_PRIVATE_KEY when set (required in production), else a key file in the data dir made once."""
    if settings.vapid_private_key is not None:
        try:
            return keys_from_text(settings.vapid_private_key.get_secret_value())
        except ValueError as exc:
            raise ValueError(f"ENGAGE_VAPID_PRIVATE_KEY: {exc}") from None
    return load_or_create(key_file(settings))


def build_push_env(settings: Settings, keys: VapidKeys | None = None) -> PushEnv:
    keys = keys or vapid_keys(settings)
    policy = PushPolicy.from_settings(settings)
    sender = PushSender(
        VapidSigner(keys, settings.vapid_subject),
        allowed_endpoints=policy.allowed_endpoints,
        timeout_seconds=settings.push_request_timeout_seconds,
        max_connections=max(policy.concurrency, 10),
    )
    secret = hashlib.sha256(b"engage.push:" + settings.secret().encode()).digest()
    return PushEnv(keys=keys, sender=sender, policy=policy, secret=secret)
