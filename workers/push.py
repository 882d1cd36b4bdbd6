"""Web Push jobs and sinks: thin doors onto engage.push.

- `push_campaign`: drives one campaign for up to 25 s (engage.push.sending.drive), then enqueues its successor
  (a job id per run: arq refuses a second job with the id of one queued or running). A campaign is driven by
  one job at a time (a lease on its row); a duplicate job finds the lease taken and ends.
- `push_deliver`: transactional and test messages by id; re-enqueued for retries and quiet hours.
- `push_upkeep` (every 10 s): campaigns due or stalled (their successor job was lost: Redis restarted, a
  worker died) get a driver; transactional messages left due get sent.
- Sinks: campaign state changes start drivers; queued messages are delivered; commerce's `order.updated`
  (shipped, delivered, refunded) and chat's agent replies notify; flash sales' `sale.started` sends the
  reminders; paid orders count conversions.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from commerce.orders.events import OrderUpdated
from engage.chat import agent_reply, conversation_channel
from engage.flash_sales.events import SaleStarted
from engage.platform.clock import epoch_ms, utcnow
from engage.platform.events import DomainEvent, Sink
from engage.push import notifications, reminders, results, sending
from engage.push.events import CampaignStateChanged
from engage.push.models import CampaignStatus
from engage.push.notifications import ORDER_STATUSES, MessagesQueued, ReplyNoticeWindows
from engage.services import Services

log = logging.getLogger("engage.push")

DRIVE_SECONDS = 25.0  # one job's share of a campaign; then a successor job continues it
DELIVER_CHUNK = 500


def _job_id(services: Services, *parts: object) -> str:
    """arq keeps job ids in one namespace per Redis, whatever the queue: name the deployment in them."""
    return ":".join([services.runtime.queue_name, "push", *(str(p) for p in parts)])


async def push_campaign(ctx: dict[str, Any], campaign_id: int) -> str:
    services: Services = ctx["services"]
    again = await sending.drive(
        services.sessionmaker, services.push, campaign_id, budget_seconds=DRIVE_SECONDS
    )
    if again is None:
        return "done"
    at = utcnow() + timedelta(seconds=again)
    await services.runtime.jobs.enqueue(
        "push_campaign",
        campaign_id,
        job_id=_job_id(services, "campaign", campaign_id, epoch_ms(at)),
        defer_seconds=again,
    )
    return f"again in {again:.1f} s"


async def push_deliver(ctx: dict[str, Any], ids: list[int]) -> str:
    """These messages, a batch at a time while some are due; the ones due later (quiet hours, a retry) by a
    job of their own then."""
    services: Services = ctx["services"]
    later = await sending.send_all_due(services.sessionmaker, services.push, ids)
    if later is None:
        return "done"
    due = max(later, utcnow())
    defer = (due - utcnow()).total_seconds()
    await services.runtime.jobs.enqueue(
        "push_deliver", ids, job_id=_job_id(services, "deliver", ids[0], epoch_ms(due)), defer_seconds=defer
    )
    return f"again in {defer:.1f} s"


async def push_order_update(ctx: dict[str, Any], user_id: int, order: dict[str, Any]) -> int:
    services: Services = ctx["services"]
    notice = notifications.order_notice(
        order_id=int(order["order_id"]),
        number=str(order["number"]),
        status=str(order["status"]),
        refunded_cents=int(order.get("refunded_cents") or 0),
        currency=str(order.get("currency") or services.settings.currency),
        carrier=order.get("carrier"),
        tracking_number=order.get("tracking_number"),
        expected_delivery=order.get("expected_delivery"),
    )
    if notice is None:
        return 0
    async with services.sessionmaker() as session:
        return len(await notifications.notify(session, services.push, [f"user:{user_id}"], notice))


async def push_chat_reply(ctx: dict[str, Any], conversation_id: int, message: dict[str, Any]) -> int:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        ids = await notifications.chat_reply(
            session,
            services.push,
            conversation_id=conversation_id,
            message_id=int(message["id"]),
            public_seq=int(message["public_seq"]),
            author_name=str(message.get("author_name") or ""),
            text=str(message.get("text") or ""),
            watched_here=services.realtime.watchers(conversation_channel(conversation_id)) > 0,
        )
    return len(ids)


async def push_sale_reminders(ctx: dict[str, Any], sale_id: int) -> int:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        return await reminders.send_reminders(session, services.push, sale_id)


async def push_record_conversion(ctx: dict[str, Any], user_id: int, order_id: int) -> int:
    services: Services = ctx["services"]
    async with services.sessionmaker() as session:
        return await results.record_conversion(session, services.push, user_id, order_id)


async def push_upkeep(ctx: dict[str, Any], grace_seconds: float = 30.0) -> None:
    """Campaigns that should be moving and are not get a driver; lost transactional messages get sent."""
    services: Services = ctx["services"]
    now = utcnow()
    async with services.sessionmaker() as session:
        campaigns, messages = await sending.stalled(session, now, timedelta(seconds=grace_seconds))
        await session.commit()
    for campaign_id in campaigns:
        await services.runtime.jobs.enqueue(
            "push_campaign",
            campaign_id,
            job_id=_job_id(services, "campaign", campaign_id, "upkeep", epoch_ms(now) // 10_000),
        )
    if messages:
        log.info("push: sending %d transactional messages whose job was lost", len(messages))
        await sending.send_messages(services.sessionmaker, services.push, messages)


# ---- sinks ------------------------------------------------------------------------------------------------


def push_sink(services: Services) -> Sink:
    """Committed events -> push jobs (sinks never wait on the database or the network)."""
    jobs = services.runtime.jobs
    chat_delay = services.push.policy.chat_delay.total_seconds()
    reply_windows = ReplyNoticeWindows(chat_delay)

    async def sink(events: list[DomainEvent]) -> None:
        for e in events:
            if e.type == CampaignStateChanged.type:
                if e.data["to_status"] in (CampaignStatus.sending.value, CampaignStatus.scheduled.value):
                    campaign_id = int(e.data["campaign_id"])
                    await jobs.enqueue(
                        "push_campaign",
                        campaign_id,
                        job_id=_job_id(services, "campaign", campaign_id, "kick", e.data["at"]),
                    )
            elif e.type == MessagesQueued.type:
                ids = list(e.data["ids"])
                for start in range(0, len(ids), DELIVER_CHUNK):
                    chunk = ids[start : start + DELIVER_CHUNK]
                    await jobs.enqueue(
                        "push_deliver", chunk, job_id=_job_id(services, "deliver", chunk[0], "new")
                    )
            elif e.type == OrderUpdated.type:
                user = next((c.split(":", 1)[1] for c in e.channels if c.startswith("user:")), None)
                if user is None or not user.isdigit():
                    continue
                status = e.data.get("status")
                if status in ORDER_STATUSES:
                    key = f"{e.data['order_id']}:{status}:{e.data.get('refunded_cents')}"
                    await jobs.enqueue(
                        "push_order_update", int(user), e.data, job_id=_job_id(services, "order", key)
                    )
                elif status == "paid":
                    await jobs.enqueue(
                        "push_record_conversion",
                        int(user),
                        int(e.data["order_id"]),
                        job_id=_job_id(services, "conversion", e.data["order_id"]),
                    )
            elif (reply := agent_reply(e)) is not None:
                conversation_id, message = reply
                if not reply_windows.opens(conversation_id):
                    continue  # the pending job pushes the newest reply nobody saw
                await jobs.enqueue(
                    "push_chat_reply",
                    conversation_id,
                    {k: message.get(k) for k in ("id", "public_seq", "author_name", "text")},
                    job_id=_job_id(services, "chat", message["id"]),
                    defer_seconds=chat_delay,
                )
            elif e.type == SaleStarted.type:
                sale_id = int(e.data["sale_id"])
                await jobs.enqueue("push_sale_reminders", sale_id, job_id=_job_id(services, "sale", sale_id))

    return sink
