"""Every service of one process, typed: built once by engage/wiring.py, given to doors and jobs.

HTTP and socket doors take `services: Services` as a Litestar dependency; jobs read `ctx["services"]`;
event sinks are built from it. Optional parts are typed as optional. Only the assembly (wiring, app, CLI)
constructs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.wiring import Bots
from commerce.catalog import CatalogCache
from commerce.checkout import CheckoutAdjustment
from commerce.checkout.policy import ShopPolicy
from commerce.payments.providers.base import PaymentProvider
from commerce.pricing import Promotion
from engage.auth import GuestHandover, SignUpHook
from engage.auth.privacy import PersonalData
from engage.chat.context import ContextSection
from engage.chat.env import ChatEnv
from engage.config import Settings
from engage.flash_sales.gate import ClaimGate
from engage.leaderboards import Leaderboards
from engage.platform.runtime import Runtime
from engage.push.env import PushEnv
from engage.realtime import Realtime


@dataclass(slots=True, eq=False)
class Services:
    runtime: Runtime
    realtime: Realtime  # the node's WebSocket hub
    catalog_cache: CatalogCache
    shop_policy: ShopPolicy  # shipping and tax
    payments: PaymentProvider
    promotions: list[Promotion]  # commerce's pricing hook: flash sales plug in here
    flash_gate: ClaimGate
    chat: ChatEnv
    bots: Bots  # embedder, search, support bot
    push: PushEnv  # Web Push: VAPID keys, the sender (a pooled HTTP client), its policy
    leaderboards: Leaderboards  # standings in Redis sorted sets (memory embedded), live on leaderboard:{id}
    # commerce's checkout adjustments port (shop_policy.adjustments is this list): loyalty points, store credit
    adjustments: list[CheckoutAdjustment] = field(default_factory=list)
    # after a sign-up: loyalty's bonus and referral
    signups: list[SignUpHook] = field(default_factory=list)
    # at sign-in, a guest's cart, holds, orders and chats follow them into the account
    guest_handovers: list[GuestHandover] = field(default_factory=list)
    # the console's side panel of a shopper: name -> section
    context_sections: dict[str, ContextSection] = field(default_factory=dict)
    # each area's part of a shopper's data, for privacy requests (export, erasure); the account's last
    personal_data: list[PersonalData] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.runtime.sessionmaker

    async def start(self, *, with_channels: bool = True) -> None:
        await self.runtime.start(with_channels=with_channels)

    async def stop(self, *, with_channels: bool = True) -> None:
        await self.runtime.stop(with_channels=with_channels)
