"""Test clients that chat like browsers do: an HTTP session (cookie + CSRF) and a socket that resumes.

`Chatter` is one side of one conversation on one channel. It keeps the last sequence it saw, resubscribes
with it after every drop, sends its messages with client ids (re-sending whatever was not acknowledged),
and records every message it saw, so a test can check nothing was lost, doubled or reordered.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import PASSWORD


class Browser(httpx.AsyncClient):
    """A browser against one node: session cookie, CSRF header on unsafe requests."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url=base_url, timeout=30)

    async def __aenter__(self) -> Browser:
        await super().__aenter__()
        res = await self.get("/api/auth/me")
        res.raise_for_status()
        return self

    @property
    def csrf(self) -> dict[str, str]:
        return {"x-csrftoken": self.cookies["engage_csrf"]}

    async def sign_in(self, email: str) -> None:
        res = await self.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=self.csrf
        )
        res.raise_for_status()

    async def call(self, method: str, path: str, json_body: Any = None) -> Any:
        res = await self.request(method, path, json=json_body, headers=self.csrf)
        if res.status_code >= 400:
            raise AssertionError(f"{method} {path}: {res.status_code} {res.text}")
        return res.json() if res.content else None

    @property
    def cookie(self) -> str:
        return f"engage_session={self.cookies['engage_session']}"


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://").rstrip("/") + "/ws"


@dataclass
class Chatter:
    """One side of a conversation: watches `channel` and sends `outgoing` (client id, text) pairs."""

    urls: list[str]
    cookie: str
    conversation_id: int
    channel: str
    outgoing: list[tuple[str, str]]
    drop_rate: float = 0.0
    max_drops: int = 0
    pace: tuple[float, float] = (0.0, 0.0)  # seconds between two sends, drawn uniformly
    seed: int = 0
    http: Browser | None = None  # to page what a snapshot did not hold

    epoch: str | None = None
    last_seq: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)
    target: int | None = None  # stop once the channel was seen up to here
    drops: int = 0
    resumes: int = 0
    snapshots: int = 0
    gaps: int = 0
    typing_seen: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._pending: deque[tuple[str, str]] = deque(self.outgoing)
        self._ids = itertools.count(1)
        self._next_send = 0.0

    @property
    def sent_all(self) -> bool:
        return not self._pending

    @property
    def done(self) -> bool:
        return self.sent_all and self.target is not None and self.last_seq >= self.target

    def _apply(self, seq: int, message: dict[str, Any]) -> None:
        if seq <= self.last_seq:
            return
        assert seq == self.last_seq + 1, f"{self.channel}: jumped from {self.last_seq} to {seq}"
        self.last_seq = seq
        self.seen.append(message)

    async def _fill_over_http(self) -> None:
        assert self.http is not None
        while True:
            page = await self.http.call(
                "GET",
                f"/api/chat/conversations/{self.conversation_id}/messages?after={self.last_seq}&limit=200",
            )
            for message in page["items"]:
                self._apply(message["seq"], message)
            if not page["has_more"]:
                return

    async def _on_subscribed(self, reply: dict[str, Any]) -> None:
        self.epoch = reply["epoch"]
        if reply["recovered"]:
            self.resumes += 1
            for event in reply["events"]:
                self._apply(event["data"]["seq"], event["data"]["message"])
        else:
            self.snapshots += 1
            items = reply["snapshot"]["messages"]
            if items and items[0]["seq"] > self.last_seq + 1:
                await self._fill_over_http()  # more missed than the snapshot's page holds
            for message in items:
                self._apply(message["seq"], message)
        assert self.last_seq >= reply["seq"] or reply["seq"] == 0, (self.last_seq, reply)

    async def run(self, deadline: float, *, start_within: float = 0.0) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self._rng.random() * start_within)  # users do not all arrive in one instant
        while not self.done:
            if loop.time() > deadline:
                raise TimeoutError(
                    f"{self.channel}: seen {self.last_seq} of {self.target}, {len(self._pending)} unsent"
                )
            url = self._rng.choice(self.urls)
            try:
                async with websockets.connect(
                    ws_url(url), additional_headers={"Cookie": self.cookie}, compression=None, open_timeout=20
                ) as ws:
                    await self._session(ws, deadline)
            except (ConnectionClosed, OSError, InvalidStatus, TimeoutError):
                await asyncio.sleep(0.05 + self._rng.random() * 0.2)

    async def _session(self, ws: websockets.ClientConnection, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome"
        subscribe_id: int | None = None
        inflight: tuple[int, str] | None = None

        async def subscribe() -> int:
            ref = next(self._ids)
            # "since" even when nothing was seen yet: the database replays it all (no snapshot needed)
            since = {"epoch": self.epoch or "chat", "seq": self.last_seq}
            frame: dict[str, Any] = {"type": "subscribe", "id": ref, "channel": self.channel, "since": since}
            await ws.send(json.dumps(frame))
            return ref

        subscribe_id = await subscribe()
        while not self.done and loop.time() < deadline:
            if subscribe_id is None and inflight is None and self._pending and loop.time() >= self._next_send:
                client_id, text = self._pending[0]
                ref = next(self._ids)
                await ws.send(
                    json.dumps(
                        {
                            "type": "chat.send",
                            "id": ref,
                            "conversation_id": self.conversation_id,
                            "client_id": client_id,
                            "text": text,
                        }
                    )
                )
                inflight = (ref, client_id)
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.25)
            except TimeoutError:
                continue
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "ping":
                await ws.send('{"type":"pong"}')
            elif kind == "subscribed" and frame.get("id") == subscribe_id:
                subscribe_id = None
                await self._on_subscribed(frame)
            elif kind == "reply" and inflight and frame.get("id") == inflight[0]:
                self.acked[inflight[1]] = frame["data"]["seq"]
                self._pending.popleft()
                inflight = None
                self._next_send = loop.time() + self._rng.uniform(*self.pace)
            elif kind == "error" and inflight and frame.get("id") == inflight[0]:
                inflight = None  # e.g. throttled: try again
                await asyncio.sleep(0.2)
            elif kind == "error":
                raise AssertionError(f"{self.channel}: {frame}")
            elif kind == "lagged":
                subscribe_id = await subscribe()
            elif kind == "event" and frame.get("channel") == self.channel and subscribe_id is None:
                data = frame["data"]
                if frame["event"] == "chat.typing":
                    self.typing_seen += 1
                elif "seq" in data:
                    if data["seq"] > self.last_seq + 1:
                        self.gaps += 1
                        subscribe_id = await subscribe()
                    else:
                        self._apply(data["seq"], data["message"])
            if self.drops < self.max_drops and self._rng.random() < self.drop_rate:
                self.drops += 1
                ws.transport.abort()  # the network goes away: no closing handshake
                return
