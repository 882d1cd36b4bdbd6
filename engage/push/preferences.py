"""A shopper's notification preferences: topic x channel, time zone, quiet hours, unsubscribe from marketing.

Defaults (no row yet): transactional topics (order_updates, chat_replies) and requested ones (flash_sales
reminders the shopper asked for, back_in_stock alerts they asked for) are on, on both channels; `offers`
(marketing campaigns) is off until the shopper opts in. "Unsubscribe from all marketing" turns offers off
and keeps it off for every campaign, whatever segment it targets.

Quiet hours (local, in the shopper's time zone) defer every push except chat replies until they end;
nothing is dropped for them. Senders read the row again for every message at send time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import InvalidInput
from engage.push.models import Channel, NotificationPreferences, Topic

TOPICS: tuple[str, ...] = tuple(t.value for t in Topic)
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
TRANSACTIONAL = frozenset({Topic.order_updates.value, Topic.chat_replies.value})
REQUESTED = frozenset({Topic.flash_sales.value, Topic.back_in_stock.value})
MARKETING = frozenset({Topic.offers.value})
QUIET_HOURS_EXEMPT = frozenset({Topic.chat_replies.value})  # the shopper is in a conversation
DEFAULTS: dict[tuple[str, str], bool] = {
    (topic, channel): topic not in MARKETING for topic in TOPICS for channel in CHANNELS
}


def column(topic: str, channel: str = "push") -> InstrumentedAttribute[bool]:
    if topic not in TOPICS or channel not in CHANNELS:
        raise InvalidInput(f"unknown topic or channel {topic}/{channel}", code="unknown_topic", field="topic")
    attribute: InstrumentedAttribute[bool] = getattr(NotificationPreferences, f"{topic}_{channel}")
    return attribute


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone `name`, or None when it is not one."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def check_zone(name: str) -> str:
    if zone(name) is None:
        raise InvalidInput(
            f"{name!r} is not an IANA time zone (e.g. Europe/Paris)", code="bad_timezone", field="timezone"
        )
    return name


def parse_clock(text: str, field: str) -> int:
    """ "HH:MM" (24 h) -> minute of the day."""
    try:
        parsed = time.fromisoformat(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} is a time of day like 22:00", code="bad_time", field=field) from None
    if parsed.second or parsed.microsecond or parsed.tzinfo is not None:
        raise InvalidInput(f"{field} is hours and minutes, like 22:00", code="bad_time", field=field)
    return parsed.hour * 60 + parsed.minute


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# ---- the rule senders apply ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choices:
    """What a sender needs of a preferences row (or the defaults) to decide about one message."""

    push_on: bool  # the message's topic, push channel
    marketing_unsubscribed: bool
    timezone: str | None
    quiet_start: int | None
    quiet_end: int | None

    def allows(self, topic: str) -> bool:
        if topic in MARKETING and self.marketing_unsubscribed:
            return False
        return self.push_on


def quiet_until(
    now: datetime, tz_name: str | None, start: int | None, end: int | None, default_zone: ZoneInfo
) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None when `now` is not in them."""
    if start is None or end is None or start == end:
        return None
    tz = zone(tz_name) or default_zone
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    ends = datetime.combine(day, time(end // 60, end % 60), tzinfo=tz)
    return max(ends.astimezone(now.tzinfo), now + timedelta(seconds=1))


def local_moment(local_at: datetime, tz_name: str | None, default_zone: ZoneInfo) -> datetime:
    """A wall-clock time (naive) in a shopper's zone as UTC: the same local time for every recipient."""
    tz = zone(tz_name) or default_zone
    return local_at.replace(tzinfo=tz).astimezone(UTC)


# ---- reading and changing them ------------------------------------------------------------------------


def view(row: NotificationPreferences | None) -> dict[str, Any]:
    topics = {
        topic: {
            channel: (getattr(row, f"{topic}_{channel}") if row is not None else DEFAULTS[(topic, channel)])
            for channel in CHANNELS
        }
        for topic in TOPICS
    }
    quiet = None
    if row is not None and row.quiet_start_minute is not None and row.quiet_end_minute is not None:
        quiet = {"start": clock_text(row.quiet_start_minute), "end": clock_text(row.quiet_end_minute)}
    return {
        "topics": topics,
        "timezone": row.timezone if row is not None else None,
        "quiet_hours": quiet,
        "marketing_unsubscribed": bool(row.marketing_unsubscribed) if row is not None else False,
    }


async def get(session: AsyncSession, owner_key: str) -> dict[str, Any]:
    return view(await session.get(NotificationPreferences, owner_key))


async def quiet_ends(
    session: AsyncSession, owner_key: str, now: datetime, default_zone: ZoneInfo
) -> datetime | None:
    """When the owner's quiet hours around `now` end (UTC), or None when they are not in them."""
    row = await session.get(NotificationPreferences, owner_key)
    if row is None:
        return None
    return quiet_until(now, row.timezone, row.quiet_start_minute, row.quiet_end_minute, default_zone)


async def wants(session: AsyncSession, owner_key: str, topic: str, channel: str) -> bool:
    """Whether this owner has `topic` on for `channel` (the default when they never chose)."""
    return bool((await get(session, owner_key))["topics"][topic][channel])


def _insert(session: AsyncSession) -> Any:
    return insert_for(session)


async def locked_row(
    session: AsyncSession, owner_key: str, user_id: int | None = None, timezone: str | None = None
) -> NotificationPreferences:
    """The owner's row, created with the defaults if missing, locked for this transaction."""
    values: dict[str, Any] = {"owner_key": owner_key, "user_id": user_id, "timezone": timezone}
    values.update({f"{t}_{c}": on for (t, c), on in DEFAULTS.items()})
    now = utcnow()
    await session.execute(
        _insert(session)(NotificationPreferences)
        .values(**values, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["owner_key"])
    )
    row = await session.scalar(
        select(NotificationPreferences)
        .where(NotificationPreferences.owner_key == owner_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


@dataclass
class Change:
    """A partial update: only what is given changes."""

    topics: dict[str, dict[str, bool]] | None = None
    timezone: str | None = None
    quiet_hours: dict[str, str] | None = None
    clear_quiet_hours: bool = False
    marketing_unsubscribed: bool | None = None


def _apply(row: NotificationPreferences, change: Change) -> None:
    for topic, channels in (change.topics or {}).items():
        if topic not in TOPICS:
            raise InvalidInput(
                f"unknown topic {topic!r}; topics are {', '.join(TOPICS)}",
                code="unknown_topic",
                field="topics",
            )
        for channel, on in channels.items():
            if channel not in CHANNELS:
                raise InvalidInput(
                    f"unknown channel {channel!r}; channels are push, email",
                    code="unknown_channel",
                    field="topics",
                )
            setattr(row, f"{topic}_{channel}", bool(on))
            if topic in MARKETING and on and change.marketing_unsubscribed is None:
                row.marketing_unsubscribed = False  # opting in again undoes "unsubscribe from all"
    if change.timezone is not None:
        row.timezone = check_zone(change.timezone)
    if change.clear_quiet_hours:
        row.quiet_start_minute = row.quiet_end_minute = None
    elif change.quiet_hours is not None:
        start = parse_clock(change.quiet_hours.get("start", ""), "quiet_hours.start")
        end = parse_clock(change.quiet_hours.get("end", ""), "quiet_hours.end")
        if start == end:
            raise InvalidInput(
                "quiet hours start and end at different times", code="bad_time", field="quiet_hours"
            )
        row.quiet_start_minute, row.quiet_end_minute = start, end
    if change.marketing_unsubscribed is not None:
        row.marketing_unsubscribed = change.marketing_unsubscribed
        if change.marketing_unsubscribed:
            for topic in MARKETING:
                for channel in CHANNELS:
                    setattr(row, f"{topic}_{channel}", False)
    row.updated_at = utcnow()


async def update_preferences(
    session: AsyncSession, owner_key: str, change: Change, *, user_id: int | None = None
) -> dict[str, Any]:
    """Apply `change` atomically (the row is locked: a sender deciding about this owner waits); commits."""
    row = await locked_row(session, owner_key, user_id)
    _apply(row, change)
    await session.commit()
    return view(row)


async def note_device(
    session: AsyncSession,
    owner_key: str,
    user_id: int | None,
    *,
    timezone: str | None = None,
    opt_in: tuple[str, ...] = (),
) -> None:
    """At subscription: keep the device's time zone if the owner has none, and record opt-ins given with
    the subscription (the opt-in prompt's checkboxes). Part of the caller's transaction."""
    if timezone is not None and zone(timezone) is None:
        timezone = None
    for topic in opt_in:
        if topic not in TOPICS:
            raise InvalidInput(f"unknown topic {topic!r}", code="unknown_topic", field="topics")
    if timezone is None and not opt_in:
        return
    row = await locked_row(session, owner_key, user_id, timezone)
    if row.timezone is None and timezone is not None:
        row.timezone = timezone
    if opt_in:
        _apply(row, Change(topics={topic: {"push": True} for topic in opt_in}))


async def hand_over(session: AsyncSession, guest_key: str, user_key: str, user_id: int) -> None:
    """A guest signs in: their preferences become the account's unless the account has its own."""
    if await session.get(NotificationPreferences, user_key) is not None:
        guest = await session.get(NotificationPreferences, guest_key)
        if guest is not None:
            await session.delete(guest)
        return
    await session.execute(
        update(NotificationPreferences)
        .where(NotificationPreferences.owner_key == guest_key)
        .values(owner_key=user_key, user_id=user_id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
