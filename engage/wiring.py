"""Which domain plugs into which kernel port. The web app, `engage worker` and the CLI all build this."""

from __future__ import annotations

from bots.wiring import install as install_bots
from engage.announcements.channel import announcements_kind
from engage.config import Settings
from engage.platform.runtime import Runtime, build_runtime
from engage.realtime import Realtime
from engage.realtime.builtin import builtin_kinds
from workers import registry


def build(settings: Settings, *, run_cron: bool = True) -> Runtime:
    runtime = build_runtime(
        settings,
        tasks=registry.TASKS,
        cron=registry.CRON,
        sinks=registry.SINKS,
        run_cron=run_cron,
    )
    # (session, guest_id, user_id) -> None: a guest's cart and chat follow them into their account
    runtime.services["guest_handovers"] = []
    _commerce(runtime)

    # the real-time hub: channel kinds and socket frame handlers of every area register here
    realtime = runtime.services["realtime"] = Realtime(runtime)
    runtime.services["channels_plugin"] = realtime.plugin
    for kind in builtin_kinds(runtime):
        realtime.register_kind(kind)
    realtime.register_kind(announcements_kind(runtime))
    _flash_sales(runtime)
    install_bots(runtime)  # search and support bot: embedder, in-memory index, knowledge base
    _wire_chat(runtime)
    return runtime


def _commerce(runtime: Runtime) -> None:
    from commerce.catalog import CatalogCache
    from commerce.checkout.policy import ShopPolicy
    from commerce.payments.providers import make_provider
    from engage.config import SettingsError

    settings = runtime.settings
    runtime.services["catalog_cache"] = CatalogCache(
        runtime.stores["cache"], ttl_seconds=settings.catalog_cache_seconds
    )
    try:
        runtime.services["shop_policy"] = ShopPolicy.from_settings(settings)
        runtime.services["payments"] = make_provider(settings, runtime.stores["cache"])
    except ValueError as exc:
        raise SettingsError(f"engage: invalid configuration\n  {exc}") from None
    # commerce.pricing.Promotion implementations (a flash sale...) append themselves here
    runtime.services.setdefault("promotions", [])
    runtime.services["guest_handovers"].append(_commerce_handover)


def _wire_chat(runtime: Runtime) -> None:
    from engage.chat import adopt_guest_conversations
    from engage.chat import ws as chat_ws
    from engage.chat.context import commerce_sections
    from engage.chat.env import ChatEnv, ChatLimits
    from engage.chat.rate_limit import SenderRateLimit
    from engage.platform.blobs import make_blob_storage

    settings = runtime.settings
    runtime.services["chat"] = ChatEnv(
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
        services=runtime.services,
    )
    runtime.services["guest_handovers"].append(adopt_guest_conversations)
    chat_ws.register(runtime.services["realtime"], runtime)
    # the console's side panel: areas add sections here (name -> async (session, owner_key, user_id) -> data)
    sections = runtime.services.setdefault("shopper_context_sections", {})
    sections.update(commerce_sections(settings.currency, runtime.services.get("promotions", [])))


def _flash_sales(runtime: Runtime) -> None:
    from engage.flash_sales.channel import sale_kinds
    from engage.flash_sales.gate import make_gate
    from engage.flash_sales.pricing import FlashSalePromotion

    runtime.services["flash_gate"] = make_gate(runtime.redis, runtime.settings.redis_prefix)
    runtime.services["promotions"].append(FlashSalePromotion())
    for kind in sale_kinds(runtime):
        runtime.services["realtime"].register_kind(kind)


async def _commerce_handover(session, guest_id: str, user_id: int) -> None:  # type: ignore[no-untyped-def]
    """At sign-in, a guest's cart, stock holds and orders follow them into their account."""
    from commerce import inventory
    from commerce.cart import merge
    from commerce.checkout.checkouts import hand_over as hand_over_checkouts
    from commerce.orders.fulfilment import hand_over as hand_over_orders

    guest, user = f"guest:{guest_id}", f"user:{user_id}"
    await merge(session, guest, user)
    await inventory.hand_over(session, guest, user)
    await hand_over_checkouts(session, guest, user_id)
    await hand_over_orders(session, guest, user_id)
