"""Referrals: a code and link per shopper; a friend who signs up through it and whose first paid order is
not refunded within the pending period earns both sides their reward (store credit by default, or points),
with milestone bonuses for the referrer. Fraud checks hold a referral for an admin's review instead of
paying; every hold, approval, rejection and reward is in the audit trail (`referral_reviews`).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.orders.models import Order
from commerce.payments.models import Payment, PaymentStatus
from engage.auth import NewAccount, User
from engage.loyalty import ledger
from engage.loyalty.events import ReferralChanged
from engage.loyalty.models import (
    Kind,
    Referral,
    ReferralCode,
    ReferralDevice,
    ReferralReview,
    ReferralStatus,
    Unit,
)
from engage.loyalty.orders import OrderFacts, facts, order_source
from engage.loyalty.rules import Rules, add_months
from engage.platform.clock import utcnow
from engage.platform.db import insert_for
from engage.platform.errors import Conflict, InvalidInput, NotFound
from engage.platform.events import record

# No 0/O, 1/I/L: codes are read aloud and typed.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE = re.compile(r"^[A-Z2-9]{4,16}$")


class Flag:
    self_account = "self_referral_account"
    self_email = "self_referral_email"
    self_device = "self_referral_device"
    self_address = "self_referral_address"
    self_card = "self_referral_card"
    ip_velocity = "many_referees_one_ip"
    email_pattern = "many_referees_one_email_pattern"
    disposable_email = "disposable_email"
    order_refunded = "referee_order_refunded"


@lru_cache(maxsize=1)
def disposable_domains() -> frozenset[str]:
    """The shipped list of disposable email domains (engage/loyalty/disposable_domains.txt)."""
    text = resources.files("engage.loyalty").joinpath("disposable_domains.txt").read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def is_disposable(email: str) -> bool:
    domain = email.rsplit("@", 1)[-1].lower()
    parts = domain.split(".")
    return any(".".join(parts[i:]) in disposable_domains() for i in range(len(parts) - 1))


def canonical_email(email: str) -> str:
    """The mailbox behind an address: `+tags` dropped, and dots for Gmail."""
    local, _, domain = email.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def email_pattern(email: str) -> str:
    """Addresses made by a script look alike: `anna123@x.io`, `anna124@x.io` -> `anna#@x.io`."""
    local, _, domain = canonical_email(email).partition("@")
    return f"{re.sub(r'[0-9]+', '#', local)}@{domain}"


async def code_for(session: AsyncSession, user_id: int) -> str:
    """The shopper's referral code, made on first use. Commits when it makes one."""
    code = await session.scalar(select(ReferralCode.code).where(ReferralCode.user_id == user_id))
    if code is not None:
        return code
    insert = insert_for(session)
    for _ in range(10):
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(8))
        await session.execute(
            insert(ReferralCode)
            .values(user_id=user_id, code=candidate, created_at=utcnow())
            .on_conflict_do_nothing()
        )
        await session.commit()
        code = await session.scalar(select(ReferralCode.code).where(ReferralCode.user_id == user_id))
        if code is not None:
            return code
    raise Conflict("could not make a referral code; try again", code="retry")


async def note_device(session: AsyncSession, user_id: int, device: str | None) -> None:
    """A browser id seen on this account (its own friends cannot sign up from it). Commits."""
    if not device:
        return
    insert = insert_for(session)
    await session.execute(
        insert(ReferralDevice)
        .values(user_id=user_id, device=device[:64], seen_at=utcnow())
        .on_conflict_do_nothing()
    )
    await session.commit()


def _audit(session: AsyncSession, referral: Referral, action: str, actor: str, reason: str) -> None:
    session.add(ReferralReview(referral_id=referral.id, action=action, actor=actor[:80], reason=reason[:300]))


def _announce(session: AsyncSession, referral: Referral) -> None:
    record(
        session,
        ReferralChanged(
            referral_id=referral.id,
            referrer_id=referral.referrer_id,
            referee_id=referral.referee_id,
            status=referral.status,
        ),
    )


def _hold(session: AsyncSession, referral: Referral, flags: list[str], actor: str = "system") -> None:
    new = [f for f in flags if f not in referral.flags]
    if not new:
        return
    referral.flags = [*referral.flags, *new]
    if referral.cleared and Flag.order_refunded not in new:
        return  # an admin approved it despite these checks
    if referral.status in (ReferralStatus.signed_up.value, ReferralStatus.qualifying.value):
        referral.status = ReferralStatus.held.value
        _audit(session, referral, "held", actor, "held for review: " + ", ".join(new))
        _announce(session, referral)


async def on_signup(
    session: AsyncSession, account: NewAccount, rules: Rules, *, now: datetime | None = None
) -> Referral | None:
    """A new account: its sign-up bonus, and the referral it came through (checked for fraud). Commits."""
    now = now or utcnow()
    if rules.enabled and rules.bonus_signup:
        balance = await ledger.lock(session, account.user_id, Unit.points)
        await ledger.post(
            session,
            balance,
            kind=Kind.earned,
            amount=rules.bonus_signup,
            key=f"signup:{account.user_id}",
            source="action:signup",
            note="sign-up bonus",
            expires_at=add_months(now, rules.expiry_months) if rules.expiry_months else None,
            at=now,
        )
    referral = None
    code = account.referral_code.strip().upper()
    if code and CODE.match(code):
        referrer_id = await session.scalar(select(ReferralCode.user_id).where(ReferralCode.code == code))
        if referrer_id is not None and not await session.scalar(
            select(Referral.id).where(Referral.referee_id == account.user_id)
        ):
            referral = Referral(
                code=code,
                referrer_id=referrer_id,
                referee_id=account.user_id,
                referee_email=account.email,
                email_pattern=email_pattern(account.email),
                signup_ip=account.ip[:64],
                signup_device=account.device[:64],
                flags=[],
                created_at=now,
                updated_at=now,
            )
            session.add(referral)
            await session.flush()
            _audit(session, referral, "signed_up", "system", f"signed up with code {code}")
            _announce(session, referral)
            _hold(session, referral, await _signup_flags(session, referral, rules, now))
    await session.commit()
    return referral


async def _signup_flags(session: AsyncSession, referral: Referral, rules: Rules, now: datetime) -> list[str]:
    flags = []
    referrer = await session.get(User, referral.referrer_id)
    if referral.referrer_id == referral.referee_id:
        flags.append(Flag.self_account)
    if referrer is not None and canonical_email(referrer.email) == canonical_email(referral.referee_email):
        flags.append(Flag.self_email)
    if referral.signup_device and await session.scalar(
        select(ReferralDevice.device).where(
            ReferralDevice.user_id == referral.referrer_id, ReferralDevice.device == referral.signup_device
        )
    ):
        flags.append(Flag.self_device)
    since = now - timedelta(hours=rules.fraud_window_hours)
    if referral.signup_ip:
        same_ip = await session.scalar(
            select(func.count(Referral.id)).where(
                Referral.signup_ip == referral.signup_ip, Referral.created_at >= since
            )
        )
        if int(same_ip or 0) > rules.fraud_ip_limit:
            flags.append(Flag.ip_velocity)
    same_pattern = await session.scalar(
        select(func.count(Referral.id)).where(
            Referral.referrer_id == referral.referrer_id,
            Referral.email_pattern == referral.email_pattern,
            Referral.created_at >= since,
        )
    )
    if int(same_pattern or 0) > rules.fraud_email_pattern_limit:
        flags.append(Flag.email_pattern)
    if is_disposable(referral.referee_email):
        flags.append(Flag.disposable_email)
    return flags


def _address_key(address: dict[str, object] | None) -> str:
    if not address:
        return ""
    parts = [str(address.get(k, "")).strip().lower() for k in ("line1", "line2", "postal_code", "country")]
    return re.sub(r"[^a-z0-9|]", "", "|".join(parts))


async def _paid_with_their_card(session: AsyncSession, order_id: int, user_id: int) -> bool:
    """Whether a card that paid `order_id` also paid one of `user_id`'s orders (the provider's fingerprint:
    the same card, whatever account holds it)."""
    cards = select(Payment.card_fingerprint).where(
        Payment.order_id == order_id,
        Payment.status == PaymentStatus.succeeded.value,
        Payment.card_fingerprint != "",
    )
    found = await session.scalar(
        select(Payment.id)
        .join(Order, Order.id == Payment.order_id)
        .where(
            Order.user_id == user_id,
            Payment.status == PaymentStatus.succeeded.value,
            Payment.card_fingerprint.in_(cards),
        )
        .limit(1)
    )
    return found is not None


async def on_order(session: AsyncSession, known: OrderFacts, rules: Rules) -> None:
    """A referee's order moved: their first paid order starts the pending period; a refund of it holds the
    referral. Does not commit."""
    order = known.order
    if order.user_id is None or not known.paid:
        return
    referral = await session.scalar(
        select(Referral).where(Referral.referee_id == order.user_id).with_for_update()
    )
    if referral is None:
        return
    if referral.order_id is None and referral.status in (
        ReferralStatus.signed_up.value,
        ReferralStatus.held.value,
    ):
        assert order.paid_at is not None
        referral.order_id = order.id
        referral.qualifies_at = order.paid_at + timedelta(days=rules.referral_pending_days)
        if referral.status == ReferralStatus.signed_up.value:
            referral.status = ReferralStatus.qualifying.value
            _audit(session, referral, "qualifying", "system", f"first order {order.number} paid")
            _announce(session, referral)
        mine = _address_key(order.shipping_address)
        if mine:
            theirs = await session.scalars(
                select(Order.shipping_address).where(
                    Order.user_id == referral.referrer_id, Order.paid_at.is_not(None)
                )
            )
            if any(_address_key(a) == mine for a in theirs):
                _hold(session, referral, [Flag.self_address])
        if await _paid_with_their_card(session, order.id, referral.referrer_id):
            _hold(session, referral, [Flag.self_card])
    if referral.order_id == order.id and known.refunded > 0:
        _hold(session, referral, [Flag.order_refunded])


async def release_due(session: AsyncSession, rules: Rules, *, now: datetime | None = None) -> int:
    """Referrals whose pending period ended with the order unrefunded: reward both sides. Commits."""
    now = now or utcnow()
    ids = (
        await session.scalars(
            select(Referral.id).where(
                Referral.status == ReferralStatus.qualifying.value, Referral.qualifies_at <= now
            )
        )
    ).all()
    await session.commit()
    done = 0
    for referral_id in ids:
        referral = await session.get(Referral, referral_id, with_for_update=True, populate_existing=True)
        if referral is None or referral.status != ReferralStatus.qualifying.value:
            await session.rollback()
            continue
        known = await facts(session, referral.order_id) if referral.order_id else None
        if known is None or known.refunded > 0:
            _hold(session, referral, [Flag.order_refunded])
        else:
            await _reward(session, referral, rules, actor="system", reason="pending period over", now=now)
            done += 1
        await session.commit()
    return done


async def _reward(
    session: AsyncSession, referral: Referral, rules: Rules, *, actor: str, reason: str, now: datetime
) -> None:
    referral.status = ReferralStatus.rewarded.value
    referral.rewarded_at = now
    referral.updated_at = now
    _audit(session, referral, "rewarded", actor, reason)
    _announce(session, referral)
    source = f"referral:{referral.id}"
    for side, user_id, cents, points in (
        ("referrer", referral.referrer_id, rules.referral_referrer_cents, rules.referral_referrer_points),
        ("referee", referral.referee_id, rules.referral_referee_cents, rules.referral_referee_points),
    ):
        await grant(
            session,
            user_id,
            rules,
            credit_cents=cents if rules.referral_reward == "credit" else 0,
            points=points if rules.referral_reward == "points" else 0,
            key=f"{source}:{side}",
            source=source,
            note=f"referral reward ({side})",
            now=now,
        )
    count = int(
        await session.scalar(
            select(func.count(Referral.id)).where(
                Referral.referrer_id == referral.referrer_id, Referral.status == ReferralStatus.rewarded.value
            )
        )
        or 0
    )
    for milestone in rules.referral_milestones:
        if count >= milestone.referrals:
            await grant(
                session,
                referral.referrer_id,
                rules,
                credit_cents=milestone.credit_cents,
                points=milestone.points,
                key=f"milestone:{referral.referrer_id}:{milestone.referrals}",
                source="action:referral-milestone",
                note=f"{milestone.referrals} referrals",
                now=now,
            )


async def grant(
    session: AsyncSession,
    user_id: int,
    rules: Rules,
    *,
    credit_cents: int = 0,
    points: int = 0,
    key: str,
    source: str,
    note: str,
    now: datetime,
    actor: str = "system",
) -> None:
    """Store credit and/or spendable points, once per key. Does not commit."""
    if credit_cents:
        balance = await ledger.lock(session, user_id, Unit.credit)
        await ledger.post(
            session,
            balance,
            kind=Kind.granted,
            amount=credit_cents,
            key=key,
            source=source,
            note=note,
            actor=actor,
            expires_at=add_months(now, rules.credit_expiry_months) if rules.credit_expiry_months else None,
            at=now,
        )
    if points:
        balance = await ledger.lock(session, user_id, Unit.points)
        await ledger.post(
            session,
            balance,
            kind=Kind.earned,
            amount=points,
            key=key,
            source=source,
            note=note,
            actor=actor,
            expires_at=add_months(now, rules.expiry_months) if rules.expiry_months else None,
            at=now,
        )


async def review(
    session: AsyncSession,
    referral_id: int,
    *,
    decision: str,
    reason: str,
    actor: str,
    rules: Rules,
    now: datetime | None = None,
) -> Referral:
    """An admin's decision on a referral, with a reason: `approve` (pays now if the friend's first order is
    in and not refunded, otherwise clears the flags) or `reject` (never pays). Commits."""
    now = now or utcnow()
    reason = reason.strip()
    if not 3 <= len(reason) <= 300 or not reason.isprintable():
        raise InvalidInput("give a reason (3 to 300 characters)", field="reason")
    referral = await session.get(Referral, referral_id, with_for_update=True, populate_existing=True)
    if referral is None:
        raise NotFound("no such referral")
    if referral.status in (ReferralStatus.rewarded.value, ReferralStatus.rejected.value):
        raise Conflict(f"this referral is already {referral.status}", code=f"referral_{referral.status}")
    if decision == "reject":
        referral.status = ReferralStatus.rejected.value
        referral.updated_at = now
        _audit(session, referral, "rejected", actor, reason)
        _announce(session, referral)
    elif decision == "approve":
        referral.cleared = True
        _audit(session, referral, "approved", actor, reason)
        order = await session.get(Order, referral.order_id) if referral.order_id else None
        if order is not None and order.paid_at is not None and order.status not in ("refunded", "cancelled"):
            await _reward(session, referral, rules, actor=actor, reason=f"approved: {reason}", now=now)
        else:
            referral.status = ReferralStatus.signed_up.value
            referral.updated_at = now
            _announce(session, referral)
    else:
        raise InvalidInput("decision is approve or reject", field="decision")
    await session.commit()
    return referral


async def completed_count(session: AsyncSession, user_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count(Referral.id)).where(
                Referral.referrer_id == user_id, Referral.status == ReferralStatus.rewarded.value
            )
        )
        or 0
    )


def source_of_referral(referral_id: int) -> str:
    return f"referral:{referral_id}"


__all__ = ["Flag", "NewAccount", "code_for", "on_signup", "order_source", "release_due", "review"]
