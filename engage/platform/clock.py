"""Server-authoritative UTC time. Everything that needs "now" asks here."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every datetime we store is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def epoch_ms(value: datetime | None = None) -> int:
    return int((value or utcnow()).timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def local_days(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants that bound the days `start`..`end` (inclusive) of `zone`: [first midnight, the midnight
    after the last day)."""
    return datetime.combine(start, time(), zone), datetime.combine(end + timedelta(days=1), time(), zone)
