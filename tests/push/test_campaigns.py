"""Campaigns end to end against the loopback push service: exactly once, outcomes, preferences at send time,
quiet hours, frequency caps, throttling, A/B, races, a killed sender, pause/resume/cancel, roles."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from engage.platform.clock import utcnow
from engage.platform.identity import Identity, Role
from engage.push import campaigns, sending
from engage.push.models import (
    CampaignStatus,
    MessageStatus,
    PushCampaign,
    PushMessageRecord,
    PushSubscription,
)
from engage.services import Services
from tests.push.conftest import audience, eventually, make_users, set_prefs, sign_in
from tests.push.push_service import PushService

MARKETER = Identity(user_id=None, role=Role.marketer, name="Mo")


async def compose(services: Services, **fields: Any) -> int:
    data = {
        "name": "Winter sale",
        "content": campaigns.Content(title="Winter sale", body="Umbrellas -30 %", url="/sale"),
    }
    data.update(fields)
    async with services.sessionmaker() as session:
        return (await campaigns.create(session, services.push, MARKETER, campaigns.Draft(**data))).id


HOLD = "held-by-the-test"


async def send(services: Services, campaign_id: int) -> None:
    """Send now, the test driving it: the driver job the state change starts (embedded mode runs it at once)
    finds the campaign held and leaves it to the test (`run`, or `sending.advance` step by step)."""
    async with services.sessionmaker() as session:
        await session.execute(
            update(PushCampaign)
            .where(PushCampaign.id == campaign_id)
            .values(driver_token=HOLD, driver_until=utcnow() + timedelta(hours=1))
        )
        await session.commit()
        await campaigns.send_now(session, campaign_id, MARKETER)
    await asyncio.sleep(0.05)  # the job starts, sees the hold, ends


async def let_go(services: Services, campaign_id: int) -> None:
    async with services.sessionmaker() as session:
        await session.execute(
            update(PushCampaign)
            .where(PushCampaign.id == campaign_id, PushCampaign.driver_token == HOLD)
            .values(driver_token=None, driver_until=None)
        )
        await session.commit()


async def status_of(services: Services, campaign_id: int) -> str:
    async with services.sessionmaker() as session:
        return (await session.get(PushCampaign, campaign_id, populate_existing=True)).status


async def run(services: Services, campaign_id: int, within: float = 30) -> str:
    """Drive the campaign (as its job does) until it is no longer live."""
    await let_go(services, campaign_id)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        again = await sending.drive(services.sessionmaker, services.push, campaign_id, budget_seconds=5)
        status = await status_of(services, campaign_id)
        if status not in campaigns.LIVE:
            return status
        await asyncio.sleep(min(again if again is not None else 0.05, 0.5))
    raise TimeoutError(f"campaign #{campaign_id} still {await status_of(services, campaign_id)}")


async def figures(services: Services, campaign_id: int) -> dict[str, Any]:
    async with services.sessionmaker() as session:
        return (await campaigns.figures(session, campaign_id))["total"]


async def messages(services: Services, campaign_id: int) -> list[PushMessageRecord]:
    async with services.sessionmaker() as session:
        return list(
            await session.scalars(
                select(PushMessageRecord).where(PushMessageRecord.campaign_id == campaign_id)
            )
        )


def mine(service: PushService, people: list[Any]) -> list[Any]:
    ids = {service.id_of(d["endpoint"]) for p in people for d in p.devices}
    return [d for d in service.deliveries if d.subscription_id in ids]


async def test_a_campaign_reaches_each_device_exactly_once(
    push_services: Services, push_service: PushService
) -> None:
    people = await audience(push_services, push_service, 12, devices=2)
    not_opted = await audience(push_services, push_service, 3, offers=False)
    campaign_id = await compose(
        push_services,
        content=campaigns.Content(
            title="Winter sale",
            body="Umbrellas -30 % ☂",
            url="/sale",
            icon="/static/icon.png",
            actions=[campaigns.Action("shop", "Shop now", "/sale"), campaigns.Action("later", "Later")],
        ),
    )
    await send(push_services, campaign_id)
    assert await run(push_services, campaign_id) == CampaignStatus.sent.value
    got = mine(push_service, people + not_opted)
    assert len(got) == 24
    assert {d.subscription_id for d in got} == {
        push_service.id_of(d["endpoint"]) for p in people for d in p.devices
    }
    assert push_service.duplicate_count == 0
    payload = got[0].json
    assert payload["v"] == 1 and payload["kind"] == "campaign"
    assert (payload["title"], payload["body"]) == ("Winter sale", "Umbrellas -30 % ☂")
    assert (
        payload["url"] == "https://shop.example/sale"
        and payload["icon"] == "https://shop.example/static/icon.png"
    )
    assert payload["actions"] == [
        {"action": "shop", "title": "Shop now", "url": "https://shop.example/sale"},
        {"action": "later", "title": "Later", "url": "https://shop.example/sale"},
    ]
    assert payload["tag"] == f"campaign-{campaign_id}" and payload["campaign"] == {
        "id": campaign_id,
        "variant": "A",
    }
    assert (
        payload["click"]["url"] == "https://shop.example/api/push/clicks"
        and len(payload["click"]["token"]) == 22
    )
    assert payload["preferences_url"].startswith("https://shop.example/notifications/preferences?token=")
    assert len(got[0].plaintext) < 3000
    assert (got[0].ttl, got[0].urgency, got[0].topic) == (24 * 3600, "normal", f"c{campaign_id}")
    total = await figures(push_services, campaign_id)
    assert (total["drawn"], total["sent"], total["accepted"], total["failed"]) == (24, 24, 24, 0)

    # sending it again sends nothing more
    await send(push_services, campaign_id)
    assert await run(push_services, campaign_id) == CampaignStatus.sent.value
    assert len(mine(push_service, people)) == 24 and push_service.duplicate_count == 0


async def test_expired_subscriptions_are_deleted(push_services: Services, push_service: PushService) -> None:
    ok = await audience(push_services, push_service, 2)
    gone404 = await audience(push_services, push_service, 1, behaviour="gone404")
    gone410 = await audience(push_services, push_service, 1, behaviour="gone410")
    bad = await audience(push_services, push_service, 1, behaviour="bad400")
    campaign_id = await compose(push_services)
    await send(push_services, campaign_id)
    assert await run(push_services, campaign_id) == CampaignStatus.sent.value
    async with push_services.sessionmaker() as session:
        remaining = set(
            await session.scalars(
                select(PushSubscription.id).where(
                    PushSubscription.id.in_(
                        [i for p in ok + gone404 + gone410 + bad for i in p.subscription_ids]
                    )
                )
            )
        )
    assert remaining == {i for p in ok + bad for i in p.subscription_ids}
    rows = {m.owner_key: m for m in await messages(push_services, campaign_id)}
    assert rows[gone410[0].owner.key].status == "failed" and rows[gone410[0].owner.key].reason.startswith(
        "gone: 410"
    )
    assert rows[bad[0].owner.key].status == "failed" and "400" in rows[bad[0].owner.key].reason
    total = await figures(push_services, campaign_id)
    assert (total["accepted"], total["failed"]) == (2, 3)


@pytest.mark.slow
async def test_429_and_500_are_retried_with_backoff_then_delivered(
    push_services: Services, push_service: PushService
) -> None:
    throttled = await audience(
        push_services, push_service, 1, behaviour="retry429", failures=2, retry_after=1
    )
    erroring = await audience(push_services, push_service, 1, behaviour="error500", failures=1)
    campaign_id = await compose(push_services)
    await send(push_services, campaign_id)
    started = time.monotonic()
    assert await run(push_services, campaign_id) == CampaignStatus.sent.value
    assert time.monotonic() - started >= 2.0, "Retry-After: 1 twice was honoured"
    got = mine(push_service, throttled + erroring)
    assert len(got) == 2 and push_service.duplicate_count == 0
    rows = {m.owner_key: m for m in await messages(push_services, campaign_id)}
    assert rows[throttled[0].owner.key].attempts == 3 and rows[erroring[0].owner.key].attempts == 2
    assert all(m.status == "sent" for m in rows.values())


@pytest.mark.slow
async def test_retries_are_bounded(push_services: Services, push_service: PushService) -> None:
    stubborn = await audience(push_services, push_service, 1, behaviour="error500", failures=100)
    campaign_id = await compose(push_services)
    await send(push_services, campaign_id)
    async with push_services.sessionmaker() as session:  # no waiting for backoff: make retries due at once
        await session.execute(
            update(PushMessageRecord).where(PushMessageRecord.campaign_id == campaign_id).values(attempts=4)
        )
        await session.commit()
    assert await run(push_services, campaign_id) == CampaignStatus.sent.value
    [row] = await messages(push_services, campaign_id)
    assert row.status == "failed" and row.reason.startswith("gave up after 5 attempts: 500")
    assert len(mine(push_service, stubborn)) == 0


async def test_unauthorized_stops_the_campaign_and_alerts_staff(
    push_services: Services, push_service: PushService
) -> None:
    people = await audience(push_services, push_service, 3)
    refusing = await audience(push_services, push_service, 1, behaviour="unauthorized401")
    seen = []

    async def sink(events) -> None:
        seen.extend(e for e in events if e.type == "push.alert")

    push_services.runtime.publisher.add_sink(sink)
    try:
        campaign_id = await compose(push_services)
        await send(push_services, campaign_id)
        assert await run(push_services, campaign_id) == CampaignStatus.stopped.value
        await push_services.runtime.publisher.drain()
    finally:
        push_services.runtime.publisher._sinks.remove(sink)
    async with push_services.sessionmaker() as session:
        campaign = await session.get(PushCampaign, campaign_id)
        view = await campaigns.view(session, campaign_id)
    assert "refused our VAPID key" in campaign.stop_reason
    assert view["history"][-1]["to"] == "stopped" and view["history"][-1]["actor"] == "system"
    assert seen and seen[0].channels == ("push-alerts",) and seen[0].data["campaign_id"] == campaign_id
    rows = {m.owner_key: m for m in await messages(push_services, campaign_id)}
    assert rows[refusing[0].owner.key].status == "queued", "kept for a resume once the keys are fixed"
    assert len(mine(push_service, people)) <= 3


@pytest.mark.slow
async def test_a_preference_changed_mid_send_is_honoured(
    push_services: Services, push_service: PushService
) -> None:
    people = await audience(push_services, push_service, 6)
    campaign_id = await compose(push_services, rate_per_minute=60)  # two per step, a step every two seconds
    await send(push_services, campaign_id)
    task = asyncio.create_task(run(push_services, campaign_id))
    await eventually(lambda: len(mine(push_service, people)) >= 2)
    reached = {d.subscription_id for d in mine(push_service, people)}
    later = [p for p in people if push_service.id_of(p.devices[0]["endpoint"]) not in reached]
    await set_prefs(push_services, later[0], marketing_unsubscribed=True)
    await set_prefs(push_services, later[1], topics={"offers": {"push": False}})
    assert await task == CampaignStatus.sent.value
    got = {d.subscription_id for d in mine(push_service, people)}
    assert push_service.id_of(later[0].devices[0]["endpoint"]) not in got
    assert push_service.id_of(later[1].devices[0]["endpoint"]) not in got
    assert len(got) == 4
    rows = {m.owner_key: m for m in await messages(push_services, campaign_id)}
    assert rows[later[0].owner.key].status == "skipped" and "preferences" in rows[later[0].owner.key].reason
    assert (await figures(push_services, campaign_id))["skipped"] == 2


@pytest.mark.slow
async def test_throttling_spreads_the_sends(push_services: Services, push_service: PushService) -> None:
    people = await audience(push_services, push_service, 12)
    campaign_id = await compose(push_services, rate_per_minute=120)  # 2 per second: steps of 4 every 2 s
    await send(push_services, campaign_id)
    assert await run(push_services, campaign_id) == CampaignStatus.sent.value
    times = sorted(d.received_at for d in mine(push_service, people))
    assert len(times) == 12
    assert times[-1] - times[0] >= 3.5, "12 messages at 2/s: three steps two seconds apart, not a burst"
    # the throttle's decisions: in any two seconds, at most one step's worth (4 = two seconds at the rate)
    claimed = sorted(m.claimed_at.timestamp() for m in await messages(push_services, campaign_id))
    assert max(sum(1 for t in claimed if s <= t < s + 1.95) for s in claimed) <= 4


async def test_quiet_hours_defer_and_never_drop(push_services: Services, push_service: PushService) -> None:
    now = utcnow()
    zone = "UTC"
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=1)).strftime("%H:%M")
    quiet = await audience(push_services, push_service, 1, timezone=zone)
    await set_prefs(push_services, quiet[0], quiet_hours={"start": start, "end": end})
    awake = await audience(push_services, push_service, 1)
    campaign_id = await compose(push_services)
    await send(push_services, campaign_id)
    for _ in range(3):
        async with push_services.sessionmaker() as session:
            step = await sending.advance(session, push_services.push, campaign_id, None)
        if step.claimed:
            await sending.deliver(push_services.sessionmaker, push_services.push, step.claimed)
    rows = {m.owner_key: m for m in await messages(push_services, campaign_id)}
    deferred = rows[quiet[0].owner.key]
    assert deferred.status == "queued" and deferred.send_at > now + timedelta(minutes=50)
    assert deferred.expires_at >= deferred.send_at + timedelta(hours=23)
    assert rows[awake[0].owner.key].status == "sent"
    assert await status_of(push_services, campaign_id) == "sending"
    # when the quiet hours are over it goes
    await set_prefs(push_services, quiet[0], clear_quiet_hours=True)
    async with push_services.sessionmaker() as session:
        await session.execute(
            update(PushMessageRecord).where(PushMessageRecord.id == deferred.id).values(send_at=utcnow())
        )
        await session.commit()
    assert await run(push_services, campaign_id) == "sent"
    assert len(mine(push_service, quiet + awake)) == 2


@pytest.mark.parametrize("policy", ["wait", "drop"])
async def test_the_frequency_cap_spans_campaigns(
    push_services: Services, push_service: PushService, policy: str
) -> None:
    from dataclasses import replace

    push_services.push.policy = replace(
        push_services.push.policy, frequency_cap=1, frequency_period=timedelta(hours=1)
    )
    people = await audience(push_services, push_service, 2, devices=2)
    first = await compose(push_services)
    await send(push_services, first)
    assert await run(push_services, first) == "sent"
    assert len(mine(push_service, people)) == 4, "one campaign to two devices counts once"
    second = await compose(push_services, cap_policy=policy)
    await send(push_services, second)
    if policy == "drop":
        assert await run(push_services, second) == "sent"
        rows = await messages(push_services, second)
        assert {m.status for m in rows} == {"skipped"} and "frequency cap" in rows[0].reason
    else:
        async with push_services.sessionmaker() as session:
            step = await sending.advance(session, push_services.push, second, None)
        assert not step.claimed
        rows = await messages(push_services, second)
        assert {m.status for m in rows} == {"queued"}
        assert all(m.send_at > utcnow() + timedelta(minutes=55) for m in rows), "waits for the window to pass"
    assert len(mine(push_service, people)) == 4


async def test_local_time_schedule_gives_each_zone_its_moment(
    push_services: Services, push_service: PushService
) -> None:
    paris = await audience(push_services, push_service, 1, timezone="Europe/Paris")
    tokyo = await audience(push_services, push_service, 1, timezone="Asia/Tokyo")
    nowhere = await audience(push_services, push_service, 1)
    campaign_id = await compose(push_services)
    local = (utcnow() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=None)
    async with push_services.sessionmaker() as session:
        await campaigns.schedule(session, campaign_id, MARKETER, campaigns.Schedule("local", local_at=local))
        campaign = await session.get(PushCampaign, campaign_id)
        assert campaign.status == "scheduled" and campaign.local_at == local.strftime("%Y-%m-%dT%H:%M")
        # drawing starts when 09:00 comes in the first time zone (UTC+14)
        assert campaign.scheduled_at.replace(tzinfo=None) == local - timedelta(hours=14)
        await session.execute(
            update(PushCampaign).where(PushCampaign.id == campaign_id).values(scheduled_at=utcnow())
        )
        await session.commit()
    async with push_services.sessionmaker() as session:
        step = await sending.advance(session, push_services.push, campaign_id, None)
    assert step.claimed == [] and step.wait is not None and step.wait >= 3600
    rows = {m.owner_key: m for m in await messages(push_services, campaign_id)}
    from datetime import UTC

    assert rows[paris[0].owner.key].send_at == local.replace(tzinfo=UTC) - timedelta(hours=1)
    assert rows[tokyo[0].owner.key].send_at == local.replace(tzinfo=UTC) - timedelta(hours=9)
    assert rows[nowhere[0].owner.key].send_at == local.replace(tzinfo=UTC)  # the default zone (UTC)


def test_the_winner_has_the_best_click_rate() -> None:
    def f(key: str, accepted: int, clicked: int) -> dict[str, Any]:
        return {"key": key, "accepted": accepted, "clicked": clicked}

    assert sending.pick_winner([f("A", 100, 5), f("B", 100, 9), f("C", 50, 4), f("holdout", 0, 0)]) == "B"
    assert sending.pick_winner([f("A", 100, 5), f("B", 10, 1)]) == "B"  # a rate, not a count
    assert sending.pick_winner([f("A", 100, 5), f("B", 200, 10)]) == "B"  # tie on rate: more clicks
    assert sending.pick_winner([f("A", 100, 5), f("B", 100, 5)]) == "A"  # full tie: A
    assert sending.pick_winner([f("A", 0, 0), f("B", 0, 0)]) == "A"


async def test_ab_test_then_the_rest_get_the_winner(
    push_services: Services, push_service: PushService
) -> None:
    people = await audience(push_services, push_service, 60)
    campaign_id = await compose(
        push_services,
        variants=[
            campaigns.Content(title="Variant B", body="b"),
            campaigns.Content(title="Variant C", body="c"),
        ],
        holdout_percent=10,
        test_percent=45,
        test_window_minutes=30,
    )
    await send(push_services, campaign_id)
    async with push_services.sessionmaker() as session:
        contents = (
            await sending.load_audience(
                session, push_services.push, await session.get(PushCampaign, campaign_id)
            )
        ).contents
        await session.commit()
    while True:
        async with push_services.sessionmaker() as session:
            step = await sending.advance(session, push_services.push, campaign_id, None)
        if step.claimed:
            await sending.deliver(push_services.sessionmaker, push_services.push, step.claimed, contents)
        elif step.wait != 0.0:
            break
    rows = await messages(push_services, campaign_id)
    groups = {}
    for m in rows:
        groups.setdefault(m.variant, []).append(m)
    assert set(groups) <= {"A", "B", "C", "holdout", "pending"} and {"A", "B", "C", "pending"} <= set(groups)
    assert all(m.status == "held_out" for m in groups.get("holdout", []))
    assert all(m.status == "queued" for m in groups["pending"])
    tested = [d for d in mine(push_service, people)]
    assert len(tested) == sum(len(groups[k]) for k in "ABC")
    titles = {d.json["campaign"]["variant"]: d.json["title"] for d in tested}
    assert titles == {"A": "Winter sale", "B": "Variant B", "C": "Variant C"}
    # B gets the clicks; the window ends; the rest get B
    from engage.push import links, results

    for d in tested:
        if d.json["campaign"]["variant"] == "B":
            async with push_services.sessionmaker() as session:
                await results.record_click(
                    session, push_services.push, int(d.json["message_id"]), d.json["click"]["token"]
                )
    async with push_services.sessionmaker() as session:
        await session.execute(
            update(PushCampaign)
            .where(PushCampaign.id == campaign_id)
            .values(test_ends_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert await run(push_services, campaign_id) == "sent"
    async with push_services.sessionmaker() as session:
        view = await campaigns.view(session, campaign_id)
    assert view["ab"]["winner"] == "B"
    assert any("A/B winner B" in h["note"] for h in view["history"])
    after = [d for d in mine(push_service, people) if d not in tested]
    assert after and {d.json["campaign"]["variant"] for d in after} == {"B"}
    assert len(mine(push_service, people)) == 60 - len(groups.get("holdout", []))
    assert push_service.duplicate_count == 0
    assert links  # the click tokens came from the payloads


async def test_two_senders_racing_deliver_once_each(
    push_services: Services, push_service: PushService
) -> None:
    from dataclasses import replace

    push_services.push.policy = replace(push_services.push.policy, batch_size=7, draw_page=11, flush_every=3)
    people = await audience(push_services, push_service, 40)
    campaign_id = await compose(push_services)
    await send(push_services, campaign_id)

    async def sender() -> None:  # a driver's loop without the driver's lease: only the claims protect
        while True:
            async with push_services.sessionmaker() as session:
                step = await sending.advance(session, push_services.push, campaign_id, None)
            if step.claimed:
                await sending.deliver(push_services.sessionmaker, push_services.push, step.claimed)
            elif step.finished or step.halted:
                return
            else:
                await asyncio.sleep(min(step.wait or 0.01, 0.1))

    await asyncio.gather(sender(), sender(), sender())
    assert await status_of(push_services, campaign_id) == "sent"
    got = mine(push_service, people)
    assert len(got) == 40 and push_service.duplicate_count == 0
    assert len({d.subscription_id for d in got}) == 40
    total = await figures(push_services, campaign_id)
    assert (total["drawn"], total["sent"], total["accepted"]) == (40, 40, 40)
    assert {m.attempts for m in await messages(push_services, campaign_id)} == {1}, (
        "no outcome went unrecorded"
    )


@pytest.mark.slow
async def test_a_sender_killed_midway_resumes_and_everyone_gets_it_once(
    push_services: Services, push_service: PushService
) -> None:
    from dataclasses import replace

    push_services.push.policy = replace(push_services.push.policy, batch_size=10, flush_every=5)
    people = await audience(push_services, push_service, 50)
    campaign_id = await compose(push_services, rate_per_minute=600)  # 20 per step, every two seconds
    await send(push_services, campaign_id)
    await let_go(push_services, campaign_id)
    driver = asyncio.create_task(
        sending.drive(push_services.sessionmaker, push_services.push, campaign_id, budget_seconds=60)
    )
    await eventually(lambda: len(mine(push_service, people)) >= 15)
    driver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await driver
    halfway = len(mine(push_service, people))
    assert 15 <= halfway < 50
    async with push_services.sessionmaker() as session:
        campaign = await session.get(PushCampaign, campaign_id)
        assert campaign.driver_token is None, "a cancelled driver gives the campaign back"
    assert await run(push_services, campaign_id) == "sent"
    got = mine(push_service, people)
    assert len(got) == 50 and push_service.duplicate_count == 0


async def test_a_row_whose_sender_died_is_sent_again_after_its_lease(
    push_services: Services, push_service: PushService
) -> None:
    """The honest case: a sender that died after claiming (no 201 recorded) leaves the row `sending`; when the
    lease runs out it is claimed again (one more attempt) and delivered."""
    people = await audience(push_services, push_service, 3)
    campaign_id = await compose(push_services)
    await send(push_services, campaign_id)
    async with push_services.sessionmaker() as session:
        step = await sending.advance(session, push_services.push, campaign_id, None)
    assert len(step.claimed) == 3  # ...and this sender dies before sending anything
    async with push_services.sessionmaker() as session:
        await session.execute(
            update(PushMessageRecord)
            .where(PushMessageRecord.campaign_id == campaign_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert await run(push_services, campaign_id) == "sent"
    assert len(mine(push_service, people)) == 3
    assert {m.attempts for m in await messages(push_services, campaign_id)} == {2}


@pytest.mark.slow
async def test_pause_resume_and_cancel(push_services: Services, push_service: PushService) -> None:
    people = await audience(push_services, push_service, 12)
    campaign_id = await compose(push_services, rate_per_minute=120)
    await send(push_services, campaign_id)
    task = asyncio.create_task(run(push_services, campaign_id))
    await eventually(lambda: len(mine(push_service, people)) >= 2)
    async with push_services.sessionmaker() as session:
        await campaigns.pause(session, campaign_id, MARKETER)
    assert await task == "paused"
    await asyncio.sleep(0.3)
    paused_at = len(mine(push_service, people))
    await asyncio.sleep(1.0)
    assert len(mine(push_service, people)) == paused_at, "nothing leaves while paused"
    async with push_services.sessionmaker() as session:
        await campaigns.resume(session, campaign_id, MARKETER)
    task = asyncio.create_task(run(push_services, campaign_id))
    await eventually(lambda: len(mine(push_service, people)) >= paused_at + 2)
    started = time.monotonic()
    async with push_services.sessionmaker() as session:
        report = await campaigns.cancel(session, campaign_id, MARKETER)
    assert await task == "cancelled"
    assert time.monotonic() - started < 3
    await asyncio.sleep(0.5)
    went = len(mine(push_service, people))
    assert report["accepted"] + report["in_flight"] >= went - 0 and report["cancelled"] >= 1
    assert went + report["cancelled"] == 12
    async with push_services.sessionmaker() as session:
        view = await campaigns.view(session, campaign_id)
        count = await session.scalar(
            select(func.count())
            .select_from(PushMessageRecord)
            .where(
                PushMessageRecord.campaign_id == campaign_id,
                PushMessageRecord.status == MessageStatus.cancelled.value,
            )
        )
    assert [h["to"] for h in view["history"]] == ["draft", "sending", "paused", "sending", "cancelled"]
    assert count == report["cancelled"]
    await asyncio.sleep(1.0)
    assert len(mine(push_service, people)) == went, "nothing leaves after the cancel"


async def test_campaign_api_roles_and_flow(http, push_services: Services, push_service: PushService) -> None:
    people = await audience(push_services, push_service, 3)
    shopper = people[0]
    await sign_in(http, shopper)
    [mo] = await make_users(push_services, 1, Role.marketer)
    [agent] = await make_users(push_services, 1, Role.agent)
    await sign_in(http, mo)
    await sign_in(http, agent)
    body = {"name": "Flash", "title": "Flash sale", "body": "Now", "url": "/sale"}
    for who, status in ((shopper, 403), (agent, 403)):
        assert (
            await http.post("/api/marketing/campaigns", json=body, headers=who.headers)
        ).status_code == status
        assert (await http.get("/api/marketing/campaigns", headers=who.headers)).status_code == status
    assert (await http.post("/api/marketing/campaigns", json=body)).status_code == 401
    res = await http.post("/api/marketing/campaigns", json=body, headers=mo.headers)
    assert res.status_code == 201, res.text
    created = res.json()
    assert created["status"] == "draft" and created["content"]["title"] == "Flash sale"
    assert created["history"][0]["to"] == "draft" and created["history"][0]["actor"] == f"user:{mo.user_id}"
    cid = created["id"]
    assert (await http.get(f"/api/marketing/campaigns/{cid}", headers=shopper.headers)).status_code == 403
    count = (await http.get(f"/api/marketing/campaigns/{cid}/audience", headers=mo.headers)).json()
    assert count == {"devices": 3, "people": 3}
    res = await http.put(
        f"/api/marketing/campaigns/{cid}", json={**body, "title": "Flash sale!"}, headers=mo.headers
    )
    assert res.status_code == 200 and res.json()["content"]["title"] == "Flash sale!"
    for bad in (
        {**body, "url": "javascript:alert(1)"},
        {**body, "icon": "http://insecure.example/i.png"},
        {**body, "title": ""},
        {
            **body,
            "actions": [
                {"action": "a", "title": "1"},
                {"action": "b", "title": "2"},
                {"action": "c", "title": "3"},
            ],
        },
        {**body, "body": "é" * 1500},
        {**body, "segment": {"include": [{"type": "bought_category", "category": "no-such-category"}]}},
        {**body, "segment": {"include": [{"type": "segment", "id": 987654}]}},
        {**body, "variants": [{"title": "B"}], "test_percent": 20},
    ):
        res = await http.post("/api/marketing/campaigns", json=bad, headers=mo.headers)
        assert res.status_code in (400, 422), (bad, res.text)
    res = await http.post(f"/api/marketing/campaigns/{cid}/send", headers=mo.headers)
    assert res.status_code == 200 and res.json()["status"] in (
        "sending",
        "sent",
    )  # embedded: its job may be done
    assert (
        await http.put(f"/api/marketing/campaigns/{cid}", json=body, headers=mo.headers)
    ).status_code == 409
    assert await run(push_services, cid) == "sent"
    res = await http.post(f"/api/marketing/campaigns/{cid}/send", headers=mo.headers)
    assert res.status_code == 200 and res.json()["status"] == "sent"
    shown = (await http.get(f"/api/marketing/campaigns/{cid}", headers=mo.headers)).json()
    assert shown["figures"]["total"]["accepted"] == 3
    assert [h["to"] for h in shown["history"]] == ["draft", "sending", "sent"]
    listed = (await http.get("/api/marketing/campaigns", headers=mo.headers)).json()
    assert listed[0]["id"] == cid and listed[0]["figures"]["accepted"] == 3
    assert (await http.post(f"/api/marketing/campaigns/{cid}/cancel", headers=mo.headers)).status_code == 409
    assert (await http.get("/api/marketing/campaigns/99999999", headers=mo.headers)).status_code == 404
    # a click from the service worker
    mine = {push_service.id_of(d["endpoint"]) for p in people for d in p.devices}
    [delivery] = [  # this test's devices: the other mode's campaigns have the same ids
        d
        for d in push_service.deliveries
        if d.subscription_id in mine
        and d.json
        and d.json.get("campaign", {})
        and d.json["campaign"]["id"] == cid
    ][:1]
    click = {"message_id": delivery.json["message_id"], "token": delivery.json["click"]["token"]}
    assert (await http.post("/api/push/clicks", json=click)).status_code == 204
    assert (await http.post("/api/push/clicks", json=click)).status_code == 204
    assert (await http.post("/api/push/clicks", json={**click, "token": "A" * 22})).status_code == 404
    assert (await http.post("/api/push/clicks", json={**click, "message_id": "12x"})).status_code == 404
    shown = (await http.get(f"/api/marketing/campaigns/{cid}", headers=mo.headers)).json()
    assert shown["figures"]["total"]["clicked"] == 1
    # send a test to me: a marketer without devices is told so
    assert (await http.post(f"/api/marketing/campaigns/{cid}/test", headers=mo.headers)).status_code == 409


async def test_local_times_that_passed_everywhere_and_ab_with_local_time_are_refused(
    push_services: Services,
) -> None:
    campaign_id = await compose(push_services)
    past = (utcnow() - timedelta(days=1)).replace(tzinfo=None)
    async with push_services.sessionmaker() as session:
        with pytest.raises(Exception) as err:
            await campaigns.schedule(
                session, campaign_id, MARKETER, campaigns.Schedule("local", local_at=past)
            )
    assert "passed everywhere" in str(err.value)
    ab = await compose(
        push_services, variants=[campaigns.Content(title="B")], test_percent=20, test_window_minutes=60
    )
    future = (utcnow() + timedelta(days=1)).replace(tzinfo=None)
    async with push_services.sessionmaker() as session:
        with pytest.raises(Exception) as err:
            await campaigns.schedule(session, ab, MARKETER, campaigns.Schedule("local", local_at=future))
    assert "local time" in str(err.value)


async def test_scheduled_at_a_time_waits_for_it_and_late_messages_expire(
    push_services: Services, push_service: PushService
) -> None:
    people = await audience(push_services, push_service, 2)
    campaign_id = await compose(push_services, ttl_seconds=60)
    at = utcnow() + timedelta(seconds=2)
    async with push_services.sessionmaker() as session:
        await session.execute(
            update(PushCampaign)
            .where(PushCampaign.id == campaign_id)
            .values(driver_token=HOLD, driver_until=utcnow() + timedelta(hours=1))
        )
        await session.commit()
        await campaigns.schedule(session, campaign_id, MARKETER, campaigns.Schedule("at", at=at))
    async with push_services.sessionmaker() as session:
        step = await sending.advance(session, push_services.push, campaign_id, None)
    assert step.claimed == [] and 0 < step.wait <= 2.0
    assert mine(push_service, people) == []
    # drawn at its time; one message waits past its TTL (a pause, a backlog) and expires instead of leaving
    async with push_services.sessionmaker() as session:
        await session.execute(
            update(PushCampaign).where(PushCampaign.id == campaign_id).values(scheduled_at=utcnow())
        )
        await session.commit()
    async with push_services.sessionmaker() as session:
        await campaigns.pause(session, campaign_id, MARKETER)
    async with push_services.sessionmaker() as session:
        await campaigns.resume(session, campaign_id, MARKETER)
        await session.execute(
            update(PushCampaign)
            .where(PushCampaign.id == campaign_id)
            .values(status="sending", started_at=utcnow())
        )
        await session.commit()
    async with push_services.sessionmaker() as session:
        step = await sending.advance(session, push_services.push, campaign_id, None)
    assert len(step.claimed) == 2
    await sending.deliver(push_services.sessionmaker, push_services.push, step.claimed[:1])
    async with push_services.sessionmaker() as session:  # the other one's sender died; its TTL passes
        await session.execute(
            update(PushMessageRecord)
            .where(PushMessageRecord.id == step.claimed[1].id)
            .values(lease_until=utcnow() - timedelta(seconds=1), expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert await run(push_services, campaign_id) == "sent"
    total = await figures(push_services, campaign_id)
    assert (total["accepted"], total["expired"]) == (1, 1)
    assert len(mine(push_service, people)) == 1


ODD_REQUESTS = [
    ("POST", "/api/push/clicks", {"message_id": "99999999999999999999", "token": "x" * 22}),
    ("POST", "/api/push/clicks", {"message_id": -1, "token": "é"}),
    ("POST", "/api/push/clicks", {"message_id": 10**30, "token": "x"}),
    ("POST", "/api/push/clicks", ["not", "an", "object"]),
    ("GET", "/api/marketing/campaigns/99999999999999999999999", None),
    ("GET", "/api/marketing/campaigns?before_id=-5", None),
    (
        "POST",
        "/api/marketing/campaigns",
        {"title": "x", "segment": {"include": [{"type": "segment", "id": 10**20}]}},
    ),
    (
        "POST",
        "/api/marketing/campaigns",
        {"title": "x", "segment": {"include": [{"type": "time_zone", "zones": []}]}},
    ),
    ("POST", "/api/marketing/campaigns", {"title": "x", "segment_id": 0}),
    ("POST", "/api/marketing/campaigns", {"title": "\u0000\ud7ff", "url": "/\u0000"}),
    ("POST", "/api/marketing/campaigns/1/schedule", {"mode": "at", "at": "2026-13-45T99:00:00"}),
    ("POST", "/api/marketing/campaigns/1/schedule", {"mode": "local", "local_at": "tomorrow"}),
    (
        "POST",
        "/api/marketing/audience/count",
        {"segment": {"include": [{"type": "bought_category", "category": "%"}]}},
    ),
    (
        "POST",
        "/api/marketing/audience/count",
        {"segment": {"include": [{"type": "time_zone", "zones": ["%/"]}]}},
    ),
    ("PUT", "/api/notifications/preferences", {"timezone": "\u0000"}),
    ("PUT", "/api/notifications/preferences", {"quiet_hours": {"start": "7", "end": "25:61"}}),
    ("GET", "/api/notifications/preferences?token=" + "%FF" * 10, None),
    ("POST", "/api/flash-sales/99999999999999999999/reminders", None),
    (
        "POST",
        "/api/push/subscriptions",
        {"endpoint": "https://fcm.googleapis.com/x", "keys": {"p256dh": "", "auth": ""}},
    ),
    (
        "POST",
        "/api/push/subscriptions",
        {
            "endpoint": "https://fcm.googleapis.com/x",
            "keys": {"p256dh": "A", "auth": "A"},
            "expirationTime": 1e300,
        },
    ),
    ("POST", "/api/push/subscriptions/renew", {"old_endpoint": "", "subscription": {}}),
    ("DELETE", "/api/push/subscriptions/99999999999999999999", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ODD_REQUESTS)
async def test_no_input_makes_a_500(http, push_services: Services, method: str, path: str, body: Any) -> None:
    [mo] = await make_users(push_services, 1, Role.marketer)
    await sign_in(http, mo)
    res = await http.request(method, path, json=body, headers=mo.headers)
    assert res.status_code < 500, (method, path, res.status_code, res.text)
    assert (
        res.headers["content-type"].startswith(("application/problem+json", "application/json"))
        or res.status_code == 204
    )


class Peer:
    """The far end of a socket: keeps every frame."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        import json

        if message["type"] == "websocket.send":
            self.frames.append(json.loads(message["text"]))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "event" and f.get("event") == name]


async def test_live_figures_reach_marketers_over_the_hub(
    push_services: Services, push_service: PushService
) -> None:
    from engage.platform.errors import PermissionDenied
    from engage.realtime.frames import Subscribe

    hub = push_services.realtime
    people = await audience(push_services, push_service, 10)
    campaign_id = await compose(push_services)
    channel = f"campaign:{campaign_id}"
    shopper = hub.attach(Identity(people[0].user_id, Role.customer), Peer())
    with pytest.raises(PermissionDenied):
        await hub.subscribe(shopper, Subscribe("subscribe", channel), 1)
    await hub.detach(shopper)
    peer = Peer()
    conn = hub.attach(Identity(999_999, Role.marketer), peer)
    await hub.subscribe(conn, Subscribe("subscribe", channel), 1)
    subscribed = next(f for f in peer.frames if f["type"] == "subscribed")
    assert subscribed["snapshot"]["status"] == "draft" and subscribed["policy"] == "latest"
    await send(push_services, campaign_id)
    assert await run(push_services, campaign_id) == "sent"

    def final() -> bool:
        progress = peer.events("push.campaign_progress")
        return bool(progress) and progress[-1]["data"]["total"]["accepted"] == 10

    await eventually(final)
    last = peer.events("push.campaign_progress")[-1]["data"]
    assert last["status"] == "sent" and [v["key"] for v in last["variants"]] == ["A"]
    assert last["variants"][0]["drawn"] == 10
    states = [e["data"]["to_status"] for e in peer.events("push.campaign_state")]
    assert states[-1] == "sent" and "sending" in states
    await hub.detach(conn)
