"""The channels of a sale: `sale:{id}` (public: the countdown's times, units left, start/end/cancel),
`sale-admin:{id}` (marketing: claims, sales, revenue, live), and `flash-sales` (public: every published sale
not over yet, and each one's changes)."""

from __future__ import annotations

from typing import Any

from engage.flash_sales.events import LISTING_CHANNEL
from engage.flash_sales.models import FlashSale, SaleStatus
from engage.flash_sales.report import report
from engage.flash_sales.timeline import current_sales, sale_view
from engage.platform.identity import Identity, Role
from engage.platform.runtime import Runtime
from engage.realtime import ChannelKind
from engage.realtime.access import anyone_unnamed
from engage.realtime.kinds import channel_id


def per_item(event: str, data: dict[str, Any]) -> str:
    item = data.get("item_id")
    return f"{event}:{item}" if item is not None else event


def per_sale(event: str, data: dict[str, Any]) -> str:
    return f"sale:{data.get('sale_id')}"


def _sale_id(channel: str) -> int | None:
    ident = channel_id(channel)
    return int(ident) if ident and ident.isdigit() else None


def sale_kinds(runtime: Runtime) -> list[ChannelKind]:
    async def may_watch(identity: Identity, channel: str) -> bool:
        sale_id = _sale_id(channel)
        if sale_id is None:
            return False
        if identity.has_role(Role.marketer):
            return True
        async with runtime.sessionmaker() as session:
            sale = await session.get(FlashSale, sale_id)
            return sale is not None and sale.status != SaleStatus.draft.value

    async def public_state(identity: Identity, channel: str) -> Any:
        sale_id = _sale_id(channel)
        async with runtime.sessionmaker() as session:
            return await sale_view(session, sale_id) if sale_id is not None else None

    async def marketing_only(identity: Identity, channel: str) -> bool:
        return identity.has_role(Role.marketer) and _sale_id(channel) is not None

    async def figures(identity: Identity, channel: str) -> Any:
        sale_id = _sale_id(channel)
        async with runtime.sessionmaker() as session:
            return await report(session, sale_id) if sale_id is not None else None

    async def listing(identity: Identity, channel: str) -> Any:
        async with runtime.sessionmaker() as session:
            return {"sales": await current_sales(session)}

    return [
        ChannelKind(
            LISTING_CHANNEL, authorize=anyone_unnamed, policy="latest", coalesce=per_sale, snapshot=listing
        ),
        ChannelKind("sale", authorize=may_watch, policy="latest", coalesce=per_item, snapshot=public_state),
        ChannelKind(
            "sale-admin", authorize=marketing_only, policy="latest", coalesce=per_item, snapshot=figures
        ),
    ]
