"""Browsers' push subscriptions: subscribe (idempotent per endpoint), list, unsubscribe, hand over at sign-in.

An endpoint is accepted only under ENGAGE_PUSH_ALLOWED_ENDPOINTS (the server will POST to it: nothing
internal, no tricks), with keys that are a real P-256 point and a 16-byte secret. Re-posting an endpoint
updates its row (keys, owner, device) and keeps its id. An endpoint the push service calls gone (404/410)
is deleted by the sender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from engage.platform.identity import Identity
from engage.push import preferences
from engage.push.delivery import InvalidSubscription, PushTarget, endpoint_allowed
from engage.push.env import PushEnv
from engage.push.models import FlashSaleReminder, PushSubscription

MAX_ENDPOINT_CHARS = 2048


@dataclass(frozen=True)
class Owner:
    """Whose subscription: a signed-in user or a guest (by the guest id of their session)."""

    key: str  # "user:5" / "guest:abc"
    user_id: int | None

    @classmethod
    def of(cls, identity: Identity) -> Owner:
        if identity.user_id is not None:
            return cls(f"user:{identity.user_id}", identity.user_id)
        if identity.guest_id:
            return cls(f"guest:{identity.guest_id}", None)
        raise NotAuthenticated("sign in, or open the shop in a browser, to subscribe", code="no_identity")


@dataclass(frozen=True)
class SubscriptionIn:
    """`PushSubscription.toJSON()` and what the opt-in prompt adds."""

    endpoint: str
    p256dh: str
    auth: str
    expiration_time: float | None = None  # epoch ms
    user_agent: str = ""
    timezone: str | None = None  # Intl.DateTimeFormat().resolvedOptions().timeZone
    topics: tuple[str, ...] = ()  # opt-ins given with the subscription, e.g. ("offers",)
    application_server_key: str | None = None  # the key the browser subscribed with, if the page sends it


def _insert(session: AsyncSession) -> Any:
    return insert_for(session)


def check(env: PushEnv, data: SubscriptionIn) -> None:
    """422 for an endpoint off the allow-list or keys that cannot encrypt; 409 for a stale server key."""
    if not data.endpoint or len(data.endpoint) > MAX_ENDPOINT_CHARS:
        raise InvalidInput(
            "the endpoint is missing or too long", code="endpoint_not_allowed", field="endpoint"
        )
    if not endpoint_allowed(data.endpoint, env.policy.allowed_endpoints):
        raise InvalidInput(
            "this push endpoint is not one of the push services we deliver to",
            code="endpoint_not_allowed",
            field="endpoint",
        )
    try:
        PushTarget(endpoint=data.endpoint, p256dh=data.p256dh, auth=data.auth)
    except InvalidSubscription as exc:
        raise InvalidInput(
            f"the subscription's keys cannot be used: {exc}", code="bad_keys", field="keys"
        ) from None
    if data.application_server_key is not None and data.application_server_key != env.public_key:
        raise Conflict(
            "the browser subscribed with an old server key: unsubscribe and subscribe again",
            code="stale_server_key",
            public_key=env.public_key,
        )


def _expiry(ms: float | None) -> datetime | None:
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidInput(
            "expirationTime is epoch milliseconds or null", code="bad_expiration", field="expirationTime"
        ) from None


async def subscribe(
    session: AsyncSession, env: PushEnv, owner: Owner, data: SubscriptionIn
) -> PushSubscription:
    """Create or update the subscription of `data.endpoint` for `owner`; commits. Same endpoint, same id."""
    check(env, data)
    expires = _expiry(data.expiration_time)
    now = utcnow()
    values = {
        "p256dh": data.p256dh.strip(),
        "auth": data.auth.strip(),
        "owner_key": owner.key,
        "user_id": owner.user_id,
        "user_agent": data.user_agent[:300],
        "vapid_key": env.public_key,
        "expires_at": expires,
        "updated_at": now,
        "last_used_at": now,
    }
    statement = _insert(session)(PushSubscription).values(endpoint=data.endpoint, created_at=now, **values)
    statement = statement.on_conflict_do_update(index_elements=["endpoint"], set_=values)
    sub_id = await session.scalar(statement.returning(PushSubscription.id))
    assert sub_id is not None
    await preferences.note_device(
        session, owner.key, owner.user_id, timezone=data.timezone, opt_in=data.topics
    )
    await _keep_newest(session, owner.key, env.policy.max_devices_per_owner)
    await session.commit()
    row = await session.get(PushSubscription, sub_id, populate_existing=True)
    assert row is not None
    return row


async def renew(
    session: AsyncSession, env: PushEnv, old_endpoint: str, data: SubscriptionIn
) -> PushSubscription:
    """`pushsubscriptionchange`: the browser replaced its subscription. The old endpoint (a secret only the
    browser and we know) names the owner; the new one takes its place. Unknown old endpoint: 404. Commits."""
    old = await session.scalar(select(PushSubscription).where(PushSubscription.endpoint == old_endpoint))
    if old is None:
        raise NotFound("no subscription with this endpoint", code="subscription_not_found")
    owner = Owner(old.owner_key, old.user_id)
    if old_endpoint != data.endpoint:
        await session.delete(old)
        await session.flush()
    return await subscribe(session, env, owner, data)


async def _keep_newest(session: AsyncSession, owner_key: str, keep: int) -> None:
    """An owner keeps at most `keep` devices: the least recently updated go (a script cannot pile them up)."""
    count = await session.scalar(
        select(func.count()).select_from(PushSubscription).where(PushSubscription.owner_key == owner_key)
    )
    if (count or 0) <= keep:
        return
    newest = (
        select(PushSubscription.id)
        .where(PushSubscription.owner_key == owner_key)
        .order_by(PushSubscription.updated_at.desc(), PushSubscription.id.desc())
        .limit(keep)
    )
    await session.execute(
        delete(PushSubscription)
        .where(PushSubscription.owner_key == owner_key, PushSubscription.id.not_in(newest))
        .execution_options(synchronize_session=False)
    )


async def of_owner(session: AsyncSession, owner: Owner) -> list[PushSubscription]:
    rows = await session.scalars(
        select(PushSubscription).where(PushSubscription.owner_key == owner.key).order_by(PushSubscription.id)
    )
    return list(rows)


async def unsubscribe(session: AsyncSession, owner: Owner, subscription_id: int) -> None:
    """Delete one of the owner's subscriptions; anyone else's (or none) is 404. Commits."""
    deleted = await session.scalar(
        delete(PushSubscription)
        .where(PushSubscription.id == subscription_id, PushSubscription.owner_key == owner.key)
        .returning(PushSubscription.id)
    )
    await session.commit()
    if deleted is None:
        raise NotFound(f"no push subscription #{subscription_id}", code="subscription_not_found")


async def unsubscribe_endpoint(session: AsyncSession, owner: Owner, endpoint: str) -> bool:
    """Delete by endpoint (the browser knows it, not the id); only the owner's. Commits."""
    deleted = await session.scalar(
        delete(PushSubscription)
        .where(PushSubscription.endpoint == endpoint, PushSubscription.owner_key == owner.key)
        .returning(PushSubscription.id)
    )
    await session.commit()
    return deleted is not None


async def hand_over(session: AsyncSession, guest_id: str, user_id: int) -> None:
    """At sign-in a guest's devices, preferences and flash-sale reminders become the account's.
    Registered in `Services.guest_handovers`; the caller commits."""
    guest_key, user_key = f"guest:{guest_id}", f"user:{user_id}"
    await session.execute(
        update(PushSubscription)
        .where(PushSubscription.owner_key == guest_key)
        .values(owner_key=user_key, user_id=user_id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await preferences.hand_over(session, guest_key, user_key, user_id)
    mine = select(FlashSaleReminder.sale_id).where(FlashSaleReminder.owner_key == user_key)
    await session.execute(
        delete(FlashSaleReminder)
        .where(FlashSaleReminder.owner_key == guest_key, FlashSaleReminder.sale_id.in_(mine))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(FlashSaleReminder)
        .where(FlashSaleReminder.owner_key == guest_key)
        .values(owner_key=user_key, user_id=user_id)
        .execution_options(synchronize_session=False)
    )
