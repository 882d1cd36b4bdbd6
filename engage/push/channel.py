"""Push's channels on the WebSocket hub: `campaign:{id}` (a campaign's live figures and state changes) and
`push-alerts` (the push service refused our keys). Marketers and admins only."""

from __future__ import annotations

from typing import Any

from engage.platform.identity import Identity, Role
from engage.platform.runtime import Runtime
from engage.push import campaigns
from engage.push.events import ALERTS_CHANNEL, CAMPAIGN_KIND, CampaignStateChanged
from engage.push.models import PushCampaign
from engage.realtime import ChannelKind
from engage.realtime.kinds import channel_id


def _campaign_id(channel: str) -> int | None:
    ident = channel_id(channel)
    return int(ident) if ident and ident.isdigit() and len(ident) <= 18 else None


def per_state(event: str, data: dict[str, Any]) -> str:
    """Figures supersede each other; state changes do not (each new status is kept, only a repeat of the
    same status within the coalescing window is not)."""
    return f"{event}:{data.get('to_status')}" if event == CampaignStateChanged.type else event


def push_kinds(runtime: Runtime) -> list[ChannelKind]:
    async def marketing_only(identity: Identity, channel: str) -> bool:
        return identity.has_role(Role.marketer) and _campaign_id(channel) is not None

    async def current(identity: Identity, channel: str) -> Any:
        campaign_id = _campaign_id(channel)
        if campaign_id is None:
            return None
        async with runtime.sessionmaker() as session:
            campaign = await session.get(PushCampaign, campaign_id)
            if campaign is None:
                return None
            return {
                "campaign_id": campaign_id,
                "status": campaign.status,
                **await campaigns.figures(session, campaign_id),
            }

    async def staff_unnamed(identity: Identity, channel: str) -> bool:
        return identity.has_role(Role.marketer) and channel_id(channel) is None

    return [
        ChannelKind(
            CAMPAIGN_KIND, authorize=marketing_only, policy="latest", coalesce=per_state, snapshot=current
        ),
        ChannelKind(ALERTS_CHANNEL, authorize=staff_unnamed, policy="reliable"),
    ]
