"""Production mode end to end: arq workers run the campaign's driver jobs; two workers and duplicate jobs
race on one campaign, Redis loses the queue mid-send, and upkeep picks the campaign up again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from engage.platform.identity import Role
from engage.services import Services
from tests.push.conftest import audience, make_users, sign_in
from tests.push.push_service import PushService
from workers.push import push_upkeep


@pytest.fixture
def mode() -> str:
    return "production"


async def wait_for(service: PushService, people: list[Any], count: int, within: float = 30.0) -> list[Any]:
    ids = {service.id_of(d["endpoint"]) for p in people for d in p.devices}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        got = [d for d in service.deliveries if d.subscription_id in ids]
        if len(got) >= count or loop.time() > deadline:
            return got
        await asyncio.sleep(0.05)


async def test_two_workers_and_duplicate_jobs_deliver_once(
    http, push_services: Services, push_service: PushService, arq_workers
) -> None:
    await arq_workers(2)
    people = await audience(push_services, push_service, 80)
    [mo] = await make_users(push_services, 1, Role.marketer)
    await sign_in(http, mo)
    cid = (
        await http.post("/api/marketing/campaigns", json={"title": "Both", "url": "/"}, headers=mo.headers)
    ).json()["id"]
    jobs = push_services.runtime.jobs
    res = await http.post(f"/api/marketing/campaigns/{cid}/send", headers=mo.headers)
    assert res.status_code == 200
    for n in range(6):  # stray duplicates: other ids, so arq runs them all, on both workers
        await jobs.enqueue(
            "push_campaign", cid, job_id=f"{push_services.runtime.queue_name}:test-dup:{cid}:{n}"
        )
    got = await wait_for(push_service, people, 80)
    await asyncio.sleep(0.5)
    got = await wait_for(push_service, people, 80)
    assert len(got) == 80 and push_service.duplicate_count == 0
    shown = (await http.get(f"/api/marketing/campaigns/{cid}", headers=mo.headers)).json()
    for _ in range(100):
        if shown["status"] == "sent":
            break
        await asyncio.sleep(0.1)
        shown = (await http.get(f"/api/marketing/campaigns/{cid}", headers=mo.headers)).json()
    assert shown["status"] == "sent" and shown["figures"]["total"]["accepted"] == 80


@pytest.mark.slow
async def test_redis_losing_the_queue_mid_send_is_recovered_by_upkeep(
    http, push_services: Services, push_service: PushService, arq_workers
) -> None:
    from dataclasses import replace

    push_services.push.policy = replace(push_services.push.policy, batch_size=10)
    people = await audience(push_services, push_service, 40)
    [mo] = await make_users(push_services, 1, Role.marketer)
    await sign_in(http, mo)
    body = {"title": "Slow", "url": "/", "rate_per_minute": 600}  # 10 every 1 s
    cid = (await http.post("/api/marketing/campaigns", json=body, headers=mo.headers)).json()["id"]
    [worker] = await arq_workers(1)
    await http.post(f"/api/marketing/campaigns/{cid}/send", headers=mo.headers)
    await wait_for(push_service, people, 10)
    # Redis restarts empty: the queue, the queued successor job and every job key are gone
    redis = Redis.from_url(push_services.settings.redis_url)
    prefix = push_services.runtime.queue_name
    await redis.delete(prefix)
    async for key in redis.scan_iter(match="arq:*", count=1000):
        if f":{cid}" in (key.decode() if isinstance(key, bytes) else key):
            await redis.delete(key)
    await redis.aclose()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 40
    ctx = dict(push_services.runtime.job_context)
    while len(await wait_for(push_service, people, 40, within=0.1)) < 40 and loop.time() < deadline:
        await push_upkeep(ctx, grace_seconds=0)  # the cron, every 10 s in production
        await asyncio.sleep(0.5)
    got = await wait_for(push_service, people, 40)
    assert len(got) == 40 and push_service.duplicate_count == 0
    assert worker is not None
