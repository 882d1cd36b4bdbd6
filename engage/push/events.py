"""Push's events and the real-time channels they travel on.

- `campaign:{id}` (marketers and admins; `latest` policy): the campaign's live figures per variant
  (`push.campaign_progress`, coalesced: the newest figures win) and its state changes (`push.campaign_state`).
- `push-alerts` (marketers and admins): the push service refused our VAPID key (`push.alert`): a campaign
  stopped, or transactional pushes fail, until the keys are fixed.

No-channel events for jobs: `push.campaign_state` also drives the campaign sender (a sink enqueues it).
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from engage.platform.events import Event

CAMPAIGN_KIND = "campaign"
ALERTS_CHANNEL = "push-alerts"


def campaign_channel(campaign_id: int) -> str:
    return f"{CAMPAIGN_KIND}:{campaign_id}"


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """One group's counts: a variant ("A".."D"), the hold-out ("holdout"), recipients waiting for the A/B
    winner ("pending"), or the campaign's total ("total")."""

    key: str
    drawn: int = 0  # in the audience (rows drawn)
    sent: int = 0  # handed to the push service at least once
    accepted: int = 0  # the push service answered 201
    failed: int = 0
    expired: int = 0
    skipped: int = 0  # preferences at send time, frequency cap (drop), device gone before sending
    cancelled: int = 0
    clicked: int = 0
    converted: int = 0  # a paid order within the window after a click (hold-out: after being drawn)
    click_rate: float = 0.0  # clicked / accepted


class CampaignProgress(Event):
    type: ClassVar[str] = "push.campaign_progress"
    campaign_id: int
    status: str
    variants: list[Figures]
    total: Figures
    in_flight: int = 0  # messages handed to a sender and not settled yet


class CampaignStateChanged(Event):
    type: ClassVar[str] = "push.campaign_state"
    campaign_id: int
    from_status: str | None
    to_status: str
    actor: str
    note: str
    at: str  # ISO 8601 UTC


class PushAlert(Event):
    type: ClassVar[str] = "push.alert"
    kind: str  # "unauthorized"
    message: str
    campaign_id: int | None
    at: str
