"""The `agents` channel in a console's socket: inbox hints coalesced, every agent's availability kept."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from engage.chat import conversations
from engage.platform.identity import Role
from tests.engage.chat.conftest import guest
from tests.realtime.client import Socket
from tests.realtime.conftest import serving


async def _console(base: str, api_token: str) -> Socket:
    async with httpx.AsyncClient(base_url=base) as http:
        res = await http.post("/api/auth/socket-token", headers={"Authorization": f"Bearer {api_token}"})
    assert res.status_code == 200, res.text
    return Socket.open(base, token=res.json()["token"])


async def test_a_burst_of_new_conversations_reaches_a_console_as_a_few_inbox_hints(
    settings, runtime, env, make_account
) -> None:
    agent = await make_account(Role.agent)
    async with serving(settings) as (base, hub), await _console(base, agent.token) as console:
        assert (await console.subscribe("agents"))["policy"] == "latest"

        async def start() -> int:
            async with runtime.sessionmaker() as session:
                conversation, _ = await conversations.start(session, env, guest(), human=True)
                return conversation.id

        first = await start()
        hint = await console.next("event", channel="agents", event="chat.inbox")
        assert hint["data"]["conversation_id"] == first, "the first change is not delayed"
        started = set(await asyncio.gather(*(start() for _ in range(40))))
        hints = [await console.next("event", channel="agents", event="chat.inbox")]
        with contextlib.suppress(TimeoutError):  # until the burst's trailing hint went by
            while True:
                hints.append(await console.next("event", channel="agents", event="chat.inbox", wait=2))
        assert len(hints) < 20, f"{len(hints)} hints for 40 changes"
        assert {h["data"]["conversation_id"] for h in hints} <= started

        for agent_id in (1, 2):  # each agent's availability has its own key: none hides another's
            await hub.publish(
                "agents", "chat.availability", {"agent_id": agent_id, "name": "A", "availability": "busy"}
            )
        seen = {
            (await console.next("event", channel="agents", event="chat.availability"))["data"]["agent_id"]
        }
        seen.add(
            (await console.next("event", channel="agents", event="chat.availability"))["data"]["agent_id"]
        )
        assert seen == {1, 2}
