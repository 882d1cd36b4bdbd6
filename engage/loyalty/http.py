"""Loyalty's doors: a shopper's points, store credit and referral link (their own only), what to use on
their checkout; admins' rules, adjustments, liability report and referral reviews (under /api/admin/)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.params import Parameter
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engage.http.guards import admin, identity_of, signed_in
from engage.http.params import Id, OptionalId
from engage.loyalty import account, redemption, referrals, report
from engage.loyalty import rules as loyalty_rules
from engage.loyalty.models import Referral, ReferralReview, ReferralStatus, Unit
from engage.loyalty.rules import Rules
from engage.platform.errors import NotFound
from engage.services import Services


def _me(request: Request[Any, Any, Any]) -> int:
    user_id = identity_of(request).user_id
    assert user_id is not None  # the signed_in guard
    return user_id


def _actor(request: Request[Any, Any, Any]) -> str:
    return f"user:{identity_of(request).user_id}"


class Birthday(msgspec.Struct, forbid_unknown_fields=True):
    month: Annotated[int, msgspec.Meta(ge=1, le=12)]
    day: Annotated[int, msgspec.Meta(ge=1, le=31)]


class CheckoutRewards(msgspec.Struct, forbid_unknown_fields=True):
    """What to use on the checkout: the server quotes what it can honour (see the checkout's `adjustments`)."""

    points: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)] | None = None
    use_credit: bool | None = None


class CheckoutRewardsOut(msgspec.Struct):
    checkout_id: str
    points: int
    use_credit: bool


class CreditView(msgspec.Struct):
    balance_cents: int
    currency: str
    expiring: list[account.Expiring]
    entries: list[account.EntryView]


class ReferralOut(msgspec.Struct):
    code: str
    link: str
    signed_up: int
    qualifying: int
    rewarded: int
    held: int
    reward: str  # credit | points
    referrer_reward: int  # minor units or points
    referee_reward: int


class LedgerPage(msgspec.Struct):
    entries: list[account.EntryView]
    next_before: int | None


class LoyaltyController(Controller):
    path = "/api"
    tags = ["loyalty"]
    guards = [signed_in]

    @get("/loyalty")
    async def summary(
        self, request: Request[Any, Any, Any], db_session: AsyncSession
    ) -> account.PointsSummary:
        """My points: spendable balance, pending, tier, what expires when, and the redemption terms."""
        rules = await loyalty_rules.load(db_session)
        return await account.points_summary(db_session, _me(request), rules)

    @get("/loyalty/ledger")
    async def ledger(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        before: OptionalId = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        unit: Unit = Unit.points,
    ) -> LedgerPage:
        """My ledger entries, newest first (`kind`: earned, pending, redeemed, reversed, expired, adjusted;
        store credit: granted, used, restored, expired, adjusted); page with `before`."""
        entries = await account.history(db_session, _me(request), unit, before_id=before, limit=limit)
        return LedgerPage(entries=entries, next_before=entries[-1].id if len(entries) == limit else None)

    @put("/loyalty/birthday")
    async def birthday(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: Birthday
    ) -> account.PointsSummary:
        """Set my birthday (once): a bonus every year on the day."""
        await account.set_birthday(db_session, _me(request), data.month, data.day)
        return await account.points_summary(db_session, _me(request), await loyalty_rules.load(db_session))

    @put("/loyalty/checkouts/{checkout_id:str}")
    async def use_on_checkout(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        checkout_id: str,
        data: CheckoutRewards,
    ) -> CheckoutRewardsOut:
        """Use points and/or store credit on my open checkout; GET /api/checkout/{id} shows the lines and the
        new total (the card is charged only the rest; nothing left: no card needed)."""
        choice = await redemption.choose(
            db_session, _me(request), checkout_id[:32], points=data.points, use_credit=data.use_credit
        )
        return CheckoutRewardsOut(
            checkout_id=choice.checkout_id, points=choice.points, use_credit=choice.use_credit
        )

    @get("/store-credit")
    async def store_credit(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
    ) -> CreditView:
        """My store credit: balance, what expires when, recent entries."""
        summary = await account.credit_summary(db_session, _me(request))
        entries = await account.history(db_session, _me(request), Unit.credit, before_id=None, limit=50)
        return CreditView(
            balance_cents=summary.balance_cents,
            currency=services.settings.currency,
            expiring=summary.expiring,
            entries=entries,
        )

    @get("/referrals/me")
    async def my_referrals(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
    ) -> ReferralOut:
        """My referral code and link, and how my referrals are doing."""
        user_id = _me(request)
        code = await referrals.code_for(db_session, user_id)
        await referrals.note_device(db_session, user_id, identity_of(request).guest_id)
        counts = dict(
            (
                await db_session.execute(
                    select(Referral.status, func.count(Referral.id))
                    .where(Referral.referrer_id == user_id)
                    .group_by(Referral.status)
                )
            ).all()
        )
        rules = await loyalty_rules.load(db_session)
        base = services.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
        credit = rules.referral_reward == "credit"
        return ReferralOut(
            code=code,
            link=f"{base}/r/{code}",
            signed_up=int(counts.get(ReferralStatus.signed_up.value, 0)),
            qualifying=int(counts.get(ReferralStatus.qualifying.value, 0)),
            rewarded=int(counts.get(ReferralStatus.rewarded.value, 0)),
            held=int(counts.get(ReferralStatus.held.value, 0)),
            reward=rules.referral_reward,
            referrer_reward=rules.referral_referrer_cents if credit else rules.referral_referrer_points,
            referee_reward=rules.referral_referee_cents if credit else rules.referral_referee_points,
        )


# ---- admin -------------------------------------------------------------------------------------------------


class Adjustment(msgspec.Struct, forbid_unknown_fields=True):
    user_id: Annotated[int, msgspec.Meta(ge=1)]
    amount: Annotated[int, msgspec.Meta(ge=-100_000_000, le=100_000_000)]
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=300)]
    # the same key again (a retried request) adjusts once
    key: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
    unit: Unit = Unit.points


class Review(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=300)]


class ReviewOut(msgspec.Struct):
    action: str
    actor: str
    reason: str
    created_at: datetime


class ReferralAdminView(msgspec.Struct):
    id: int
    code: str
    referrer_id: int
    referee_id: int
    referee_email: str
    status: str
    flags: list[str]
    signup_ip: str
    order_id: int | None
    qualifies_at: datetime | None
    rewarded_at: datetime | None
    created_at: datetime
    trail: list[ReviewOut] = []


def _referral_view(referral: Referral, trail: list[ReferralReview] | None = None) -> ReferralAdminView:
    return ReferralAdminView(
        id=referral.id,
        code=referral.code,
        referrer_id=referral.referrer_id,
        referee_id=referral.referee_id,
        referee_email=referral.referee_email,
        status=referral.status,
        flags=list(referral.flags or []),
        signup_ip=referral.signup_ip,
        order_id=referral.order_id,
        qualifies_at=referral.qualifies_at,
        rewarded_at=referral.rewarded_at,
        created_at=referral.created_at,
        trail=[ReviewOut(r.action, r.actor, r.reason, r.created_at) for r in trail or []],
    )


async def _referral_detail(session: AsyncSession, referral_id: Id) -> ReferralAdminView:
    found = await session.get(Referral, referral_id, populate_existing=True)
    if found is None:
        raise NotFound("no such referral")
    trail = await session.scalars(
        select(ReferralReview).where(ReferralReview.referral_id == referral_id).order_by(ReferralReview.id)
    )
    return _referral_view(found, list(trail))


class MemberOut(msgspec.Struct):
    user_id: int
    points: account.PointsSummary
    credit: account.CreditSummary
    entries: list[account.EntryView]


class LoyaltyAdminController(Controller):
    path = "/api/admin"
    tags = ["loyalty (admin)"]
    guards = [admin]

    @get("/loyalty/rules")
    async def get_rules(self, db_session: AsyncSession) -> Rules:
        return await loyalty_rules.load(db_session)

    @put("/loyalty/rules")
    async def put_rules(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: Rules
    ) -> Rules:
        """Replace the programme's rules (earning, pending period, expiry, tiers, redemption, bonuses,
        referral rewards and fraud thresholds); they apply from now on."""
        return await loyalty_rules.save(db_session, data, actor=_actor(request))

    @post("/loyalty/adjustments", status_code=201)
    async def adjust(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: Adjustment
    ) -> account.EntryView:
        """Add or take points (or store credit) with a reason; never below zero."""
        rules = await loyalty_rules.load(db_session)
        return await account.adjust(
            db_session,
            data.user_id,
            data.unit,
            data.amount,
            reason=data.reason,
            actor=_actor(request),
            key=data.key,
            rules=rules,
        )

    @get("/loyalty/members/{user_id:int}")
    async def member(self, db_session: AsyncSession, user_id: Id) -> MemberOut:
        rules = await loyalty_rules.load(db_session)
        return MemberOut(
            user_id=user_id,
            points=await account.points_summary(db_session, user_id, rules),
            credit=await account.credit_summary(db_session, user_id),
            entries=await account.history(db_session, user_id, Unit.points, before_id=None, limit=100),
        )

    @get("/loyalty/liability")
    async def liability(self, db_session: AsyncSession, unit: Unit = Unit.points) -> report.Liability:
        """Per month: earned, redeemed, reversed, expired, adjusted, and outstanding at the month's end."""
        return await report.liability(db_session, unit, await loyalty_rules.load(db_session))

    @get("/referrals")
    async def referral_list(
        self,
        db_session: AsyncSession,
        status: ReferralStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> list[ReferralAdminView]:
        """Referrals, newest first (`status=held`: the review queue)."""
        query = select(Referral).order_by(Referral.id.desc()).limit(limit)
        if status is not None:
            query = query.where(Referral.status == status.value)
        return [_referral_view(r) for r in await db_session.scalars(query)]

    @get("/referrals/{referral_id:int}")
    async def referral(self, db_session: AsyncSession, referral_id: Id) -> ReferralAdminView:
        """One referral with its audit trail."""
        return await _referral_detail(db_session, referral_id)

    @post("/referrals/{referral_id:int}/review", status_code=200)
    async def review(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, referral_id: Id, data: Review
    ) -> ReferralAdminView:
        """Approve (pays now if the friend's first order stands) or reject, with a reason."""
        rules = await loyalty_rules.load(db_session)
        await referrals.review(
            db_session,
            referral_id,
            decision=data.decision,
            reason=data.reason,
            actor=_actor(request),
            rules=rules,
        )
        return await _referral_detail(db_session, referral_id)
