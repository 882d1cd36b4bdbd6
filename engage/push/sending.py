"""Sending: one path for campaign, transactional and test messages. `push_messages` is the queue.

Claim -> deliver -> settle:

1. **Claim** (one short transaction): due rows (`queued` and `send_at <= now`, or `sending` whose lease ran
   out) are locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises writers), their owners'
   preference rows too (in key order), and each row is decided *now*: gone device, expired, preferences
   (topic off, unsubscribed from marketing) -> skipped; quiet hours -> deferred to their end; frequency cap
   -> deferred or dropped; else `sending` with a lease (`lease_until`), one more attempt. A campaign's row is
   locked first: the throttle's clock (`pace_at`) and its status (paused, cancelled) are read and written
   under that lock, so any number of senders share one rate and stop together.
2. **Deliver** (no transaction open): encrypt, sign, POST, `ENGAGE_PUSH_CONCURRENCY` at a time.
3. **Settle** (every `flush_every` outcomes, one transaction): accepted -> `sent`; gone -> `failed` and the
   subscription deleted; retry -> back to `queued` at now + backoff (Retry-After honoured) until attempts
   run out (`failed`) or it would expire (`expired`); rejected -> `failed` with the reason; unauthorized ->
   the campaign stops and staff are alerted. Figures and a progress event are written in the same transaction.

At most once: a row is `sending` under one lease at a time, and only a 201 makes it `sent`. A sender that
dies between a 201 and its settle leaves rows `sending`; when their lease runs out they are sent again
(the only way a subscription can get a message twice). That is bounded by what one sender had unsettled:
the requests in flight (ENGAGE_PUSH_CONCURRENCY) plus fewer than `flush_every` outcomes for each batch it has
out (PIPELINE). Every copy carries the same Topic header and
notification tag, so a push service that still holds the first copy replaces it, and a browser that showed
it replaces the notification instead of showing a second one. A cancelled sender (job timeout, shutdown)
finishes and settles the requests it has in flight before it stops (shielded), so it re-sends nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import BigInteger, String, and_, any_, bindparam, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from engage.platform.clock import epoch_ms, utcnow
from engage.platform.db import dialect_of, insert_for, rows_matched
from engage.platform.events import record
from engage.push import campaigns, links, payloads, preferences, segments
from engage.push.campaigns import HOLDOUT, PENDING, VARIANT_KEYS
from engage.push.delivery import (
    DeliveryOutcome,
    DeliveryResult,
    InvalidSubscription,
    PushMessage,
    PushTarget,
    Urgency,
    backoff_delay,
)
from engage.push.env import PushEnv
from engage.push.events import ALERTS_CHANNEL, CampaignProgress, PushAlert, campaign_channel
from engage.push.models import (
    CampaignStatus,
    CampaignVariant,
    MessageKind,
    MessageStatus,
    NotificationPreferences,
    PushCampaign,
    PushMessageRecord,
    PushSubscription,
)

log = logging.getLogger("engage.push")

M = PushMessageRecord
S = PushSubscription
P = NotificationPreferences
_TOPIC_COLUMNS = [preferences.column(topic) for topic in preferences.TOPICS]
_PREF_COLUMNS = [
    P.owner_key,
    *_TOPIC_COLUMNS,
    P.marketing_unsubscribed,
    P.timezone,
    P.quiet_start_minute,
    P.quiet_end_minute,
]
_DEFAULT_CHOICES = {topic: preferences.DEFAULTS[(topic, "push")] for topic in preferences.TOPICS}
PIPELINE = 2  # a driver's batches out at once


def _is_pg(session: AsyncSession) -> bool:
    return dialect_of(session) == "postgresql"


def _insert(session: AsyncSession) -> Any:
    return insert_for(session)


def _among(session: AsyncSession, column: Any, values: Sequence[Any], kind: Any = BigInteger) -> Any:
    """`column IN values`; on PostgreSQL `= ANY(:array)`: one parameter and one statement text whatever the
    count, so asyncpg prepares it once (an IN list of n parameters is a new statement for every n)."""
    if _is_pg(session):
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(kind)))
    return column.in_(list(values))


# ---- claiming ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Claimed:
    """A message handed to this sender under a lease."""

    id: int
    kind: str
    topic: str
    campaign_id: int | None
    variant: str | None
    owner_key: str
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    ttl: int
    urgency: str
    topic_header: str | None
    content: dict[str, Any] | None
    attempts: int  # including this one
    expires_at: datetime


@dataclass
class _Decisions:
    send: list[Any] = field(default_factory=list)
    skip: list[tuple[Any, str]] = field(default_factory=list)
    expire: list[Any] = field(default_factory=list)
    defer: list[tuple[Any, datetime]] = field(default_factory=list)
    fail: list[tuple[Any, str]] = field(default_factory=list)


def _candidates(where: ColumnElement[bool], limit: int, pg: bool) -> Any:
    query = (
        select(
            M.id,
            M.kind,
            M.topic,
            M.campaign_id,
            M.variant,
            M.owner_key,
            M.subscription_id,
            M.ttl_seconds,
            M.urgency,
            M.topic_header,
            M.content,
            M.attempts,
            M.expires_at,
            M.first_sent_at,
            S.endpoint,
            S.p256dh,
            S.auth,
            S.vapid_key,
        )
        .outerjoin(S, S.id == M.subscription_id)
        .where(where)
        .order_by(M.send_at)
        .limit(limit)
    )
    return query.with_for_update(of=M, skip_locked=True) if pg else query


async def _lock_choices(session: AsyncSession, owners: set[str], *, lock: bool = False) -> dict[str, Any]:
    """The owners' preference rows as they are now. `lock` (the frequency cap applies): locked in key order,
    so two campaigns deciding about one shopper at once take turns and cannot both pass the cap."""
    if not owners:
        return {}
    query = (
        select(*_PREF_COLUMNS)
        .where(_among(session, P.owner_key, sorted(owners), String))
        .order_by(P.owner_key)
    )
    if lock and _is_pg(session):
        query = query.with_for_update()
    return {row.owner_key: row for row in (await session.execute(query)).all()}


def _choices(row: Any, topic: str) -> preferences.Choices:
    if row is None:
        return preferences.Choices(_DEFAULT_CHOICES.get(topic, False), False, None, None, None)
    return preferences.Choices(
        push_on=bool(getattr(row, f"{topic}_push", False)),
        marketing_unsubscribed=bool(row.marketing_unsubscribed),
        timezone=row.timezone,
        quiet_start=row.quiet_start_minute,
        quiet_end=row.quiet_end_minute,
    )


def _decide(env: PushEnv, rows: Sequence[Any], choices: dict[str, Any], now: datetime) -> _Decisions:
    out = _Decisions()
    for row in rows:
        if row.subscription_id is None or row.endpoint is None:
            out.skip.append((row, "the device unsubscribed"))
        elif row.vapid_key != env.public_key:
            out.skip.append((row, "subscribed with an old server key"))
        elif now > row.expires_at:
            out.expire.append(row)
        elif row.attempts >= env.policy.max_attempts:  # its senders kept dying: stop re-sending it
            out.fail.append((row, f"gave up after {row.attempts} attempts (no answer recorded)"))
        elif row.kind == MessageKind.test.value:
            out.send.append(row)  # a marketer's own test: no preferences, no quiet hours
        else:
            choice = _choices(choices.get(row.owner_key), row.topic)
            if not choice.allows(row.topic):
                out.skip.append((row, "preferences: topic off or unsubscribed from marketing"))
                continue
            quiet = None
            if row.topic not in preferences.QUIET_HOURS_EXEMPT:
                quiet = preferences.quiet_until(
                    now, choice.timezone, choice.quiet_start, choice.quiet_end, env.policy.zone
                )
            if quiet is not None:
                out.defer.append((row, quiet))
            else:
                out.send.append(row)
    return out


async def _frequency_capped(
    session: AsyncSession, env: PushEnv, campaign: PushCampaign, rows: list[Any], now: datetime
) -> tuple[list[Any], list[tuple[Any, datetime]], list[tuple[Any, str]]]:
    """Split marketing sends by the cap: (send, wait until, drop)."""
    cap, period = env.policy.frequency_cap, env.policy.frequency_period
    if cap <= 0 or not rows:
        return rows, [], []
    owners = sorted({row.owner_key for row in rows})
    counted = await session.execute(
        select(M.owner_key, func.count(func.distinct(M.campaign_id)), func.min(M.claimed_at))
        .where(
            _among(session, M.owner_key, owners, String),
            M.kind == MessageKind.campaign.value,
            M.claimed_at.isnot(None),
            M.campaign_id != campaign.id,
            M.status.in_([MessageStatus.sending.value, MessageStatus.sent.value]),
            M.claimed_at > now - period,
        )
        .group_by(M.owner_key)
    )
    full = {owner: oldest for owner, n, oldest in counted.all() if n >= cap}
    send, wait, drop = [], [], []
    for row in rows:
        oldest = full.get(row.owner_key)
        if oldest is None:
            send.append(row)
        elif campaign.cap_policy == "drop":
            drop.append((row, f"frequency cap: {cap} marketing pushes per {period}"))
        else:
            wait.append((row, max(oldest + period + timedelta(seconds=1), now + timedelta(seconds=1))))
    return send, wait, drop


async def _apply(
    session: AsyncSession, env: PushEnv, decisions: _Decisions, now: datetime
) -> tuple[list[Claimed], dict[str, Counter[str]]]:
    """Write the decisions; returns what this sender now holds, and figure deltas per variant."""
    lease_until = now + env.policy.lease
    deltas: dict[str, Counter[str]] = defaultdict(Counter)
    if decisions.send:
        await session.execute(
            update(M)
            .where(_among(session, M.id, [row.id for row in decisions.send]))
            .values(
                status=MessageStatus.sending.value,
                lease_until=lease_until,
                claimed_at=now,
                attempts=M.attempts + 1,
                first_sent_at=func.coalesce(M.first_sent_at, now),
            )
            .execution_options(synchronize_session=False)
        )
    per_row: list[dict[str, Any]] = []
    for row, reason in decisions.skip:
        per_row.append(
            {"id": row.id, "status": MessageStatus.skipped.value, "reason": reason[:300], "lease_until": None}
        )
        deltas[row.variant or ""]["skipped"] += 1
    for row, reason in decisions.fail:
        per_row.append(
            {"id": row.id, "status": MessageStatus.failed.value, "reason": reason[:300], "lease_until": None}
        )
        deltas[row.variant or ""]["failed"] += 1
    for row in decisions.expire:
        per_row.append(
            {
                "id": row.id,
                "status": MessageStatus.expired.value,
                "reason": "not sent before it expired",
                "lease_until": None,
            }
        )
        deltas[row.variant or ""]["expired"] += 1
    for row, until in decisions.defer:
        per_row.append(
            {
                "id": row.id,
                "status": MessageStatus.queued.value,
                "send_at": until,
                "expires_at": max(row.expires_at, until + timedelta(seconds=row.ttl_seconds)),
                "lease_until": None,
            }
        )
    await _update_rows(session, per_row)
    claimed = []
    for row in decisions.send:
        if row.first_sent_at is None:
            deltas[row.variant or ""]["sent"] += 1
        claimed.append(
            Claimed(
                id=row.id,
                kind=row.kind,
                topic=row.topic,
                campaign_id=row.campaign_id,
                variant=row.variant,
                owner_key=row.owner_key,
                subscription_id=row.subscription_id,
                endpoint=row.endpoint,
                p256dh=row.p256dh,
                auth=row.auth,
                ttl=row.ttl_seconds,
                urgency=row.urgency,
                topic_header=row.topic_header,
                content=row.content,
                attempts=row.attempts + 1,
                expires_at=row.expires_at,
            )
        )
    return claimed, deltas


async def _update_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key, grouped by the columns each row sets."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append(row)
    for group in groups.values():
        await session.execute(update(M), group)


async def _add_deltas(session: AsyncSession, campaign_id: int, deltas: dict[str, Counter[str]]) -> bool:
    changed = False
    for key, counts in sorted(deltas.items()):
        if any(counts.values()):
            await campaigns.add_figures(session, campaign_id, key or "A", **counts)
            changed = True
    return changed


_last_progress: dict[int, float] = {}
PROGRESS_EVERY = 0.5  # seconds between one process's progress events of a campaign (the hub coalesces too)


def _progress_due(campaign_id: int) -> bool:
    return time.monotonic() - _last_progress.get(campaign_id, 0.0) >= PROGRESS_EVERY


async def _progress(session: AsyncSession, campaign_id: int, status: str, *, force: bool = False) -> None:
    """The campaign's figures as an event on its channel; at most every PROGRESS_EVERY seconds from this
    process unless `force` (a state change, the last figures)."""
    now = time.monotonic()
    if not force and now - _last_progress.get(campaign_id, 0.0) < PROGRESS_EVERY:
        return
    _last_progress[campaign_id] = now
    if len(_last_progress) > 1000:
        _last_progress.clear()
    data = await campaigns.figures(session, campaign_id)
    variants, total = campaigns.figures_struct(data)
    record(
        session,
        CampaignProgress(campaign_id=campaign_id, status=status, variants=variants, total=total),
        [campaign_channel(campaign_id)],
    )


def _due(now: datetime) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return (
        and_(M.status == MessageStatus.queued.value, M.send_at <= now),
        and_(M.status == MessageStatus.sending.value, M.lease_until < now),
    )


async def _claim_rows(
    session: AsyncSession, scope: ColumnElement[bool], limit: int, now: datetime
) -> list[Any]:
    """Due rows in `scope`: leases that ran out first (rare), then queued ones by send time."""
    pg = _is_pg(session)
    queued, stale = _due(now)
    rows = list((await session.execute(_candidates(and_(scope, stale), limit, pg))).all())
    if len(rows) < limit:
        rows += (await session.execute(_candidates(and_(scope, queued), limit - len(rows), pg))).all()
    return rows


# ---- campaigns: the driver's step -------------------------------------------------------------------------


@dataclass
class Step:
    claimed: list[Claimed] = field(default_factory=list)
    wait: float | None = None  # seconds until something may be due
    halted: str | None = None  # the campaign's status when it is not sending
    finished: bool = False


@dataclass
class Audience:
    """What a driver keeps for its run: the compiled segment and the variants' contents."""

    where: ColumnElement[bool]
    contents: dict[str, dict[str, Any]]


def assign(campaign: PushCampaign, owner_key: str, variants: Sequence[str]) -> str:
    """A recipient's group, stable for an owner (all their devices) and a campaign: hold-out, a variant of
    the test (evenly), or the rest (the winner, or `pending` until there is one)."""
    return _assigner(campaign, variants)(owner_key)


def _assigner(campaign: PushCampaign, variants: Sequence[str]) -> Callable[[str], str]:
    prefix = f"{campaign.id}:".encode()
    holdout, test = campaign.holdout_percent * 100, campaign.test_percent * 100
    rest = campaign.winner or PENDING
    count = len(variants)

    def group(owner_key: str) -> str:
        digest = hashlib.blake2b(prefix + owner_key.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest, "big") % 10_000
        if bucket < holdout:
            return HOLDOUT
        if bucket < holdout + test or count == 1:
            return variants[(bucket - holdout) % count]
        return rest

    return group


def pick_winner(figures: list[dict[str, Any]]) -> str:
    """The test variant with the best click rate (clicked / accepted); ties: more clicks, then A before B.
    With nothing accepted yet, A."""
    tested = [f for f in figures if f["key"] in VARIANT_KEYS]
    if not tested:
        return "A"

    def rank(f: dict[str, Any]) -> tuple[float, int, int]:
        rate = f["clicked"] / f["accepted"] if f["accepted"] else -1.0
        return (rate, f["clicked"], -VARIANT_KEYS.index(f["key"]))

    best: str = max(tested, key=rank)["key"]
    return best


async def load_audience(session: AsyncSession, env: PushEnv, campaign: PushCampaign) -> Audience:
    where = await segments.condition(
        session,
        segments.parse(campaign.segment),
        saved_id=campaign.segment_id,
        default_timezone=env.policy.default_timezone,
    )
    rows = await session.scalars(select(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id))
    contents = {
        r.key: {
            "title": r.title,
            "body": r.body,
            "url": r.url,
            "icon": r.icon,
            "image": r.image,
            "actions": r.actions,
        }
        for r in rows
        if r.key in VARIANT_KEYS
    }
    return Audience(where, contents)


async def _draw_page(
    session: AsyncSession, env: PushEnv, campaign: PushCampaign, audience: Audience, now: datetime
) -> bool:
    """Insert the next keyset page of the audience as queued messages (ON CONFLICT DO NOTHING: a row per
    campaign and subscription, whoever draws it), and move the cursor in the same transaction."""
    query = segments.audience(campaign.topic, env.public_key, audience.where)
    if len(audience.contents) == 1 and not campaign.holdout_percent and campaign.schedule_mode != "local":
        return await _draw_page_in_sql(session, env, campaign, query, now)
    page = (await session.execute(query.where(S.id > campaign.draw_cursor).limit(env.policy.draw_page))).all()
    variants = sorted(audience.contents)
    local_at = (
        datetime.fromisoformat(campaign.local_at)
        if campaign.schedule_mode == "local" and campaign.local_at
        else None
    )
    ttl = timedelta(seconds=campaign.ttl_seconds)
    group_of = _assigner(campaign, variants)
    rows = []
    for sub_id, owner_key, user_id, timezone in page:
        group = group_of(owner_key)
        if group == PENDING:
            send_at = campaign.test_ends_at or now
        elif local_at is not None:
            send_at = max(now, preferences.local_moment(local_at, timezone, env.policy.zone))
        else:
            send_at = now
        rows.append(
            {
                "kind": MessageKind.campaign.value,
                "topic": campaign.topic,
                "campaign_id": campaign.id,
                "variant": group,
                "subscription_id": sub_id,
                "owner_key": owner_key,
                "user_id": user_id,
                "ttl_seconds": campaign.ttl_seconds,
                "urgency": campaign.urgency,
                "topic_header": f"c{campaign.id}",
                "status": MessageStatus.held_out.value if group == HOLDOUT else MessageStatus.queued.value,
                "reason": "",
                "send_at": send_at,
                "expires_at": send_at + ttl,
                "attempts": 0,
                "created_at": now,
            }
        )
    if rows:
        inserted = await session.execute(
            _insert(session)(M).on_conflict_do_nothing().returning(M.variant), rows
        )
        drawn = Counter(v for (v,) in inserted.all())
        for key, n in drawn.items():
            await campaigns.add_figures(session, campaign.id, key, drawn=n)
        campaign.draw_cursor = page[-1][0]
    if len(page) < env.policy.draw_page:
        campaign.drawn_all = True
    return bool(rows)


async def _draw_page_in_sql(
    session: AsyncSession, env: PushEnv, campaign: PushCampaign, query: Any, now: datetime
) -> bool:
    """The common case (one variant, no hold-out, one send time): the page's ids, then one
    INSERT ... SELECT over that id range, so no row passes through Python."""
    page = query.with_only_columns(S.id).where(S.id > campaign.draw_cursor).limit(env.policy.draw_page)
    ids = list(await session.scalars(page))
    if len(ids) < env.policy.draw_page:
        campaign.drawn_all = True
    if not ids:
        return False
    columns = {
        "kind": literal(MessageKind.campaign.value, type_=M.kind.type),
        "topic": literal(campaign.topic, type_=M.topic.type),
        "campaign_id": literal(campaign.id, type_=M.campaign_id.type),
        "variant": literal("A", type_=M.variant.type),
        "subscription_id": S.id,
        "owner_key": S.owner_key,
        "user_id": S.user_id,
        "ttl_seconds": literal(campaign.ttl_seconds, type_=M.ttl_seconds.type),
        "urgency": literal(campaign.urgency, type_=M.urgency.type),
        "topic_header": literal(f"c{campaign.id}", type_=M.topic_header.type),
        "status": literal(MessageStatus.queued.value, type_=M.status.type),
        "reason": literal("", type_=M.reason.type),
        "send_at": literal(now, type_=M.send_at.type),
        "expires_at": literal(now + timedelta(seconds=campaign.ttl_seconds), type_=M.expires_at.type),
        "attempts": literal(0, type_=M.attempts.type),
        "created_at": literal(now, type_=M.created_at.type),
    }
    rows = query.with_only_columns(*columns.values()).where(S.id > campaign.draw_cursor, S.id <= ids[-1])
    inserted = await session.execute(
        _insert(session)(M).from_select(list(columns), rows).on_conflict_do_nothing().returning(M.id)
    )
    drawn = len(inserted.all())
    if drawn:
        await campaigns.add_figures(session, campaign.id, "A", drawn=drawn)
    campaign.draw_cursor = ids[-1]
    return True


async def _choose_winner(session: AsyncSession, campaign: PushCampaign, now: datetime) -> None:
    data = await campaigns.figures(session, campaign.id)
    winner = pick_winner(data["variants"])
    campaign.winner = winner
    moved = await session.execute(
        update(M)
        .where(M.campaign_id == campaign.id, M.variant == PENDING)
        .values(variant=winner)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(M)
        .where(
            M.campaign_id == campaign.id,
            M.variant == winner,
            M.status == MessageStatus.queued.value,
            M.send_at > now,
        )
        .values(send_at=now, expires_at=now + timedelta(seconds=campaign.ttl_seconds))
        .execution_options(synchronize_session=False)
    )
    pending = next((f for f in data["variants"] if f["key"] == PENDING), None)
    if pending is not None and pending["drawn"]:
        await campaigns.add_figures(session, campaign.id, winner, drawn=pending["drawn"])
        await campaigns.add_figures(session, campaign.id, PENDING, drawn=-pending["drawn"])
    rates = ", ".join(
        f"{f['key']} {f['click_rate']:.1%}" for f in data["variants"] if f["key"] in VARIANT_KEYS
    )
    campaigns.note(
        session, campaign, "system", f"A/B winner {winner} ({rates}); {rows_matched(moved)} waiting get it"
    )


async def advance(
    session: AsyncSession,
    env: PushEnv,
    campaign_id: int,
    audience: Audience | None,
    *,
    token: str | None = None,
    now: datetime | None = None,
) -> Step:
    """One step of a campaign in one transaction: start it if due, pick the A/B winner when the test
    window ended, draw an audience page, claim a batch (throttled, capped, per-message checks). Commits."""
    now = now or utcnow()
    campaign = await session.get(PushCampaign, campaign_id, with_for_update=True, populate_existing=True)
    if campaign is None:
        await session.commit()
        return Step(halted="gone")
    if token is not None:
        if (
            campaign.driver_token not in (None, token)
            and campaign.driver_until is not None
            and campaign.driver_until > now
        ):
            await session.commit()
            return Step(halted="another driver")
        campaign.driver_token, campaign.driver_until = token, now + env.policy.lease
    if campaign.status == CampaignStatus.scheduled.value:
        if campaign.scheduled_at is not None and campaign.scheduled_at > now:
            await session.commit()
            return Step(wait=(campaign.scheduled_at - now).total_seconds())
        campaigns.start_sending(campaign, now)
        campaigns.move(session, campaign, CampaignStatus.sending, "system", "started")
    if campaign.status != CampaignStatus.sending.value:
        await session.commit()
        return Step(halted=campaign.status)
    if audience is None:
        audience = await load_audience(session, env, campaign)
    if campaign.winner is None and campaign.test_ends_at is not None and now >= campaign.test_ends_at:
        if PENDING in {
            v.key
            for v in await session.scalars(
                select(CampaignVariant).where(CampaignVariant.campaign_id == campaign.id)
            )
        }:
            await _choose_winner(session, campaign, now)
    drew = False
    if not campaign.drawn_all:
        drew = await _draw_page(session, env, campaign, audience, now)

    rate = campaign.rate_per_minute or env.policy.rate_per_minute
    limit = env.policy.batch_size
    if rate:
        if campaign.pace_at is not None and campaign.pace_at > now:
            if drew:
                await _progress(session, campaign.id, campaign.status)
            await session.commit()
            return Step(wait=(campaign.pace_at - now).total_seconds())
        limit = min(limit, max(1, math.ceil(rate * 2 / 60)))  # about two seconds' worth per step
    scope = and_(M.campaign_id == campaign.id, or_(M.variant != PENDING, M.variant.is_(None)))
    rows = await _claim_rows(session, scope, limit, now)
    capped = env.policy.frequency_cap > 0 and campaign.topic in preferences.MARKETING
    choices = await _lock_choices(session, {row.owner_key for row in rows}, lock=capped)
    decisions = _decide(env, rows, choices, now)
    send, wait, drop = await _frequency_capped(session, env, campaign, decisions.send, now)
    decisions.send = send
    if campaign.cap_policy == "drop":
        decisions.skip += drop
    decisions.defer += wait
    claimed, deltas = await _apply(session, env, decisions, now)
    if rate and claimed:
        campaign.pace_at = now + timedelta(seconds=len(claimed) * 60 / rate)
    changed = await _add_deltas(session, campaign.id, deltas) or drew
    step = Step(claimed=claimed)
    if not rows:
        busy = await session.execute(
            select(M.status, func.min(func.coalesce(M.lease_until, M.send_at)))
            .where(
                M.campaign_id == campaign.id,
                M.status.in_([MessageStatus.queued.value, MessageStatus.sending.value]),
            )
            .group_by(M.status)
        )
        waiting = dict(busy.all())
        if campaign.drawn_all and not waiting:
            campaign.finished_at = now
            campaign.driver_token = campaign.driver_until = None
            campaigns.move(session, campaign, CampaignStatus.sent, "system", "every message settled")
            step.finished = True
            await _progress(session, campaign.id, campaign.status, force=True)
        elif not campaign.drawn_all:
            step.wait = 0.0
        else:
            waits = []
            if MessageStatus.queued.value in waiting:  # due but locked by another claim: look again shortly
                waits.append((waiting[MessageStatus.queued.value] - now).total_seconds())
            if (
                MessageStatus.sending.value in waiting
            ):  # out with a sender: it settles soon, or its lease ends
                waits.append(min((waiting[MessageStatus.sending.value] - now).total_seconds(), 1.0))
            step.wait = min(max(0.05, min(waits)), 3600.0)
    if changed or claimed:
        await _progress(session, campaign.id, campaign.status)
    await session.commit()
    step.claimed = claimed
    return step


# ---- delivering and settling ------------------------------------------------------------------------------


@dataclass
class Settled:
    accepted: int = 0
    retry_at: datetime | None = None  # the earliest retry scheduled
    stopped: bool = False  # a campaign stopped: our VAPID key was refused

    def merge(self, other: Settled) -> None:
        self.accepted += other.accepted
        self.stopped = self.stopped or other.stopped
        if other.retry_at is not None and (self.retry_at is None or other.retry_at < self.retry_at):
            self.retry_at = other.retry_at


def _payload(env: PushEnv, claimed: Claimed, contents: dict[str, dict[str, Any]] | None) -> bytes:
    if claimed.kind == MessageKind.campaign.value:
        content = (contents or {}).get(claimed.variant or "A") or (contents or {}).get("A") or {}
        tag = f"campaign-{claimed.campaign_id}"
        campaign_ref: dict[str, Any] | None = {"id": claimed.campaign_id, "variant": claimed.variant}
    else:
        content = claimed.content or {}
        tag = content.get("tag") or f"{claimed.topic}-{claimed.id}"
        campaign_ref = (
            {"id": claimed.campaign_id, "variant": claimed.variant} if claimed.campaign_id else None
        )
    marketing = claimed.topic in preferences.MARKETING or claimed.kind == MessageKind.campaign.value
    return payloads.build(
        message_id=claimed.id,
        kind=claimed.kind if claimed.kind != MessageKind.transactional.value else claimed.topic,
        title=content.get("title", ""),
        body=content.get("body", ""),
        url=content.get("url", "/"),
        icon=content.get("icon", ""),
        image=content.get("image", ""),
        actions=content.get("actions") or [],
        tag=tag,
        renotify=bool(content.get("renotify", False)),
        click_token=links.click_token(env, claimed.id),
        public_url=env.policy.public_url,
        preferences_url=links.preferences_link(env, claimed.owner_key) if marketing else None,
        campaign=campaign_ref,
    )


async def _send_one(
    env: PushEnv, claimed: Claimed, contents: dict[str, dict[str, Any]] | None
) -> tuple[Claimed, DeliveryResult]:
    try:
        target = PushTarget(endpoint=claimed.endpoint, p256dh=claimed.p256dh, auth=claimed.auth)
        message = PushMessage(
            _payload(env, claimed, contents),
            ttl=claimed.ttl,
            urgency=cast("Urgency", claimed.urgency),  # checked by PushMessage
            topic=claimed.topic_header,
        )
    except (InvalidSubscription, ValueError) as exc:
        return claimed, DeliveryResult(DeliveryOutcome.REJECTED, None, f"cannot build: {exc}"[:300])
    return claimed, await env.sender.send(target, message)


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    env: PushEnv,
    claimed: list[Claimed],
    contents: dict[str, dict[str, Any]] | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    senders: int | None = None,
) -> Settled:
    """Send what was claimed with `senders` requests in flight (default ENGAGE_PUSH_CONCURRENCY), settling
    every `flush_every` outcomes while the rest are still out. A fixed set of sending loops over the batch,
    not a task per message."""
    summary, done = Settled(), []
    queue = iter(claimed)

    async def flush(outcomes: list[tuple[Claimed, DeliveryResult]]) -> None:
        async with sessionmaker() as session:
            summary.merge(await settle(session, env, outcomes, clock()))

    async def sending() -> None:
        nonlocal done
        for item in queue:
            outcome = await _send_one(env, item, contents)
            done.append(outcome)  # not `done.append(await ...)`: that binds the list before the await
            if len(done) >= env.policy.flush_every:
                batch, done = done, []
                await flush(batch)

    count = max(1, min(len(claimed), senders or env.policy.concurrency))
    loops = [asyncio.ensure_future(sending()) for _ in range(count)]
    try:
        await asyncio.gather(*loops)
        if done:
            batch, done = done, []
            await flush(batch)
    finally:
        for loop in loops:
            loop.cancel()
    return summary


async def settle(
    session: AsyncSession, env: PushEnv, outcomes: list[tuple[Claimed, DeliveryResult]], now: datetime
) -> Settled:
    """Write what the push service answered, in one transaction (commits)."""
    summary = Settled()
    campaign_ids = sorted(
        {  # campaign messages only: a test message of a campaign is not part of its figures
            c.campaign_id
            for c, _ in outcomes
            if c.campaign_id is not None and c.kind == MessageKind.campaign.value
        }
    )
    # The campaign row is locked only when it may change (our key refused: the campaign stops), and then
    # first, as the claim takes it: a settle that never waits for the claim's lock keeps batches flowing
    # (a claim holds it for its whole transaction). Otherwise its status is read as it is.
    stopping = any(r.outcome is DeliveryOutcome.UNAUTHORIZED for _, r in outcomes)
    retrying = any(r.outcome is DeliveryOutcome.RETRY for _, r in outcomes)
    statuses: dict[int, PushCampaign] = {}
    # the rows are needed to stop a campaign, to see whether one was cancelled (retries), and for the
    # status in a progress event: all-accepted batches between events skip the read
    wanted = campaign_ids if (stopping or retrying) else [c for c in campaign_ids if _progress_due(c)]
    for campaign_id in wanted:
        campaign = await session.get(
            PushCampaign, campaign_id, with_for_update=stopping, populate_existing=True
        )
        if campaign is not None:
            statuses[campaign_id] = campaign
    accepted: list[int] = []
    gone: list[int] = []
    rows: list[dict[str, Any]] = []
    deltas: dict[int, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    unauthorized: dict[int | None, str] = {}
    for claimed, result in outcomes:
        key = claimed.variant or ""
        counts = deltas[claimed.campaign_id or 0][key]
        outcome = result.outcome
        campaign = (
            statuses.get(claimed.campaign_id or 0) if claimed.kind == MessageKind.campaign.value else None
        )
        if outcome is DeliveryOutcome.ACCEPTED:
            accepted.append(claimed.id)
            counts["accepted"] += 1
        elif outcome is DeliveryOutcome.GONE:
            gone.append(claimed.subscription_id)
            rows.append(_final(claimed.id, MessageStatus.failed, f"gone: {result.reason}"))
            counts["failed"] += 1
        elif outcome is DeliveryOutcome.RETRY:
            retry_at = now + timedelta(seconds=backoff_delay(claimed.attempts, result.retry_after_seconds))
            if claimed.attempts >= env.policy.max_attempts:
                rows.append(
                    _final(
                        claimed.id,
                        MessageStatus.failed,
                        f"gave up after {claimed.attempts} attempts: {result.reason}",
                    )
                )
                counts["failed"] += 1
            elif retry_at > claimed.expires_at:
                rows.append(
                    _final(
                        claimed.id, MessageStatus.expired, f"not accepted before it expired: {result.reason}"
                    )
                )
                counts["expired"] += 1
            elif campaign is not None and campaign.status == CampaignStatus.cancelled.value:
                rows.append(_final(claimed.id, MessageStatus.cancelled, "campaign cancelled"))
                counts["cancelled"] += 1
            else:
                rows.append(
                    {
                        "id": claimed.id,
                        "status": MessageStatus.queued.value,
                        "send_at": retry_at,
                        "lease_until": None,
                        "reason": result.reason[:300],
                    }
                )
                summary.merge(Settled(retry_at=retry_at))
        elif outcome is DeliveryOutcome.UNAUTHORIZED:
            unauthorized[claimed.campaign_id if campaign is not None else None] = result.reason
            if campaign is not None and campaign.status != CampaignStatus.cancelled.value:
                # back in the queue: it goes when the keys are fixed and the campaign resumed
                rows.append(
                    {
                        "id": claimed.id,
                        "status": MessageStatus.queued.value,
                        "send_at": now,
                        "lease_until": None,
                        "reason": result.reason[:300],
                    }
                )
            else:
                rows.append(_final(claimed.id, MessageStatus.failed, f"unauthorized: {result.reason}"))
                counts["failed"] += 1
        else:
            rows.append(_final(claimed.id, MessageStatus.failed, result.reason or "rejected"))
            counts["failed"] += 1
    if accepted:
        await session.execute(
            update(M)
            .where(_among(session, M.id, accepted))
            .values(status=MessageStatus.sent.value, sent_at=now, lease_until=None, reason="")
            .execution_options(synchronize_session=False)
        )
    await _update_rows(session, rows)
    if gone:
        await session.execute(
            delete(S).where(S.id.in_(sorted(set(gone)))).execution_options(synchronize_session=False)
        )
    for campaign_id, per_variant in deltas.items():
        if campaign_id in campaign_ids:
            await _add_deltas(session, campaign_id, per_variant)
    for refused_id, reason in unauthorized.items():
        await _alert(session, refused_id, reason, statuses.get(refused_id or 0), now)
        summary.stopped = summary.stopped or refused_id is not None
    for campaign_id, campaign in statuses.items():
        await _progress(session, campaign_id, campaign.status)
    await session.commit()
    summary.accepted = len(accepted)
    return summary


def _final(message_id: int, status: MessageStatus, reason: str) -> dict[str, Any]:
    return {"id": message_id, "status": status.value, "reason": reason[:300], "lease_until": None}


async def _alert(
    session: AsyncSession, campaign_id: int | None, reason: str, campaign: PushCampaign | None, now: datetime
) -> None:
    """The push service refused our VAPID key: stop the campaign, tell staff (log + `push-alerts`)."""
    if campaign is not None and campaign.status == CampaignStatus.sending.value:
        campaign.stop_reason = f"the push service refused our VAPID key: {reason}"[:300]
        campaigns.move(session, campaign, CampaignStatus.stopped, "system", campaign.stop_reason)
    message = (
        f"campaign #{campaign_id} stopped: the push service refused our VAPID key ({reason}); "
        "check ENGAGE_VAPID_PRIVATE_KEY / ENGAGE_VAPID_SUBJECT, then resume it"
        if campaign_id is not None
        else f"a push was refused: our VAPID key was not accepted ({reason}); check ENGAGE_VAPID_PRIVATE_KEY"
    )
    log.error("push unauthorized: %s", message)
    record(
        session,
        PushAlert(kind="unauthorized", message=message[:500], campaign_id=campaign_id, at=now.isoformat()),
        [ALERTS_CHANNEL],
    )


# ---- the campaign driver ----------------------------------------------------------------------------------


async def drive(
    sessionmaker: async_sessionmaker[AsyncSession],
    env: PushEnv,
    campaign_id: int,
    *,
    budget_seconds: float = 25.0,
    clock: Callable[[], datetime] = utcnow,
) -> float | None:
    """Send a campaign for up to `budget_seconds`. Returns the seconds after which it should be driven
    again (a successor job), or None when nothing is left to do (sent, paused, cancelled, stopped, or
    another driver holds it). One driver holds a campaign at a time (a lease on its row); the claims below
    it are safe with any number of senders anyway."""
    token = uuid.uuid4().hex
    try:
        again, holder = await _drive(sessionmaker, env, campaign_id, token, budget_seconds, clock)
    except BaseException:
        # cancelled or failed: give the campaign back at once so a successor need not wait for the lease
        await asyncio.shield(_release(sessionmaker, campaign_id, token, 0.0, clock()))
        raise
    if not holder:
        return None
    return await _release(sessionmaker, campaign_id, token, again, clock())


async def _drive(
    sessionmaker: async_sessionmaker[AsyncSession],
    env: PushEnv,
    campaign_id: int,
    token: str,
    budget_seconds: float,
    clock: Callable[[], datetime],
) -> tuple[float | None, bool]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget_seconds
    async with sessionmaker() as session:
        campaign = await session.get(PushCampaign, campaign_id)
        if campaign is None:
            return None, False
        audience = await load_audience(session, env, campaign)
        await session.commit()
    # two batches out at once: the next claim runs while the last batch's requests are out (sharing the
    # limit on requests in flight), so the database and the network overlap
    senders = max(1, env.policy.concurrency // PIPELINE)  # requests in flight: the concurrency, in all
    out: deque[asyncio.Future[Settled]] = deque()

    async def settle_oldest() -> None:
        await asyncio.shield(out.popleft())  # a cancelled driver lets its requests finish and settle

    try:
        while True:
            async with sessionmaker() as session:
                step = await advance(session, env, campaign_id, audience, token=token, now=clock())
            if step.halted == "another driver":
                return None, False
            if step.halted is not None or step.finished:
                return None, True
            if step.claimed:
                out.append(
                    asyncio.ensure_future(
                        deliver(
                            sessionmaker, env, step.claimed, audience.contents, clock=clock, senders=senders
                        )
                    )
                )
                if len(out) >= PIPELINE:
                    await settle_oldest()
                if loop.time() >= deadline:
                    return 0.0, True
                continue
            if out:  # nothing due now: what is out may free rows or finish the campaign
                while out:
                    await settle_oldest()
                continue
            wait = step.wait if step.wait is not None else 0.0
            if wait <= min(2.0, deadline - loop.time()):
                await asyncio.sleep(wait)
                continue
            return wait, True
    finally:
        while out:
            await settle_oldest()


async def _release(
    sessionmaker: async_sessionmaker[AsyncSession],
    campaign_id: int,
    token: str,
    again: float | None,
    now: datetime,
) -> float | None:
    """Give the campaign back; if it is live (resumed meanwhile, or waiting), say when to drive it next."""
    async with sessionmaker() as session:
        campaign = await session.get(PushCampaign, campaign_id, with_for_update=True, populate_existing=True)
        if campaign is None:
            return None
        if campaign.driver_token == token:
            campaign.driver_token = campaign.driver_until = None
        if campaign.status not in campaigns.LIVE:
            campaign.wake_at = None
            again = None
        else:
            if again is None:
                again = 0.0
            if campaign.status == CampaignStatus.scheduled.value and campaign.scheduled_at is not None:
                again = max(again, (campaign.scheduled_at - now).total_seconds())
            campaign.wake_at = now + timedelta(seconds=again)
        await session.commit()
        return again


# ---- transactional and test messages ----------------------------------------------------------------------


async def claim_messages(
    session: AsyncSession,
    env: PushEnv,
    ids: Sequence[int] | None = None,
    *,
    limit: int | None = None,
    now: datetime | None = None,
) -> list[Claimed]:
    """Claim due non-campaign messages (these `ids`, or any); commits."""
    now = now or utcnow()
    scope = M.kind != MessageKind.campaign.value
    if ids is not None:
        scope = and_(scope, M.id.in_(list(ids)))
    rows = await _claim_rows(session, scope, limit or env.policy.batch_size, now)
    choices = await _lock_choices(
        session, {row.owner_key for row in rows if row.kind != MessageKind.test.value}
    )
    claimed, _ = await _apply(session, env, _decide(env, rows, choices, now), now)
    await session.commit()
    return claimed


async def next_due(session: AsyncSession, ids: Sequence[int]) -> datetime | None:
    """When the earliest of these messages still waiting may go (None: all settled)."""
    return await session.scalar(
        select(func.min(func.coalesce(M.lease_until, M.send_at))).where(
            M.id.in_(list(ids)), M.status.in_([MessageStatus.queued.value, MessageStatus.sending.value])
        )
    )


async def send_messages(
    sessionmaker: async_sessionmaker[AsyncSession],
    env: PushEnv,
    ids: Sequence[int] | None = None,
    *,
    limit: int | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> datetime | None:
    """Claim, deliver and settle due transactional/test messages; returns when the rest of `ids` are due."""
    async with sessionmaker() as session:
        claimed = await claim_messages(session, env, ids, limit=limit, now=clock())
    if claimed:
        await asyncio.shield(asyncio.ensure_future(deliver(sessionmaker, env, claimed, clock=clock)))
    if ids is None:
        return None
    async with sessionmaker() as session:
        return await next_due(session, ids)


async def send_all_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    env: PushEnv,
    ids: Sequence[int],
    *,
    clock: Callable[[], datetime] = utcnow,
) -> datetime | None:
    """`send_messages` a batch after another while some of `ids` are due (a bounded number of times); when
    the rest are due (None: all settled)."""
    later: datetime | None = None
    for _ in range(len(ids) // max(1, env.policy.batch_size) + 2):
        later = await send_messages(sessionmaker, env, ids, clock=clock)
        if later is None or later > clock():
            break
    return later


async def stalled(
    session: AsyncSession, now: datetime, grace: timedelta = timedelta(seconds=30)
) -> tuple[list[int], list[int]]:
    """(campaigns that should be driven and are not: sending with no live driver and no wake-up coming,
    or scheduled and due), (transactional/test messages due for a while: their job was lost)."""
    live = await session.scalars(
        select(PushCampaign.id).where(
            or_(
                and_(
                    PushCampaign.status == CampaignStatus.sending.value,
                    or_(PushCampaign.driver_until.is_(None), PushCampaign.driver_until < now),
                    or_(PushCampaign.wake_at.is_(None), PushCampaign.wake_at < now - grace),
                ),
                and_(
                    PushCampaign.status == CampaignStatus.scheduled.value,
                    PushCampaign.scheduled_at <= now + grace,
                    or_(PushCampaign.wake_at.is_(None), PushCampaign.wake_at < now - grace),
                ),
            )
        )
    )
    queued, stale = _due(now - grace)
    messages = await session.scalars(
        select(M.id)
        .where(M.kind != MessageKind.campaign.value, or_(queued, stale))
        .order_by(M.send_at)
        .limit(1000)
    )
    return list(live), list(messages)


def successor_job_id(queue: str, campaign_id: int, at: datetime) -> str:
    return f"{queue}:push-campaign:{campaign_id}:{epoch_ms(at)}"
