"""What came of a message: clicks (from the service worker) and conversions (paid orders after a click).

A click carries the message id and its token (HMAC, engage.push.links); the first one counts, repeats
change nothing. A conversion is a paid order by a signed-in shopper within ENGAGE_PUSH_CONVERSION_WINDOW_HOURS
after they clicked a campaign message (the last click wins the order); a hold-out recipient converts with a
paid order within the window after being drawn, so a variant's conversion rate can be compared with doing
nothing. Each order converts at most once per campaign.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.platform.clock import utcnow
from engage.platform.db import rows_matched
from engage.platform.errors import NotFound
from engage.platform.events import record
from engage.push import campaigns, links
from engage.push.env import PushEnv
from engage.push.events import CampaignProgress, campaign_channel
from engage.push.models import MessageKind, MessageStatus, PushCampaign, PushMessageRecord

M = PushMessageRecord


async def _progress(session: AsyncSession, campaign: PushCampaign) -> None:
    variants, total = campaigns.figures_struct(await campaigns.figures(session, campaign.id))
    record(
        session,
        CampaignProgress(campaign_id=campaign.id, status=campaign.status, variants=variants, total=total),
        [campaign_channel(campaign.id)],
    )


async def record_click(
    session: AsyncSession, env: PushEnv, message_id: int, token: str, *, now: datetime | None = None
) -> bool:
    """Count the first click of a message; False for a repeat. A wrong token is 404, like an unknown id."""
    if (
        not (0 < message_id < 2**63)
        or not token.isascii()
        or not links.click_token_valid(env, message_id, token)
    ):
        raise NotFound("no such message", code="message_not_found")
    now = now or utcnow()
    row = (
        await session.execute(
            update(M)
            .where(M.id == message_id, M.clicked_at.is_(None))
            .values(clicked_at=now)
            .returning(M.campaign_id, M.variant, M.kind)
        )
    ).first()
    if row is None:
        await session.commit()
        return False
    campaign_id, variant, kind = row
    if campaign_id is not None and kind == MessageKind.campaign.value:
        campaign = await session.get(PushCampaign, campaign_id, with_for_update=True)
        if campaign is not None:
            await campaigns.add_figures(session, campaign_id, variant or "A", clicked=1)
            await _progress(session, campaign)
    await session.commit()
    return True


async def record_conversion(
    session: AsyncSession, env: PushEnv, user_id: int, order_id: int, *, now: datetime | None = None
) -> int:
    """A paid order of `user_id`: convert the last clicked campaign message within the window, and the
    hold-out rows drawn within it (one per campaign). Idempotent per order. Returns how many converted."""
    now = now or utcnow()
    since = now - env.policy.conversion_window
    if await session.scalar(select(M.id).where(M.order_id == order_id).limit(1)) is not None:
        return 0
    converted: list[tuple[int, int, str]] = []
    clicked = (
        await session.execute(
            select(M.id, M.campaign_id, M.variant)
            .where(
                M.user_id == user_id,
                M.kind == MessageKind.campaign.value,
                M.clicked_at >= since,
                M.converted_at.is_(None),
            )
            .order_by(M.clicked_at.desc())
            .limit(1)
        )
    ).first()
    if clicked is not None:
        converted.append((clicked.id, clicked.campaign_id, clicked.variant or "A"))
    held_out = (
        await session.execute(
            select(M.id, M.campaign_id, M.variant)
            .where(
                M.user_id == user_id,
                M.status == MessageStatus.held_out.value,
                M.created_at >= since,
                M.converted_at.is_(None),
            )
            .order_by(M.campaign_id, M.id)
        )
    ).all()
    seen: set[int] = {c for _, c, _ in converted}
    for row in held_out:
        if row.campaign_id not in seen:
            seen.add(row.campaign_id)
            converted.append((row.id, row.campaign_id, row.variant or "holdout"))
    if not converted:
        await session.commit()
        return 0
    for campaign_id in sorted(seen):  # campaign rows first, in order, as every writer of figures does
        await session.get(PushCampaign, campaign_id, with_for_update=True)
    done = 0
    for message_id, campaign_id, variant in converted:
        result = await session.execute(
            update(M)
            .where(M.id == message_id, M.converted_at.is_(None))
            .values(converted_at=now, order_id=order_id)
            .execution_options(synchronize_session=False)
        )
        if rows_matched(result):
            done += 1
            await campaigns.add_figures(session, campaign_id, variant, converted=1)
    for campaign_id in sorted(seen):
        campaign = await session.get(PushCampaign, campaign_id)
        if campaign is not None:
            await _progress(session, campaign)
    await session.commit()
    return done
