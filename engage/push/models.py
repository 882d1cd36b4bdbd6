"""Web Push tables: browsers' subscriptions, shoppers' preferences, campaigns, and a record of every message.

`push_messages` is both the record and the work queue: a campaign's audience is drawn into it (one row per
campaign and subscription, unique), transactional notifications are written into it (one row per
notification key and subscription, unique), and senders claim due rows under a per-message lease.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from engage.platform.clock import utcnow
from engage.platform.db import Base, BigId, IdMixin, TimestampMixin


class Topic(StrEnum):
    order_updates = "order_updates"  # transactional: shipped, delivered, refunded
    chat_replies = "chat_replies"  # transactional: an agent answered while no chat widget was open
    flash_sales = "flash_sales"  # requested: "remind me" when a sale starts
    back_in_stock = "back_in_stock"  # requested: "notify me" when a product is back
    offers = "offers"  # marketing: campaigns; off until the shopper opts in


class Channel(StrEnum):
    push = "push"
    email = "email"


class CampaignStatus(StrEnum):
    draft = "draft"  # being composed; editable
    scheduled = "scheduled"  # waits for its start (a time, or the first recipient's local time)
    sending = "sending"  # drawing its audience and sending
    paused = "paused"  # by a marketer: nothing leaves until resumed
    stopped = "stopped"  # by the system (the push service refused our VAPID key): fix, then resume
    sent = "sent"  # every message of its audience has an outcome
    cancelled = "cancelled"  # stopped for good; what had not left never will


class MessageStatus(StrEnum):
    queued = "queued"  # waiting for its send_at (local time, quiet hours, throttle, retry backoff)
    sending = "sending"  # leased by a sender until lease_until
    sent = "sent"  # the push service accepted it (201)
    failed = "failed"  # refused, gone, or out of attempts (reason)
    expired = "expired"  # could not leave within its TTL after it was due
    skipped = "skipped"  # not sent by rule: preferences at send time, frequency cap (drop), no subscription
    held_out = "held_out"  # an A/B hold-out recipient: never sent, kept for conversions
    cancelled = "cancelled"  # its campaign was cancelled before it left


class MessageKind(StrEnum):
    campaign = "campaign"
    transactional = "transactional"
    test = "test"  # "send a test to me"


class PushSubscription(IdMixin, Base):
    """One browser (PushSubscription) of a shopper or guest."""

    __tablename__ = "push_subscriptions"

    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    # "user:{id}" or "guest:{guest_id}" (engage.auth.identity.owner_key)
    owner_key: Mapped[str] = mapped_column(String(80), index=True)
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # the applicationServerKey it was made with: after a key rotation only current ones are sent to
    vapid_key: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime | None] = mapped_column(default=None)  # the browser's expirationTime
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)  # last (re)posted by the browser


class NotificationPreferences(TimestampMixin, Base):
    """A shopper's (or guest's) choices: topic x channel, time zone, quiet hours, marketing opt-out.

    No row means the defaults (engage.push.preferences.DEFAULTS): transactional and requested topics on,
    offers off. Campaigns only reach owners whose row says offers_push (an explicit opt-in)."""

    __tablename__ = "notification_preferences"

    owner_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True, default=None
    )
    order_updates_push: Mapped[bool] = mapped_column(default=True)
    order_updates_email: Mapped[bool] = mapped_column(default=True)
    chat_replies_push: Mapped[bool] = mapped_column(default=True)
    chat_replies_email: Mapped[bool] = mapped_column(default=True)
    flash_sales_push: Mapped[bool] = mapped_column(default=True)
    flash_sales_email: Mapped[bool] = mapped_column(default=True)
    back_in_stock_push: Mapped[bool] = mapped_column(default=True)
    back_in_stock_email: Mapped[bool] = mapped_column(default=True)
    offers_push: Mapped[bool] = mapped_column(default=False)
    offers_email: Mapped[bool] = mapped_column(default=False)
    marketing_unsubscribed: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)  # IANA name
    quiet_start_minute: Mapped[int | None] = mapped_column(default=None)  # local minute of the day
    quiet_end_minute: Mapped[int | None] = mapped_column(default=None)


class PushSegment(IdMixin, TimestampMixin, Base):
    """A saved audience definition (engage.push.segments)."""

    __tablename__ = "push_segments"

    name: Mapped[str] = mapped_column(String(120), unique=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class PushCampaign(IdMixin, TimestampMixin, Base):
    __tablename__ = "push_campaigns"
    __table_args__ = (Index("ix_push_campaigns_status_scheduled", "status", "scheduled_at"),)

    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.draft.value)
    topic: Mapped[str] = mapped_column(String(24), default=Topic.offers.value)
    # audience: inline rules, a saved segment, or both (both must match); none: everyone opted in
    segment: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    segment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("push_segments.id", ondelete="RESTRICT"), default=None
    )
    ttl_seconds: Mapped[int] = mapped_column(default=24 * 3600)
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    rate_per_minute: Mapped[int | None] = mapped_column(default=None)  # None: ENGAGE_PUSH_RATE_PER_MINUTE
    cap_policy: Mapped[str] = mapped_column(String(8), default="wait")  # frequency-capped: wait or drop
    # schedule: "now", "at" (scheduled_at, UTC) or "local" (local_at in each recipient's time zone)
    schedule_mode: Mapped[str] = mapped_column(String(8), default="now")
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)  # when drawing starts
    local_at: Mapped[str | None] = mapped_column(String(16), default=None)  # "2026-12-05T09:00"
    # A/B: variants A-D (push_campaign_variants), a hold-out share, a test share and its window
    holdout_percent: Mapped[int] = mapped_column(default=0)
    test_percent: Mapped[int] = mapped_column(default=100)
    test_window_seconds: Mapped[int] = mapped_column(default=0)
    test_ends_at: Mapped[datetime | None] = mapped_column(default=None)
    winner: Mapped[str | None] = mapped_column(String(8), default=None)
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    stop_reason: Mapped[str] = mapped_column(String(300), default="")
    # the sender's state: audience drawn up to this subscription id; the throttle's clock; which driver job
    # has the campaign (a lease) and when the next should run
    draw_cursor: Mapped[int] = mapped_column(BigId, default=0)
    drawn_all: Mapped[bool] = mapped_column(default=False)
    pace_at: Mapped[datetime | None] = mapped_column(default=None)
    driver_token: Mapped[str | None] = mapped_column(String(32), default=None)
    driver_until: Mapped[datetime | None] = mapped_column(default=None)
    wake_at: Mapped[datetime | None] = mapped_column(default=None)


class CampaignVariant(Base):
    """A variant's content (A-D) and the live figures of each group (variants, `holdout`, `pending`: the
    recipients waiting for the A/B winner)."""

    __tablename__ = "push_campaign_variants"

    campaign_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("push_campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(8), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    icon: Mapped[str] = mapped_column(String(1000), default="")
    image: Mapped[str] = mapped_column(String(1000), default="")
    url: Mapped[str] = mapped_column(String(1000), default="")
    actions: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    drawn: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)  # first attempts made
    accepted: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    expired: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    clicked: Mapped[int] = mapped_column(default=0)
    converted: Mapped[int] = mapped_column(default=0)


class CampaignHistory(IdMixin, Base):
    """Every state change of a campaign: from, to, who, when, why."""

    __tablename__ = "push_campaign_history"
    __table_args__ = (Index("ix_push_campaign_history_campaign", "campaign_id", "id"),)

    campaign_id: Mapped[int] = mapped_column(BigId, ForeignKey("push_campaigns.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(80))  # "user:5" or "system"
    note: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PushMessageRecord(IdMixin, Base):
    """One message to one subscription: the work item and its record (queued -> sent/failed/expired...)."""

    __tablename__ = "push_messages"
    # Every message is written twice more after its insert (claimed, settled): each index costs a write each
    # time, so PostgreSQL keeps only the rows each index is for (partial indexes; SQLite, which cannot use
    # them for these queries, indexes every row). Queries spell out the same conditions.
    __table_args__ = (
        UniqueConstraint("campaign_id", "subscription_id"),
        Index(
            "uq_push_messages_dedupe",
            "dedupe_key",
            "subscription_id",
            unique=True,
            postgresql_where=text("dedupe_key IS NOT NULL"),
        ),
        Index(
            "ix_push_messages_campaign_due",
            "campaign_id",
            "status",
            "send_at",
            postgresql_where=text("status IN ('queued', 'sending')"),
        ),
        Index(
            "ix_push_messages_due",
            "status",
            "send_at",
            postgresql_where=text("kind <> 'campaign' AND status IN ('queued', 'sending')"),
        ),
        Index(
            "ix_push_messages_owner_claimed",
            "owner_key",
            "claimed_at",
            postgresql_where=text("kind = 'campaign' AND claimed_at IS NOT NULL"),
        ),
        Index(
            "ix_push_messages_clicked",
            "user_id",
            "clicked_at",
            postgresql_where=text("clicked_at IS NOT NULL"),
        ),
        Index(
            "ix_push_messages_held_out", "user_id", "created_at", postgresql_where=text("status = 'held_out'")
        ),
        Index("ix_push_messages_order", "order_id", postgresql_where=text("order_id IS NOT NULL")),
    )

    kind: Mapped[str] = mapped_column(String(16))
    topic: Mapped[str] = mapped_column(String(24))
    campaign_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("push_campaigns.id", ondelete="CASCADE"), default=None
    )
    variant: Mapped[str | None] = mapped_column(String(8), default=None)
    subscription_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("push_subscriptions.id", ondelete="SET NULL"), default=None
    )
    owner_key: Mapped[str] = mapped_column(String(80))
    user_id: Mapped[int | None] = mapped_column(BigId, default=None)
    # transactional: the notification's idempotency key ("order:12:shipped"), unique per subscription
    dedupe_key: Mapped[str | None] = mapped_column(String(160), default=None)
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # non-campaign messages
    ttl_seconds: Mapped[int] = mapped_column(default=24 * 3600)
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    topic_header: Mapped[str | None] = mapped_column(String(32), default=None)  # RFC 8030 Topic
    status: Mapped[str] = mapped_column(String(12), default=MessageStatus.queued.value)
    reason: Mapped[str] = mapped_column(String(300), default="")
    send_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)  # last handed to a sender
    first_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)  # accepted by the push service
    clicked_at: Mapped[datetime | None] = mapped_column(default=None)
    converted_at: Mapped[datetime | None] = mapped_column(default=None)
    order_id: Mapped[int | None] = mapped_column(BigId, default=None)


class FlashSaleReminder(Base):
    """ "Remind me when it starts": a shopper or guest asked to be told when a flash sale begins."""

    __tablename__ = "push_sale_reminders"

    sale_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("flash_sales.id", ondelete="CASCADE"), primary_key=True
    )
    owner_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
