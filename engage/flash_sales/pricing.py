"""The flash sale as a commerce promotion: the sale price for the units a shopper's claims hold.

A claim made while the sale ran keeps its price while its hold lasts (a few minutes), so a shopper who
claimed in the last second can still check out; nobody else gets the price once the sale is over, and a
cancelled sale's holds are released at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.pricing import Offer, PricingRequest
from engage.flash_sales.claims import source_of
from engage.flash_sales.models import ClaimStatus, FlashClaim, FlashSale
from engage.flash_sales.timeline import label_of


class FlashSalePromotion:
    async def price(self, session: AsyncSession, request: PricingRequest) -> Sequence[Offer]:
        holding = {line.variant_id: Counter(line.hold_sources) for line in request.lines if line.hold_sources}
        if not holding:
            return []
        rows = (
            await session.execute(
                select(
                    FlashClaim.variant_id,
                    FlashClaim.sale_id,
                    FlashClaim.unit_price_cents,
                    FlashSale.name,
                    func.count().label("units"),
                )
                .join(FlashSale, FlashSale.id == FlashClaim.sale_id)
                .where(
                    FlashClaim.owner_key == request.owner,
                    FlashClaim.status == ClaimStatus.held.value,
                    FlashClaim.variant_id.in_(list(holding)),
                )
                .group_by(
                    FlashClaim.variant_id, FlashClaim.sale_id, FlashClaim.unit_price_cents, FlashSale.name
                )
            )
        ).all()
        offers = []
        for row in rows:
            # only units whose hold is still active (pricing sees the holds; the claim row may lag behind)
            units = min(row.units, holding[row.variant_id][source_of(row.sale_id)])
            if units > 0:
                offers.append(
                    Offer(
                        variant_id=row.variant_id,
                        unit_price_cents=row.unit_price_cents,
                        quantity=units,
                        label=label_of(row.sale_id, row.name),
                        source=source_of(row.sale_id),
                    )
                )
        return offers
