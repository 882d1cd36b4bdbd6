"""HTTP doors of flash sales: the storefront's (see sales, claim a unit) and marketing's (plan and run them)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from engage.flash_sales import claims, report, schedule
from engage.flash_sales.models import FlashSale, SaleStatus
from engage.flash_sales.timeline import current_sales, phase_of, sale_view
from engage.http.early_refusals import OPT as EARLY_REFUSAL
from engage.http.early_refusals import Check
from engage.http.guards import identity_of, marketer, public, signed_in
from engage.http.params import BIGINT_MAX, Id
from engage.platform.clock import utcnow
from engage.platform.errors import DomainError, NotFound
from engage.platform.identity import Role
from engage.services import Services

Cents = Annotated[int, msgspec.Meta(ge=1, le=100_000_000)]


class ItemIn(msgspec.Struct, forbid_unknown_fields=True):
    sale_price_cents: Cents
    units: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    variant_id: int | None = None
    sku: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class SaleIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    starts_at: datetime
    ends_at: datetime
    items: Annotated[list[ItemIn], msgspec.Meta(min_length=1, max_length=schedule.MAX_ITEMS)]
    per_customer_limit: Annotated[int, msgspec.Meta(ge=1, le=schedule.MAX_LIMIT)] = 1
    publish: bool = False

    def plan(self) -> schedule.SalePlan:
        return schedule.SalePlan(
            name=self.name,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            per_customer_limit=self.per_customer_limit,
            items=[schedule.ItemPlan(i.sale_price_cents, i.units, i.variant_id, i.sku) for i in self.items],
        )


class ClaimIn(msgspec.Struct, forbid_unknown_fields=True):
    variant_id: int


class MyClaim(msgspec.Struct):
    variant_id: int
    status: str  # "held" (waiting for checkout) or "paid"
    hold_expires_at: datetime


class MySale(msgspec.Struct):
    sale_id: int
    per_customer_limit: int
    claimed: int  # units held or bought, counted against the limit
    claims: list[MyClaim]


class ClaimOut(msgspec.Struct):
    claim_id: int
    sale_id: int
    variant_id: int
    unit_price_cents: int
    hold_expires_at: datetime
    units_left: int


def sold_out_refusal(services: Services) -> Check:
    """A claim for an item the gate has no unit of is refused before the rest of the request is looked at
    (engage.http.early_refusals): the answer is the same for everyone."""

    async def check(path_params: Mapping[str, Any], body: bytes) -> DomainError | None:
        sale_id = path_params.get("sale_id")
        try:
            variant_id = msgspec.json.decode(body, type=ClaimIn).variant_id
        except msgspec.DecodeError:
            return None  # the handler says what is wrong with it
        if not (isinstance(sale_id, int) and 0 < sale_id <= BIGINT_MAX and 0 < variant_id <= BIGINT_MAX):
            return None
        engine, gate = services.runtime.engine, services.flash_gate
        return (
            claims.SoldOut("sold out")
            if await claims.sold_out_now(engine, gate, sale_id, variant_id)
            else None
        )

    return check


def _summary(sale: FlashSale) -> dict[str, Any]:
    return {
        "id": sale.id,
        "name": sale.name,
        "status": sale.status,
        "phase": phase_of(sale.status, sale.starts_at, sale.ends_at).value,
        "starts_at": sale.starts_at.isoformat(),
        "ends_at": sale.ends_at.isoformat(),
        "per_customer_limit": sale.per_customer_limit,
    }


class FlashSaleController(Controller):
    path = "/api/flash-sales"
    tags = ["flash sales"]

    @get("/", guards=[public])
    async def current(self, db_session: AsyncSession) -> list[dict[str, Any]]:
        """Published sales that have not ended, soonest first, with units left and the server's time."""
        return await current_sales(db_session)

    @get("/mine", guards=[signed_in])
    async def mine(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> list[MySale]:
        """Your held and paid claims in sales not over yet, and how much of each sale's per-customer limit
        you have used (read only)."""
        owner = identity_of(request).owner_key
        found = await claims.claims_of(db_session, owner, since=utcnow())
        return [
            MySale(
                sale_id=s.sale_id,
                per_customer_limit=s.per_customer_limit,
                claimed=s.claimed,
                claims=[MyClaim(c.variant_id, c.status, c.hold_expires_at) for c in s.claims],
            )
            for s in found
        ]

    @get("/{sale_id:int}", guards=[public])
    async def show(
        self, request: Request[Any, Any, Any], sale_id: Id, db_session: AsyncSession
    ) -> dict[str, Any]:
        view = await sale_view(db_session, sale_id)
        if view is None or (
            view["status"] == SaleStatus.draft.value and not identity_of(request).has_role(Role.marketer)
        ):
            raise NotFound(f"no flash sale #{sale_id}")
        return view

    @post("/{sale_id:int}/claims", guards=[signed_in], status_code=201, opt={EARLY_REFUSAL: "flash_sold_out"})
    async def claim(
        self,
        request: Request[Any, Any, Any],
        sale_id: Id,
        data: ClaimIn,
        db_session: AsyncSession,
        services: Services,
    ) -> ClaimOut:
        """Claim one unit (atomic; sold out and the per-customer limit are 409s). The unit is held for a
        few minutes and put in your cart: check out to buy it at the sale price. A claim for an item with no
        units left is answered 409 `sold_out` as soon as you are known to be signed in, without counting
        against your rate limit."""
        runtime = services.runtime
        claimed = await claims.claim_for_checkout(
            db_session,
            services.flash_gate,
            sale_id=sale_id,
            variant_id=data.variant_id,
            identity=identity_of(request),
            hold_seconds=runtime.settings.flash_claim_hold_seconds,
        )
        return ClaimOut(
            claim_id=claimed.claim_id,
            sale_id=claimed.sale_id,
            variant_id=claimed.variant_id,
            unit_price_cents=claimed.unit_price_cents,
            hold_expires_at=claimed.hold_expires_at,
            units_left=claimed.units_left,
        )


class MarketingFlashSaleController(Controller):
    path = "/api/marketing/flash-sales"
    tags = ["marketing"]
    guards = [marketer]

    @get("/")
    async def all(self, db_session: AsyncSession) -> list[dict[str, Any]]:
        """Every sale, drafts included, newest start first."""
        return [_summary(sale) for sale in await schedule.all_sales(db_session)]

    @post("/", status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: SaleIn, db_session: AsyncSession, services: Services
    ) -> dict[str, Any]:
        """Plan a sale; `publish: true` schedules it at once (else it stays a draft). Prices are in minor
        units of the shop's currency."""
        sale = await schedule.create(
            db_session,
            identity_of(request),
            data.plan(),
            publish=data.publish,
            currency=services.settings.currency,
        )
        return await report.report(db_session, sale.id)

    @get("/{sale_id:int}")
    async def show(self, sale_id: Id, db_session: AsyncSession) -> dict[str, Any]:
        """The sale with its figures (claims, units, conversion, revenue) and its reconciliation with orders."""
        return await report.report(db_session, sale_id)

    @put("/{sale_id:int}")
    async def edit(
        self, sale_id: Id, data: SaleIn, db_session: AsyncSession, services: Services
    ) -> dict[str, Any]:
        await schedule.update(
            db_session, sale_id, data.plan(), gate=services.flash_gate, currency=services.settings.currency
        )
        return await report.report(db_session, sale_id)

    @post("/{sale_id:int}/publish", status_code=200)
    async def publish(self, sale_id: Id, db_session: AsyncSession, services: Services) -> dict[str, Any]:
        await schedule.publish(db_session, sale_id, currency=services.settings.currency)
        return await report.report(db_session, sale_id)

    @post("/{sale_id:int}/cancel", status_code=200)
    async def cancel(self, sale_id: Id, db_session: AsyncSession) -> dict[str, Any]:
        await schedule.cancel(db_session, sale_id)
        return await report.report(db_session, sale_id)
