"""Marketing campaigns: compose, target, schedule, and the states a campaign goes through.

    draft --schedule--> scheduled --(its time)--> sending --(every message settled)--> sent
    draft/scheduled --send--> sending          scheduled/sending --pause--> paused --resume--> (back)
    sending --(push service refuses our VAPID key)--> stopped --resume--> sending
    anything but sent --cancel--> cancelled (queued messages never leave; in-flight ones settle)

Every change is a `push_campaign_history` row (from, to, who, when, note) and a `push.campaign_state`
event on `campaign:{id}`; a sink starts the sender (engage.push.sending) on `sending` and `scheduled`.
Sending again a campaign that is sending or sent changes nothing (idempotent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.platform import changes
from engage.platform.clock import utcnow
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.events import record
from engage.platform.identity import Identity
from engage.push import payloads, segments
from engage.push.env import PushEnv
from engage.push.events import CampaignStateChanged, Figures, campaign_channel
from engage.push.models import (
    CampaignHistory,
    CampaignStatus,
    CampaignVariant,
    MessageStatus,
    PushCampaign,
    PushMessageRecord,
    Topic,
)

VARIANT_KEYS = ("A", "B", "C", "D")
HOLDOUT = "holdout"
PENDING = "pending"  # recipients waiting for the A/B test's winner
MIN_TTL, MAX_TTL = 60, 28 * 86400  # FCM keeps messages at most 4 weeks
MAX_SCHEDULE_AHEAD = timedelta(days=366)
EARLIEST_OFFSET, LATEST_OFFSET = timedelta(hours=14), timedelta(hours=12)  # UTC+14 .. UTC-12
URGENCIES = ("very-low", "low", "normal", "high")  # RFC 8030
_ACTION_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
LIVE = (CampaignStatus.scheduled.value, CampaignStatus.sending.value)


@dataclass
class Action:
    action: str  # the id the service worker gets in `notificationclick` (event.action)
    title: str
    url: str = ""  # where this button goes (default: the notification's url)


@dataclass
class Content:
    title: str
    body: str = ""
    url: str = "/"
    icon: str = ""
    image: str = ""
    actions: list[Action] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "icon": self.icon,
            "image": self.image,
            "actions": [{"action": a.action, "title": a.title, "url": a.url} for a in self.actions],
        }


@dataclass
class Draft:
    """What a marketer composes. `content` is variant A; `variants` add B, C, D for an A/B test."""

    name: str
    content: Content
    variants: list[Content] = field(default_factory=list)
    segment: segments.Segment | None = None
    segment_id: int | None = None
    ttl_seconds: int = 24 * 3600
    urgency: str = "normal"
    rate_per_minute: int | None = None
    cap_policy: str = "wait"
    holdout_percent: int = 0
    test_percent: int | None = None  # of the whole audience; None: everyone not held out is in the test
    test_window_minutes: int = 0


@dataclass(frozen=True)
class Schedule:
    mode: str  # "now", "at", "local"
    at: datetime | None = None  # UTC, for "at"
    local_at: datetime | None = None  # naive wall-clock time, for "local"


def actor_of(identity: Identity | None) -> str:
    return f"user:{identity.user_id}" if identity is not None and identity.user_id is not None else "system"


# ---- composing ------------------------------------------------------------------------------------------


def _check_content(content: Content, env: PushEnv, label: str) -> dict[str, Any]:
    title, body = content.title.strip(), content.body.strip()
    if not title or len(title) > payloads.MAX_TITLE:
        raise InvalidInput(
            f"{label}title is 1 to {payloads.MAX_TITLE} characters", code="bad_content", field="title"
        )
    if len(body) > payloads.MAX_BODY:
        raise InvalidInput(
            f"{label}body is at most {payloads.MAX_BODY} characters", code="bad_content", field="body"
        )
    if len(content.actions) > payloads.MAX_ACTIONS:
        raise InvalidInput(
            f"{label}at most {payloads.MAX_ACTIONS} action buttons", code="bad_content", field="actions"
        )
    actions = []
    for action in content.actions:
        if (
            not _ACTION_ID.fullmatch(action.action)
            or not 1 <= len(action.title.strip()) <= payloads.MAX_ACTION_TITLE
        ):
            raise InvalidInput(
                f"{label}an action has an id (letters, digits, - _; 32 at most) and a title of 1 to "
                f"{payloads.MAX_ACTION_TITLE} characters",
                code="bad_content",
                field="actions",
            )
        actions.append(
            {
                "action": action.action,
                "title": action.title.strip(),
                "url": payloads.check_url(action.url, "actions.url"),
            }
        )
    if len({a["action"] for a in actions}) != len(actions):
        raise InvalidInput(f"{label}action ids differ", code="bad_content", field="actions")
    checked = {
        "title": title,
        "body": body,
        "url": payloads.check_url(content.url or "/", "url") or "/",
        "icon": payloads.check_url(content.icon, "icon"),
        "image": payloads.check_url(content.image, "image"),
        "actions": actions,
    }
    size = payloads.worst_case_size(checked, env.policy.public_url)
    if size > payloads.MAX_BYTES:
        raise InvalidInput(
            f"{label}the notification would be {size} bytes; a push carries at most {payloads.MAX_BYTES}: shorten it",
            code="payload_too_large",
            field="body",
        )
    return checked


@dataclass(frozen=True)
class _Checked:
    contents: list[dict[str, Any]]
    holdout: int
    test: int
    window_seconds: int

    @property
    def has_rest(self) -> bool:
        """Some of the audience waits for the winner of the test."""
        return len(self.contents) > 1 and self.holdout + self.test < 100


def _check_draft(draft: Draft, env: PushEnv) -> _Checked:
    if not 1 <= len(draft.name.strip()) <= 200:
        raise InvalidInput("name is 1 to 200 characters", code="bad_campaign", field="name")
    if len(draft.variants) > len(VARIANT_KEYS) - 1:
        raise InvalidInput("at most four variants (A-D)", code="bad_campaign", field="variants")
    contents = [
        _check_content(c, env, f"variant {VARIANT_KEYS[n]}: " if draft.variants else "")
        for n, c in enumerate([draft.content, *draft.variants])
    ]
    if not MIN_TTL <= draft.ttl_seconds <= MAX_TTL:
        raise InvalidInput(f"ttl_seconds is {MIN_TTL} to {MAX_TTL}", code="bad_campaign", field="ttl_seconds")
    if draft.urgency not in URGENCIES:
        raise InvalidInput("urgency is very-low, low, normal or high", code="bad_campaign", field="urgency")
    if draft.rate_per_minute is not None and not 1 <= draft.rate_per_minute <= 1_000_000:
        raise InvalidInput(
            "rate_per_minute is 1 to 1,000,000 (or null: the default)",
            code="bad_campaign",
            field="rate_per_minute",
        )
    if draft.cap_policy not in ("wait", "drop"):
        raise InvalidInput("cap_policy is wait or drop", code="bad_campaign", field="cap_policy")
    if not 0 <= draft.holdout_percent <= 50:
        raise InvalidInput("holdout_percent is 0 to 50", code="bad_campaign", field="holdout_percent")
    test = 100 - draft.holdout_percent if draft.test_percent is None else draft.test_percent
    if not 1 <= test <= 100 - draft.holdout_percent:
        raise InvalidInput(
            "test_percent is 1 to 100 minus the hold-out", code="bad_campaign", field="test_percent"
        )
    if len(contents) == 1:
        test = 100 - draft.holdout_percent  # no test: everyone not held out gets A
    checked = _Checked(contents, draft.holdout_percent, test, draft.test_window_minutes * 60)
    if checked.has_rest and not 1 <= draft.test_window_minutes <= 7 * 24 * 60:
        raise InvalidInput(
            "an A/B test with recipients waiting for the winner needs test_window_minutes (1 to 10080)",
            code="bad_campaign",
            field="test_window_minutes",
        )
    return checked


async def _check_audience(session: AsyncSession, draft: Draft, env: PushEnv) -> None:
    if draft.segment_id is not None:
        await segments.get_saved(session, draft.segment_id)
    await segments.condition(
        session,
        draft.segment or segments.Segment(),
        saved_id=draft.segment_id,
        default_timezone=env.policy.default_timezone,
    )


def _variant_rows(campaign_id: int, checked: _Checked) -> list[CampaignVariant]:
    rows = [
        CampaignVariant(campaign_id=campaign_id, key=VARIANT_KEYS[n], **c)
        for n, c in enumerate(checked.contents)
    ]
    if checked.holdout:
        rows.append(CampaignVariant(campaign_id=campaign_id, key=HOLDOUT, actions=[]))
    if checked.has_rest:
        rows.append(CampaignVariant(campaign_id=campaign_id, key=PENDING, actions=[]))
    return rows


def _apply(campaign: PushCampaign, draft: Draft, checked: _Checked) -> None:
    campaign.name = draft.name.strip()
    campaign.topic = Topic.offers.value
    campaign.segment = segments.to_data(draft.segment) if draft.segment is not None else None
    campaign.segment_id = draft.segment_id
    campaign.ttl_seconds = draft.ttl_seconds
    campaign.urgency = draft.urgency
    campaign.rate_per_minute = draft.rate_per_minute
    campaign.cap_policy = draft.cap_policy
    campaign.holdout_percent = checked.holdout
    campaign.test_percent = checked.test
    campaign.test_window_seconds = checked.window_seconds


async def create(session: AsyncSession, env: PushEnv, actor: Identity, draft: Draft) -> PushCampaign:
    checked = _check_draft(draft, env)
    await _check_audience(session, draft, env)
    campaign = PushCampaign(created_by=actor.user_id)
    _apply(campaign, draft, checked)
    session.add(campaign)
    await session.flush()
    session.add_all(_variant_rows(campaign.id, checked))
    _history(session, campaign, None, CampaignStatus.draft.value, actor_of(actor), "created")
    await session.commit()
    return campaign


async def edit(session: AsyncSession, env: PushEnv, campaign_id: int, draft: Draft) -> PushCampaign:
    """Replace a draft's composition and audience; 409 once it is scheduled or beyond."""
    checked = _check_draft(draft, env)
    campaign = await _locked(session, campaign_id)
    if campaign.status != CampaignStatus.draft.value:
        raise Conflict(f"campaign #{campaign_id} is {campaign.status}: only drafts change", code="not_draft")
    await _check_audience(session, draft, env)
    _apply(campaign, draft, checked)
    for row in await session.scalars(
        select(CampaignVariant).where(CampaignVariant.campaign_id == campaign_id)
    ):
        await session.delete(row)
    await session.flush()
    session.add_all(_variant_rows(campaign_id, checked))
    campaign.updated_at = utcnow()
    await session.commit()
    return campaign


# ---- states ---------------------------------------------------------------------------------------------


async def _locked(session: AsyncSession, campaign_id: int) -> PushCampaign:
    campaign = await session.get(PushCampaign, campaign_id, with_for_update=True, populate_existing=True)
    if campaign is None:
        raise NotFound(f"no campaign #{campaign_id}", code="campaign_not_found")
    changes.before(  # locked to be changed: what it was, for the audit trail
        "campaign",
        campaign.id,
        {"name": campaign.name, "status": campaign.status, "scheduled_at": campaign.scheduled_at},
    )
    return campaign


def _history(
    session: AsyncSession, campaign: PushCampaign, before: str | None, after: str, actor: str, note: str
) -> None:
    now = utcnow()
    session.add(
        CampaignHistory(
            campaign_id=campaign.id, from_status=before, to_status=after, actor=actor, note=note[:300], at=now
        )
    )
    record(
        session,
        CampaignStateChanged(
            campaign_id=campaign.id,
            from_status=before,
            to_status=after,
            actor=actor,
            note=note[:300],
            at=now.isoformat(),
        ),
        [campaign_channel(campaign.id)],
    )


def note(session: AsyncSession, campaign: PushCampaign, actor: str, text: str) -> None:
    """A history entry without a status change (the A/B winner)."""
    _history(session, campaign, campaign.status, campaign.status, actor, text)


def move(
    session: AsyncSession, campaign: PushCampaign, to: CampaignStatus, actor: str, note: str = ""
) -> None:
    """Change the status (the row is locked by the caller), with its history row and event."""
    before = campaign.status
    campaign.status = to.value
    campaign.updated_at = utcnow()
    _history(session, campaign, before, to.value, actor, note)


def start_sending(campaign: PushCampaign, now: datetime) -> None:
    """First entry into `sending`: the clock of the A/B test starts."""
    if campaign.started_at is None:
        campaign.started_at = now
        if campaign.test_window_seconds:
            campaign.test_ends_at = now + timedelta(seconds=campaign.test_window_seconds)


async def schedule(
    session: AsyncSession, campaign_id: int, actor: Identity, when: Schedule, *, now: datetime | None = None
) -> PushCampaign:
    now = now or utcnow()
    if when.mode == "now":
        return await send_now(session, campaign_id, actor, now=now)
    campaign = await _locked(session, campaign_id)
    if campaign.status != CampaignStatus.draft.value:
        raise Conflict(
            f"campaign #{campaign_id} is {campaign.status}: only a draft is scheduled", code="not_draft"
        )
    if when.mode == "at":
        if when.at is None or when.at.tzinfo is None:
            raise InvalidInput(
                "at is a time with its offset (2026-12-05T09:00:00Z)", code="bad_schedule", field="at"
            )
        if not now - timedelta(minutes=1) <= when.at <= now + MAX_SCHEDULE_AHEAD:
            raise InvalidInput("at is between now and a year from now", code="bad_schedule", field="at")
        campaign.schedule_mode, campaign.scheduled_at, campaign.local_at = "at", when.at, None
        note = f"at {when.at.isoformat()}"
    elif when.mode == "local":
        local = when.local_at
        if local is None or local.tzinfo is not None:
            raise InvalidInput(
                "local_at is a wall-clock time without offset (2026-12-05T09:00)",
                code="bad_schedule",
                field="local_at",
            )
        wall = local.replace(second=0, microsecond=0, tzinfo=now.tzinfo)
        if wall + LATEST_OFFSET <= now or wall > now + MAX_SCHEDULE_AHEAD:
            raise InvalidInput(
                "local_at has passed everywhere or is more than a year away",
                code="bad_schedule",
                field="local_at",
            )
        if campaign.winner is None and await _has_rest(session, campaign_id):
            raise InvalidInput(
                "an A/B test with a winner phase sends at one time, not at each recipient's local time",
                code="bad_schedule",
                field="mode",
            )
        campaign.schedule_mode = "local"
        campaign.local_at = local.strftime("%Y-%m-%dT%H:%M")
        campaign.scheduled_at = max(now, wall - EARLIEST_OFFSET)  # drawn when the first time zone gets there
        note = f"at {campaign.local_at} local time"
    else:
        raise InvalidInput("mode is now, at or local", code="bad_schedule", field="mode")
    move(session, campaign, CampaignStatus.scheduled, actor_of(actor), note)
    await session.commit()
    return campaign


async def _has_rest(session: AsyncSession, campaign_id: int) -> bool:
    key = await session.scalar(
        select(CampaignVariant.key).where(
            CampaignVariant.campaign_id == campaign_id, CampaignVariant.key == PENDING
        )
    )
    return key is not None


async def send_now(
    session: AsyncSession, campaign_id: int, actor: Identity, *, now: datetime | None = None
) -> PushCampaign:
    """Start sending now. A campaign already sending or sent is left as it is (nothing is sent twice)."""
    now = now or utcnow()
    campaign = await _locked(session, campaign_id)
    if campaign.status in (CampaignStatus.sending.value, CampaignStatus.sent.value):
        await session.commit()
        return campaign
    if campaign.status not in (CampaignStatus.draft.value, CampaignStatus.scheduled.value):
        raise Conflict(f"campaign #{campaign_id} is {campaign.status}", code=f"campaign_{campaign.status}")
    campaign.schedule_mode, campaign.scheduled_at, campaign.local_at = "now", now, None
    start_sending(campaign, now)
    move(session, campaign, CampaignStatus.sending, actor_of(actor), "send now")
    await session.commit()
    return campaign


async def pause(session: AsyncSession, campaign_id: int, actor: Identity) -> PushCampaign:
    campaign = await _locked(session, campaign_id)
    if campaign.status == CampaignStatus.paused.value:
        await session.commit()
        return campaign
    if campaign.status not in LIVE:
        raise Conflict(
            f"campaign #{campaign_id} is {campaign.status}: only a scheduled or sending one pauses",
            code="not_live",
        )
    move(session, campaign, CampaignStatus.paused, actor_of(actor))
    await session.commit()
    return campaign


async def resume(
    session: AsyncSession, campaign_id: int, actor: Identity, *, now: datetime | None = None
) -> PushCampaign:
    now = now or utcnow()
    campaign = await _locked(session, campaign_id)
    if campaign.status in LIVE:
        await session.commit()
        return campaign
    if campaign.status not in (CampaignStatus.paused.value, CampaignStatus.stopped.value):
        raise Conflict(
            f"campaign #{campaign_id} is {campaign.status}: only a paused or stopped one resumes",
            code="not_paused",
        )
    if campaign.started_at is None and campaign.scheduled_at is not None and campaign.scheduled_at > now:
        move(session, campaign, CampaignStatus.scheduled, actor_of(actor), "resumed")
    else:
        start_sending(campaign, now)
        campaign.stop_reason = ""
        move(session, campaign, CampaignStatus.sending, actor_of(actor), "resumed")
    await session.commit()
    return campaign


async def cancel(session: AsyncSession, campaign_id: int, actor: Identity) -> dict[str, Any]:
    """Stop for good: every queued message is cancelled in this transaction, so nothing more leaves except
    what a sender holds right now (it settles within seconds). Returns how many went and how many did not."""
    campaign = await _locked(session, campaign_id)
    if campaign.status == CampaignStatus.sent.value:
        raise Conflict(f"campaign #{campaign_id} was sent", code="campaign_sent")
    counts: dict[str, int] = {}
    if campaign.status != CampaignStatus.cancelled.value:
        counts = await cancel_queued(session, campaign_id)
        campaign.finished_at = utcnow()
        move(
            session,
            campaign,
            CampaignStatus.cancelled,
            actor_of(actor),
            f"{sum(counts.values())} messages not sent",
        )
    await session.commit()
    in_flight = await session.scalar(
        select(func.count())
        .select_from(PushMessageRecord)
        .where(
            PushMessageRecord.campaign_id == campaign_id,
            PushMessageRecord.status == MessageStatus.sending.value,
        )
    )
    total = (await figures(session, campaign_id))["total"]
    return {
        "accepted": total["accepted"],
        "sent": total["sent"],
        "in_flight": int(in_flight or 0),
        "cancelled": total["cancelled"],
    }


async def cancel_queued(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    """Cancel the campaign's queued messages (the campaign row is locked); counts per variant."""
    m = PushMessageRecord
    counts = dict(
        (
            await session.execute(
                select(m.variant, func.count())
                .where(m.campaign_id == campaign_id, m.status == MessageStatus.queued.value)
                .group_by(m.variant)
            )
        ).all()
    )
    await session.execute(
        update(m)
        .where(m.campaign_id == campaign_id, m.status == MessageStatus.queued.value)
        .values(status=MessageStatus.cancelled.value, reason="campaign cancelled", lease_until=None)
        .execution_options(synchronize_session=False)
    )
    for key, n in counts.items():
        await add_figures(session, campaign_id, key or "A", cancelled=n)
    return {k or "A": int(n) for k, n in counts.items()}


async def add_figures(session: AsyncSession, campaign_id: int, key: str, **deltas: int) -> None:
    values = {name: getattr(CampaignVariant, name) + n for name, n in deltas.items() if n}
    if values:
        await session.execute(
            update(CampaignVariant)
            .where(CampaignVariant.campaign_id == campaign_id, CampaignVariant.key == key)
            .values(values)
            .execution_options(synchronize_session=False)
        )


# ---- views ----------------------------------------------------------------------------------------------

_FIGURES = ("drawn", "sent", "accepted", "failed", "expired", "skipped", "cancelled", "clicked", "converted")


def _figures_of(key: str, row: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"key": key, **{name: int(getattr(row, name)) for name in _FIGURES}}
    data["click_rate"] = round(data["clicked"] / data["accepted"], 4) if data["accepted"] else 0.0
    return data


async def figures(session: AsyncSession, campaign_id: int) -> dict[str, Any]:
    rows = list(
        await session.scalars(
            select(CampaignVariant)
            .where(CampaignVariant.campaign_id == campaign_id)
            .order_by(CampaignVariant.key)
        )
    )
    variants = [_figures_of(row.key, row) for row in rows]
    total = {"key": "total", **{name: sum(v[name] for v in variants) for name in _FIGURES}}
    total["click_rate"] = round(total["clicked"] / total["accepted"], 4) if total["accepted"] else 0.0
    return {"variants": variants, "total": total}


def figures_struct(data: dict[str, Any]) -> tuple[list[Figures], Figures]:
    return [Figures(**v) for v in data["variants"]], Figures(**data["total"])


async def get(session: AsyncSession, campaign_id: int) -> PushCampaign:
    campaign = await session.get(PushCampaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign #{campaign_id}", code="campaign_not_found")
    return campaign


async def view(session: AsyncSession, campaign_id: int) -> dict[str, Any]:
    """The campaign, its content per variant, its figures and its history."""
    campaign = await session.get(PushCampaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise NotFound(f"no campaign #{campaign_id}", code="campaign_not_found")
    rows = list(
        await session.scalars(
            select(CampaignVariant)
            .where(CampaignVariant.campaign_id == campaign_id)
            .order_by(CampaignVariant.key)
        )
    )
    contents = [
        {
            "key": r.key,
            "title": r.title,
            "body": r.body,
            "url": r.url,
            "icon": r.icon,
            "image": r.image,
            "actions": r.actions,
        }
        for r in rows
        if r.key in VARIANT_KEYS
    ]
    history = list(
        await session.scalars(
            select(CampaignHistory)
            .where(CampaignHistory.campaign_id == campaign_id)
            .order_by(CampaignHistory.id)
        )
    )
    data = summary(campaign)
    data.update(
        {
            "content": {k: v for k, v in contents[0].items() if k != "key"} if contents else None,
            "variants": contents,
            "segment": campaign.segment,
            "segment_id": campaign.segment_id,
            "ttl_seconds": campaign.ttl_seconds,
            "urgency": campaign.urgency,
            "rate_per_minute": campaign.rate_per_minute,
            "cap_policy": campaign.cap_policy,
            "ab": {
                "holdout_percent": campaign.holdout_percent,
                "test_percent": campaign.test_percent,
                "test_window_minutes": campaign.test_window_seconds // 60,
                "test_ends_at": campaign.test_ends_at,
                "winner": campaign.winner,
            },
            "stop_reason": campaign.stop_reason,
            "figures": await figures(session, campaign_id),
            "history": [
                {"from": h.from_status, "to": h.to_status, "actor": h.actor, "note": h.note, "at": h.at}
                for h in history
            ],
        }
    )
    return data


def summary(campaign: PushCampaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "topic": campaign.topic,
        "schedule": {
            "mode": campaign.schedule_mode,
            "at": campaign.scheduled_at,
            "local_at": campaign.local_at,
        },
        "created_at": campaign.created_at,
        "started_at": campaign.started_at,
        "finished_at": campaign.finished_at,
    }


async def listing(
    session: AsyncSession, *, status: str | None = None, before_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Newest first; `before_id` pages on."""
    query = select(PushCampaign).order_by(PushCampaign.id.desc()).limit(limit)
    if status is not None:
        query = query.where(PushCampaign.status == status)
    if before_id is not None:
        query = query.where(PushCampaign.id < before_id)
    campaigns = list(await session.scalars(query))
    totals: dict[int, dict[str, int]] = {}
    if campaigns:
        rows = await session.execute(
            select(
                CampaignVariant.campaign_id,
                func.sum(CampaignVariant.drawn),
                func.sum(CampaignVariant.accepted),
                func.sum(CampaignVariant.clicked),
                func.sum(CampaignVariant.converted),
            )
            .where(CampaignVariant.campaign_id.in_([c.id for c in campaigns]))
            .group_by(CampaignVariant.campaign_id)
        )
        for cid, drawn, accepted, clicked, converted in rows:
            totals[cid] = {
                "drawn": int(drawn or 0),
                "accepted": int(accepted or 0),
                "clicked": int(clicked or 0),
                "converted": int(converted or 0),
            }
    return [{**summary(c), "figures": totals.get(c.id, {})} for c in campaigns]


async def audience_count(session: AsyncSession, env: PushEnv, campaign_id: int) -> dict[str, int]:
    campaign = await get(session, campaign_id)
    return await segments.count(
        session,
        segments.parse(campaign.segment),
        topic=campaign.topic,
        vapid_key=env.public_key,
        saved_id=campaign.segment_id,
        default_timezone=env.policy.default_timezone,
    )
