"""Transactional pushes through the same path: an order shipped (commerce's own service), an agent's reply
nobody saw, a flash sale someone asked to be reminded of; tests to the marketer; clicks and conversions."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from commerce.orders import fulfilment
from commerce.orders.models import Order
from engage.chat import Conversation
from engage.chat.models import Message
from engage.flash_sales.models import FlashSale
from engage.flash_sales.timeline import announce_transitions
from engage.platform.clock import utcnow
from engage.platform.events import DomainEvent
from engage.platform.identity import Role
from engage.push import notifications, results
from engage.push.models import MessageStatus, PushCampaign, PushMessageRecord
from engage.services import Services
from tests.commerce.conftest import make_product
from tests.flash_sales.conftest import make_sale
from tests.push.conftest import add_devices, audience, csrf, make_users, set_prefs, sign_in
from tests.push.push_service import PushService
from workers.push import push_sink


async def deliveries_for(
    service: PushService, people: list[Any], count: int, within: float = 15.0
) -> list[Any]:
    ids = {service.id_of(d["endpoint"]) for p in people for d in p.devices}
    deadline = asyncio.get_running_loop().time() + within
    while True:
        got = [d for d in service.deliveries if d.subscription_id in ids]
        if len(got) >= count or asyncio.get_running_loop().time() > deadline:
            return got
        await asyncio.sleep(0.05)


async def paid_order(services: Services, user_id: int) -> Order:
    order = Order(
        number=f"N{uuid.uuid4().hex[:8].upper()}",
        checkout_id=uuid.uuid4().hex,
        owner_key=f"user:{user_id}",
        user_id=user_id,
        email="buyer@example.test",
        status="paid",
        currency="usd",
        subtotal_cents=5000,
        shipping_cents=0,
        tax_cents=0,
        total_cents=5000,
        paid_at=utcnow(),
    )
    async with services.sessionmaker() as session:
        session.add(order)
        await session.commit()
    return order


async def test_an_order_shipped_is_pushed_to_each_device_once(
    push_services: Services, push_service: PushService, worker: None
) -> None:
    [person] = await audience(push_services, push_service, 1, devices=2, offers=False)
    order = await paid_order(push_services, person.user_id)
    async with push_services.sessionmaker() as session:
        await fulfilment.ship(session, order.number, actor="user:1", tracking_number="1Z999", carrier="UPS")
    got = await deliveries_for(push_service, [person], 2)
    assert len(got) == 2
    payload = got[0].json
    assert payload["kind"] == "order_updates" and payload["title"] == f"Order {order.number} is on its way"
    assert payload["body"].startswith("UPS tracking 1Z999, expected ")
    assert payload["url"] == f"https://shop.example/orders/{order.number}"
    assert payload["tag"] == f"order-{order.id}" and payload["renotify"] is True
    assert payload["preferences_url"] is None and payload["campaign"] is None
    assert (got[0].ttl, got[0].urgency, got[0].topic) == (2 * 86400, "normal", f"order-{order.id}")
    # the same status again (a retried job, a replayed event) queues nothing more
    async with push_services.sessionmaker() as session:
        notice = notifications.order_notice(
            order_id=order.id, number=order.number, status="shipped", carrier="UPS", tracking_number="1Z999"
        )
        assert await notifications.notify(session, push_services.push, [person.owner.key], notice) == []
    async with push_services.sessionmaker() as session:
        await fulfilment.deliver(session, order.number, actor="user:1")
    got = await deliveries_for(push_service, [person], 4)
    assert len(got) == 4 and got[-1].json["title"] == f"Order {order.number} was delivered"
    assert push_service.duplicate_count == 0


async def test_order_updates_switched_off_push_nothing(
    push_services: Services, push_service: PushService, worker: None
) -> None:
    [person] = await audience(push_services, push_service, 1, offers=False)
    await set_prefs(push_services, person, topics={"order_updates": {"push": False}})
    order = await paid_order(push_services, person.user_id)
    async with push_services.sessionmaker() as session:
        await fulfilment.ship(session, order.number, actor="user:1", tracking_number="1Z1", carrier="DHL")
    await asyncio.sleep(1.0)
    assert await deliveries_for(push_service, [person], 1, within=0.5) == []


async def test_an_agent_reply_nobody_saw_is_pushed(
    push_services: Services, push_service: PushService, worker: None
) -> None:
    seen, unseen = await audience(push_services, push_service, 2, offers=False)
    async with push_services.sessionmaker() as session:
        convs = [
            Conversation(owner_key=p.owner.key, user_id=p.user_id, last_seq=3, last_public_seq=3)
            for p in (seen, unseen)
        ]
        session.add_all(convs)
        await session.commit()
        convs[0].shopper_delivered_seq = 3  # an open widget confirmed it
        await session.commit()
    sink = push_sink(push_services)
    for conv in convs:
        message = {
            "id": conv.id * 10,
            "public_seq": 3,
            "author": "agent",
            "author_name": "Sam",
            "private": False,
            "text": "Your parcel left this morning.  It should arrive Friday.",
        }
        await sink(
            [
                DomainEvent(
                    "chat.message",
                    {"conversation_id": conv.id, "seq": 3, "message": message},
                    (f"conversation:{conv.id}",),
                )
            ]
        )
        staff_copy = {**message, "author": "agent"}  # the staff channel's copy never pushes
        await sink(
            [
                DomainEvent(
                    "chat.message",
                    {"conversation_id": conv.id, "seq": 5, "message": staff_copy},
                    (f"conversation-staff:{conv.id}",),
                )
            ]
        )
    got = await deliveries_for(push_service, [seen, unseen], 1)
    await asyncio.sleep(0.5)
    got = await deliveries_for(push_service, [seen, unseen], 1)
    assert [d.subscription_id for d in got] == [push_service.id_of(unseen.devices[0]["endpoint"])]
    payload = got[0].json
    assert (payload["kind"], payload["title"], payload["body"]) == (
        "chat_replies",
        "Sam replied",
        "Your parcel left this morning. It should arrive Friday.",
    )
    assert (
        payload["tag"] == f"chat-{convs[1].id}"
        and payload["url"] == f"https://shop.example/?chat={convs[1].id}"
    )
    assert (got[0].urgency, got[0].ttl) == ("high", 3600)


async def test_replies_in_one_window_share_one_notice_with_the_newest(
    push_services: Services, push_service: PushService, worker: None
) -> None:
    """Three replies within the push delay: one job (the first reply's), which pushes the newest reply."""
    (person,) = await audience(push_services, push_service, 1, offers=False)
    texts = ["Let me check.", "Found it.", "It ships tomorrow morning."]
    async with push_services.sessionmaker() as session:
        conv = Conversation(owner_key=person.owner.key, user_id=person.user_id, last_seq=3, last_public_seq=3)
        session.add(conv)
        await session.flush()
        replies = [
            Message(
                conversation_id=conv.id,
                seq=n,
                public_seq=n,
                kind="message",
                author="agent",
                author_key="user:1",
                author_name="Sam",
                body=text,
                client_id=uuid.uuid4().hex,
            )
            for n, text in enumerate(texts, start=1)
        ]
        session.add_all(replies)
        await session.commit()
    policy = push_services.push.policy
    push_services.push.policy = dataclasses.replace(policy, chat_delay=timedelta(seconds=1))
    try:
        sink = push_sink(push_services)
    finally:
        push_services.push.policy = policy
    jobs, enqueue = push_services.runtime.jobs, push_services.runtime.jobs.enqueue
    reply_jobs: list[Any] = []

    async def enqueue_seen(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "push_chat_reply":
            reply_jobs.append(args)
        return await enqueue(name, *args, **kwargs)

    jobs.enqueue = enqueue_seen  # type: ignore[method-assign]
    try:
        await _send_replies(sink, conv.id, replies)
    finally:
        del jobs.enqueue
    got = await deliveries_for(push_service, [person], 1)
    await asyncio.sleep(0.5)
    got = await deliveries_for(push_service, [person], 1)
    assert [d.json["body"] for d in got] == ["It ships tomorrow morning."]
    assert [args[0] for args in reply_jobs] == [conv.id]


async def _send_replies(sink: Any, conversation_id: int, replies: list[Message]) -> None:
    for reply in replies:
        message = {
            "id": reply.id,
            "public_seq": reply.public_seq,
            "author": "agent",
            "author_name": "Sam",
            "private": False,
            "text": reply.body,
        }
        event = {"conversation_id": conversation_id, "seq": reply.seq, "message": message}
        await sink([DomainEvent("chat.message", event, (f"conversation:{conversation_id}",))])


async def test_flash_sale_reminders_when_it_starts(
    push_services: Services, push_service: PushService, worker: None, browser_for, http
) -> None:
    async with push_services.sessionmaker() as session:
        product = await make_product(session, stock=20, price=3000)
    sale_id = await make_sale(
        push_services.runtime, [product.variants[0].id], units=5, starts_in=timedelta(hours=1)
    )
    [person] = await audience(push_services, push_service, 1, offers=False)
    await sign_in(http, person)
    res = await http.post(f"/api/flash-sales/{sale_id}/reminders", headers=person.headers)
    assert res.status_code == 201, res.text
    assert (
        await http.post(f"/api/flash-sales/{sale_id}/reminders", headers=person.headers)
    ).status_code == 201
    assert (await http.get(f"/api/flash-sales/{sale_id}/reminders", headers=person.headers)).json()[
        "reminder"
    ] is True
    guest = await browser_for()
    device = push_service.new_subscription()
    assert (await guest.post("/api/push/subscriptions", json=device, headers=csrf(guest))).status_code == 201
    assert (await guest.post(f"/api/flash-sales/{sale_id}/reminders", headers=csrf(guest))).status_code == 201
    async with push_services.sessionmaker() as session:
        await session.execute(
            update(FlashSale).where(FlashSale.id == sale_id).values(starts_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
        await announce_transitions(session)
    ids = {push_service.id_of(person.devices[0]["endpoint"]), push_service.id_of(device["endpoint"])}
    for _ in range(300):
        got = [d for d in push_service.deliveries if d.subscription_id in ids]
        if len(got) >= 2:
            break
        await asyncio.sleep(0.05)
    assert len(got) == 2
    assert {d.json["kind"] for d in got} == {"flash_sales"} and got[0].json["title"].endswith("has started")
    assert (
        got[0].json["url"] == f"https://shop.example/products/{product.handle}" and got[0].urgency == "high"
    )
    assert 7000 < got[0].ttl <= 7200  # until the sale ends
    # live now: a new reminder is pointless
    res = await http.post(f"/api/flash-sales/{sale_id}/reminders", headers=person.headers)
    assert res.status_code == 409 and res.json()["code"] == "sale_live"


async def test_send_a_test_to_me(
    http, push_services: Services, push_service: PushService, worker: None
) -> None:
    [mo] = await make_users(push_services, 1, Role.marketer)
    await sign_in(http, mo)
    await add_devices(push_services, push_service, mo, 1, offers=False)  # tests ignore preferences
    res = await http.post(
        "/api/marketing/campaigns", json={"name": "T", "title": "Try me", "url": "/x"}, headers=mo.headers
    )
    cid = res.json()["id"]
    res = await http.post(f"/api/marketing/campaigns/{cid}/test", json={"variant": "A"}, headers=mo.headers)
    assert res.status_code == 202 and res.json() == {"queued": 1}
    [got] = await deliveries_for(push_service, [mo], 1)
    assert (
        got.json["kind"] == "test"
        and got.json["title"] == "Try me"
        and got.json["campaign"] == {"id": cid, "variant": "A"}
    )
    assert (
        await http.post(f"/api/marketing/campaigns/{cid}/test", json={"variant": "B"}, headers=mo.headers)
    ).status_code == 404
    view = (await http.get(f"/api/marketing/campaigns/{cid}", headers=mo.headers)).json()
    assert view["status"] == "draft" and view["figures"]["total"]["sent"] == 0, (
        "a test is not part of the figures"
    )


async def test_clicks_then_a_paid_order_convert(push_services: Services, push_service: PushService) -> None:
    from tests.push.test_campaigns import compose, run, send

    await audience(push_services, push_service, 4)
    campaign_id = await compose(push_services, holdout_percent=50)
    await send(push_services, campaign_id)
    assert await run(push_services, campaign_id) == "sent"
    async with push_services.sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(PushMessageRecord).where(PushMessageRecord.campaign_id == campaign_id)
            )
        )
    sent = [r for r in rows if r.status == MessageStatus.sent.value]
    held = [r for r in rows if r.status == MessageStatus.held_out.value]
    assert len(sent) + len(held) == 4
    from engage.push import links

    buyer_ids = set()
    if sent:
        r = sent[0]
        async with push_services.sessionmaker() as session:
            assert await results.record_click(
                session, push_services.push, r.id, links.click_token(push_services.push, r.id)
            )
        async with push_services.sessionmaker() as session:
            assert not await results.record_click(
                session, push_services.push, r.id, links.click_token(push_services.push, r.id)
            )
        buyer_ids.add(r.user_id)
    if held:
        buyer_ids.add(held[0].user_id)
    for user_id in buyer_ids:
        order = await paid_order(push_services, user_id)
        async with push_services.sessionmaker() as session:
            assert await results.record_conversion(session, push_services.push, user_id, order.id) == 1
        async with push_services.sessionmaker() as session:
            assert await results.record_conversion(session, push_services.push, user_id, order.id) == 0
    async with push_services.sessionmaker() as session:
        from engage.push import campaigns

        figures = await campaigns.figures(session, campaign_id)
    by_key = {f["key"]: f for f in figures["variants"]}
    assert figures["total"]["converted"] == len(buyer_ids)
    if sent:
        assert by_key["A"]["clicked"] == 1 and by_key["A"]["converted"] == 1 and by_key["A"]["click_rate"] > 0
    if held:
        assert by_key["holdout"]["converted"] == 1
    # a click long ago does not convert
    if sent:
        async with push_services.sessionmaker() as session:
            await session.execute(
                update(PushMessageRecord)
                .where(PushMessageRecord.id == sent[0].id)
                .values(clicked_at=utcnow() - timedelta(days=3), converted_at=None, order_id=None)
            )
            await session.commit()
            late = await paid_order(push_services, sent[0].user_id)
            assert await results.record_conversion(session, push_services.push, sent[0].user_id, late.id) == 0
    assert PushCampaign
