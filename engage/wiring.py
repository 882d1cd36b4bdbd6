"""Which domain plugs into which kernel port. The web app, `engage worker` and the CLI all build this."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from bots.wiring import install as install_bots
from commerce.cart.privacy import personal_data as cart_data
from commerce.catalog import CatalogCache
from commerce.catalog.channel import product_kind
from commerce.checkout import CheckoutAdjustment
from commerce.checkout.policy import ShopPolicy
from commerce.checkout.privacy import address_book_data
from commerce.checkout.privacy import personal_data as checkout_data
from commerce.orders.privacy import personal_data as orders_data
from commerce.payments.privacy import personal_data as payment_customers_data
from commerce.payments.providers import make_provider
from commerce.reviews.privacy import personal_data as reviews_data
from commerce.shopper_panel import shopper_sections
from engage.alerts import hand_over as hand_over_alerts
from engage.alerts import personal_data as alerts_data
from engage.alerts.channel import low_stock_kind
from engage.analytics.live import sales_kind
from engage.analytics.privacy import personal_data as visits_data
from engage.announcements.channel import announcements_kind
from engage.auth.privacy import account_data
from engage.chat import adopt_guest_conversations
from engage.chat import ws as chat_ws
from engage.chat.env import BotProfile, ChatEnv, ChatLimits
from engage.chat.privacy import personal_data as chat_data
from engage.chat.rate_limit import SenderRateLimit
from engage.config import Settings, SettingsError
from engage.flash_sales.channel import sale_kinds
from engage.flash_sales.gate import make_gate
from engage.flash_sales.pricing import FlashSalePromotion
from engage.flash_sales.timeline import sales_for_variants
from engage.leaderboards import Leaderboards, make_standings
from engage.leaderboards.channel import leaderboard_kind
from engage.loyalty import PointsRedemption, StoreCreditTender, welcome
from engage.loyalty.privacy import personal_data as loyalty_data
from engage.platform.blobs import make_blob_storage
from engage.platform.runtime import Runtime, build_runtime
from engage.push.channel import push_kinds
from engage.push.env import build_push_env
from engage.push.privacy import personal_data as push_data
from engage.push.subscriptions import hand_over as hand_over_push
from engage.realtime import Realtime
from engage.realtime.builtin import builtin_kinds
from engage.services import Services
from workers import registry


def build(settings: Settings, *, run_cron: bool = True) -> Services:
    runtime = build_runtime(settings, tasks=registry.TASKS, cron=registry.CRON, run_cron=run_cron)
    try:
        shop_policy = ShopPolicy.from_settings(settings)
        payments = make_provider(settings, runtime.stores["cache"])
        push = build_push_env(settings)
    except ValueError as exc:
        raise SettingsError(f"engage: invalid configuration\n  {exc}") from None
    bots = install_bots(runtime)  # search and support bot: embedder, in-memory index, knowledge base
    # commerce's checkout adjustments, in order: points (a discount) first, then store credit (before the card)
    adjustments: list[CheckoutAdjustment] = (
        [PointsRedemption(), StoreCreditTender()] if settings.loyalty_enabled else []
    )
    shop_policy = replace(shop_policy, adjustments=adjustments)
    services = Services(
        runtime=runtime,
        realtime=Realtime(runtime),
        catalog_cache=CatalogCache(runtime.stores["cache"], ttl_seconds=settings.catalog_cache_seconds),
        shop_policy=shop_policy,
        payments=payments,
        promotions=[FlashSalePromotion()],
        flash_gate=make_gate(runtime.redis, settings.redis_prefix),
        chat=_chat_env(runtime, bots.chat_profile),
        bots=bots,
        push=push,
        leaderboards=Leaderboards(
            runtime.sessionmaker,
            make_standings(runtime.redis, settings.redis_prefix),
            runtime.publisher,
            secret=settings.secret(),
        ),
        adjustments=adjustments,
    )
    runtime.closing.extend([services.leaderboards, services.realtime, bots, push])
    runtime.job_context["services"] = services
    services.guest_handovers.extend(
        [_commerce_handover, adopt_guest_conversations, hand_over_push, hand_over_alerts]
    )
    services.personal_data.extend(
        [
            orders_data,
            payment_customers_data,
            checkout_data,
            address_book_data,
            cart_data,
            reviews_data,
            chat_data,
            push_data,
            loyalty_data,
            alerts_data,
            visits_data,
            account_data,  # last: the others may read the account before it is anonymised
        ]
    )
    if settings.loyalty_enabled:
        services.signups.append(welcome)
    services.context_sections.update(shopper_sections(settings.currency, services.promotions))

    # the real-time hub: channel kinds and socket frame handlers of every area register here
    # price, stock (and flash sales) of one product, by handle
    products = product_kind(runtime.sessionmaker, {"flash_sales": sales_for_variants})
    boards = leaderboard_kind(runtime, services.leaderboards)
    kinds = [
        *builtin_kinds(),
        products,
        announcements_kind(runtime),
        *sale_kinds(runtime),
        *push_kinds(runtime),
        sales_kind(runtime),
        low_stock_kind(runtime),
    ]
    for kind in [*kinds, boards]:
        services.realtime.register_kind(kind)
    chat_ws.register(services.realtime, runtime, services.chat)
    for make_sink in registry.SINKS:
        runtime.publisher.add_sink(make_sink(services))
    return services


def _chat_env(runtime: Runtime, bot: BotProfile | None) -> ChatEnv:
    settings = runtime.settings
    return ChatEnv(
        limits=ChatLimits(
            max_message_chars=settings.chat_max_message_chars,
            agent_capacity=settings.chat_agent_capacity,
            first_response_seconds=settings.chat_first_response_seconds,
            retention_days=settings.chat_retention_days,
            attachment_max_bytes=settings.attachment_max_bytes,
        ),
        rate_limit=SenderRateLimit(
            runtime.counter, count=settings.chat_rate_limit.count, seconds=settings.chat_rate_limit.seconds
        ),
        blobs=make_blob_storage(settings),
        publisher=runtime.publisher,
        bot=bot,
    )


async def _commerce_handover(session: AsyncSession, guest_id: str, user_id: int) -> None:
    """At sign-in, a guest's cart, stock holds and orders follow them into their account."""
    from commerce import inventory
    from commerce.cart import merge
    from commerce.checkout.checkouts import hand_over as hand_over_checkouts
    from commerce.orders.fulfilment import hand_over as hand_over_orders

    guest, user = f"guest:{guest_id}", f"user:{user_id}"
    # checkout and order rows before holds and cart lines: the lock order of commerce.locks
    await hand_over_checkouts(session, guest, user_id)
    await hand_over_orders(session, guest, user_id)
    await inventory.hand_over(session, guest, user)
    await merge(session, guest, user)
