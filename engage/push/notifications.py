"""Transactional notifications: an order shipped, an agent replied, a sale the shopper asked about started.

Other areas never push: their committed events reach sinks (workers/push.py), whose jobs call these. A
notification is written as one `push_messages` row per device of its owner, unique per (key, device): the
same event handled twice, or a job retried, queues nothing more. `push.messages_queued` then hands the
rows to the sender (engage.push.sending), which checks the preferences and quiet hours again when it sends.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import Select, and_, case, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.chat import Conversation, newest_unseen_reply
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import Conflict, NotFound
from engage.platform.events import Event, record
from engage.push import campaigns, preferences
from engage.push.env import PushEnv
from engage.push.models import (
    CampaignVariant,
    MessageKind,
    MessageStatus,
    NotificationPreferences,
    PushCampaign,
    PushMessageRecord,
    PushSubscription,
    Topic,
)

ORDER_TTL = 2 * 86400  # an order update is still worth seeing two days later
CHAT_TTL = 3600  # a reply older than an hour: the shopper reads it in the widget or the transcript email
TEST_TTL = 3600
MIN_TTL = 60
_ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "RWF"}


class MessagesQueued(Event):
    """No channel: messages written for the sender (a sink enqueues their delivery)."""

    type: ClassVar[str] = "push.messages_queued"
    ids: list[int]


@dataclass(frozen=True)
class Notice:
    topic: str
    key: str  # idempotency: one message per key and device, however often it is asked for
    title: str
    body: str
    url: str
    tag: str  # the notification's tag: a newer one with the same tag replaces it in the browser
    ttl: int
    urgency: str = "normal"
    topic_header: str | None = None  # RFC 8030 Topic: replaces an undelivered message at the push service
    renotify: bool = True
    kind: str = MessageKind.transactional.value
    campaign_id: int | None = None
    variant: str | None = None
    icon: str = ""
    image: str = ""
    actions: tuple[dict[str, str], ...] = ()

    def content(self) -> dict[str, Any]:
        return {
            "title": self.title[:200],
            "body": self.body[:500],
            "url": self.url,
            "icon": self.icon,
            "image": self.image,
            "actions": list(self.actions),
            "tag": self.tag,
            "renotify": self.renotify,
        }


def _insert(session: AsyncSession) -> Any:
    return insert_for(session)


async def notify(
    session: AsyncSession,
    env: PushEnv,
    owner_keys: Sequence[str],
    notice: Notice,
    *,
    now: datetime | None = None,
    commit: bool = True,
) -> list[int]:
    """Queue `notice` for every current device of these owners whose topic is on; returns the new message ids
    (none for devices that already have this key). Records `push.messages_queued`; commits."""
    if not owner_keys:
        return []
    s = PushSubscription
    devices = _devices(env, notice, literal(notice.key, type_=PushMessageRecord.dedupe_key.type), now)
    ids = await _queue(session, devices.where(s.owner_key.in_(list(owner_keys))))
    if commit:
        await session.commit()
    return ids


async def notify_each(
    session: AsyncSession,
    env: PushEnv,
    keyed: Sequence[tuple[str, str]],
    notice: Notice,
    *,
    chunk: int = 500,
) -> set[str]:
    """`notice` for many owners at once, each under a key of its own ((owner key, key) pairs: one message
    per key and device, as `notify`); the keys that have a message now, queued here or before. Commits."""
    s, m = PushSubscription, PushMessageRecord
    if len({owner for owner, _ in keyed}) != len(keyed):
        raise ValueError("notify_each takes each owner once (one key each)")
    have: set[str] = set()
    for first in range(0, len(keyed), chunk):
        part = dict(keyed[first : first + chunk])
        key = case(part, value=s.owner_key, else_=literal(None, type_=m.dedupe_key.type))
        await _queue(session, _devices(env, notice, key, None).where(s.owner_key.in_(list(part))))
        found = await session.scalars(
            select(m.dedupe_key).where(m.dedupe_key.in_(list(part.values()))).distinct()
        )
        have.update(k for k in found if k is not None)
        await session.commit()
    return have


def _devices(env: PushEnv, notice: Notice, key: Any, now: datetime | None) -> Select[Any]:
    """The rows of `notice` for every current device whose topic is on (the caller says whose)."""
    now = now or utcnow()
    s, p, m = PushSubscription, NotificationPreferences, PushMessageRecord
    ttl = max(MIN_TTL, notice.ttl)
    devices = (
        select(
            literal(notice.kind, type_=m.kind.type),
            literal(notice.topic, type_=m.topic.type),
            literal(notice.campaign_id, type_=m.campaign_id.type),
            literal(notice.variant, type_=m.variant.type),
            s.id,
            s.owner_key,
            s.user_id,
            key,
            literal(notice.content(), type_=m.content.type),
            literal(ttl, type_=m.ttl_seconds.type),
            literal(notice.urgency, type_=m.urgency.type),
            literal(notice.topic_header, type_=m.topic_header.type),
            literal(MessageStatus.queued.value, type_=m.status.type),
            literal("", type_=m.reason.type),
            literal(now, type_=m.send_at.type),
            literal(now + timedelta(seconds=ttl), type_=m.expires_at.type),
            literal(0, type_=m.attempts.type),
            literal(now, type_=m.created_at.type),
        )
        .select_from(s)
        .outerjoin(p, p.owner_key == s.owner_key)
        .where(s.vapid_key == env.public_key)
    )
    if notice.kind != MessageKind.test.value:
        default = preferences.DEFAULTS[(notice.topic, "push")]
        column_on = preferences.column(notice.topic)
        on = or_(column_on.is_(True), and_(p.owner_key.is_(None), literal(default)))
        if notice.topic in preferences.MARKETING:
            on = and_(on, or_(p.marketing_unsubscribed.is_(False), p.owner_key.is_(None)))
        devices = devices.where(on)
    return devices


async def _queue(session: AsyncSession, devices: Select[Any]) -> list[int]:
    """Write the rows (a key and device that have one already write nothing); the new ids, announced."""
    m = PushMessageRecord
    columns = [
        m.kind, m.topic, m.campaign_id, m.variant, m.subscription_id, m.owner_key, m.user_id, m.dedupe_key,
        m.content, m.ttl_seconds, m.urgency, m.topic_header, m.status, m.reason, m.send_at, m.expires_at,
        m.attempts, m.created_at,
    ]  # fmt: skip
    statement = (
        _insert(session)(m)
        .from_select([c.key for c in columns], devices)
        .on_conflict_do_nothing(
            index_elements=["dedupe_key", "subscription_id"], index_where=m.dedupe_key.isnot(None)
        )
        .returning(m.id)
    )
    ids = sorted(await session.scalars(statement))
    if ids:
        record(session, MessagesQueued(ids=ids))
    return ids


# ---- what each notification says --------------------------------------------------------------------------

ORDER_STATUSES = {"shipped", "delivered", "refunded", "partially_refunded"}


def money(cents: int, currency: str) -> str:
    code = currency.upper()
    if code in _ZERO_DECIMAL:
        return f"{cents:,} {code}"
    return f"{cents / 100:,.2f} {code}"


def order_notice(
    *,
    order_id: int,
    number: str,
    status: str,
    refunded_cents: int = 0,
    currency: str = "usd",
    carrier: str | None = None,
    tracking_number: str | None = None,
    expected_delivery: str | None = None,
) -> Notice | None:
    """What an order's new status says (None for statuses that push nothing)."""
    if status == "shipped":
        title = f"Order {number} is on its way"
        parts = [
            f"{carrier} tracking {tracking_number}"
            if carrier and tracking_number
            else "It has left our warehouse"
        ]
        if expected_delivery:
            parts.append(f"expected {expected_delivery}")
        body = ", ".join(parts) + "."
    elif status == "delivered":
        title, body = f"Order {number} was delivered", "Enjoy it! Questions? We're a message away."
    elif status in ("refunded", "partially_refunded"):
        title = f"Refund for order {number}"
        body = f"We refunded {money(refunded_cents, currency)}; it reaches your account in a few days."
    else:
        return None
    return Notice(
        topic=Topic.order_updates.value,
        key=f"order:{order_id}:{status}:{refunded_cents if 'refund' in status else ''}",
        title=title,
        body=body,
        url=f"/orders/{number}",
        tag=f"order-{order_id}",
        ttl=ORDER_TTL,
        topic_header=f"order-{order_id}",
    )


def chat_notice(*, conversation_id: int, message_id: int, author_name: str, text: str) -> Notice:
    preview = " ".join(text.split())
    if len(preview) > 140:
        preview = preview[:139].rstrip() + "…"
    return Notice(
        topic=Topic.chat_replies.value,
        key=f"chat:{message_id}",
        title=f"{author_name or 'Support'} replied",
        body=preview or "New message",
        url=f"/?chat={conversation_id}",
        tag=f"chat-{conversation_id}",
        ttl=CHAT_TTL,
        urgency="high",
        topic_header=f"chat-{conversation_id}",
    )


def sale_notice(*, sale_id: int, name: str, items: int, url: str, ends_at: datetime, now: datetime) -> Notice:
    left = int((ends_at - now).total_seconds())
    return Notice(
        topic=Topic.flash_sales.value,
        key=f"sale:{sale_id}:started",
        title=f"{name} has started",
        body=f"Sale prices on {items} item{'s' if items != 1 else ''}, while units last.",
        url=url,
        tag=f"sale-{sale_id}",
        ttl=max(MIN_TTL, min(left, 86400)),
        urgency="high",
        topic_header=f"sale-{sale_id}",
    )


async def send_test(
    session: AsyncSession, env: PushEnv, campaign_id: int, user_id: int, *, variant: str = "A", nonce: str
) -> list[int]:
    """A campaign's variant to the marketer's own devices now (preferences and quiet hours do not apply)."""
    campaign = await session.get(PushCampaign, campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign #{campaign_id}", code="campaign_not_found")
    content = await session.get(CampaignVariant, (campaign_id, variant))
    if content is None or variant not in campaigns.VARIANT_KEYS:
        raise NotFound(f"campaign #{campaign_id} has no variant {variant}", code="variant_not_found")
    notice = Notice(
        topic=campaign.topic,
        key=f"test:{campaign_id}:{nonce}",
        title=content.title,
        body=content.body,
        url=content.url,
        icon=content.icon,
        image=content.image,
        actions=tuple(content.actions),
        tag=f"campaign-test-{campaign_id}",
        ttl=TEST_TTL,
        kind=MessageKind.test.value,
        campaign_id=campaign_id,
        variant=variant,
        urgency=campaign.urgency,
    )
    ids = await notify(session, env, [f"user:{user_id}"], notice)
    if not ids:
        raise Conflict(
            "you have no push subscription on this site: allow notifications in your browser first",
            code="no_devices",
        )
    return ids


class ReplyNoticeWindows:
    """One reply notice per conversation and delay (per process): an agent's replies within the delay share
    the job the first one queued, which pushes the newest reply the shopper has not seen (`chat_reply`)."""

    LIMIT = 10_000  # conversations remembered; windows that ended are forgotten first

    def __init__(self, delay_seconds: float) -> None:
        self._delay = delay_seconds
        self._due: dict[int, float] = {}  # conversation -> when the queued notice runs

    def opens(self, conversation_id: int) -> bool:
        """True, and a window starts, unless a notice of the conversation is already waiting to run."""
        now = time.monotonic()
        if self._due.get(conversation_id, 0.0) > now:
            return False
        if len(self._due) >= self.LIMIT:
            for key in [key for key, at in self._due.items() if at <= now]:
                del self._due[key]
        self._due[conversation_id] = now + self._delay
        return True


async def chat_reply(
    session: AsyncSession,
    env: PushEnv,
    *,
    conversation_id: int,
    message_id: int,
    public_seq: int,
    author_name: str,
    text: str,
    watched_here: bool = False,
) -> list[int]:
    """An agent's reply, some seconds later: pushed unless a chat widget got it. Every open widget confirms
    each message it receives (`chat.delivered`/`chat.read` receipts raise the conversation's
    shopper_delivered_seq, on whichever node its socket is), so "delivered below this message" means no widget
    was open; `watched_here` (a socket on this node subscribed to the conversation) also holds it back."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or watched_here:
        return []
    if max(conversation.shopper_delivered_seq, conversation.shopper_read_seq) >= public_seq:
        return []
    if conversation.last_public_seq > public_seq:  # later replies share this notice: the newest is shown
        newest = await newest_unseen_reply(session, conversation)
        if newest is not None:
            message_id, author_name, text = newest.id, newest.author_name, newest.body
    notice = chat_notice(
        conversation_id=conversation_id, message_id=message_id, author_name=author_name, text=text
    )
    return await notify(session, env, [conversation.owner_key], notice)
