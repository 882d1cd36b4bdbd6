"""A small protocol client over the `websockets` library, for tests and load tests of /ws."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets


class Socket:
    """Answers the server's pings, keeps frames it was not asked for, pairs answers with requests."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws
        self.backlog: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.welcome: dict[str, Any] = {}
        self.pings = 0

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        base_url: str,
        *,
        token: str | None = None,
        cookie: str | None = None,
        origin: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Socket]:
        url = base_url.replace("http://", "ws://").rstrip("/") + "/ws"
        if token:
            url += f"?token={token}"
        headers = {"Cookie": cookie} if cookie else None
        async with websockets.connect(
            url, additional_headers=headers, origin=origin, compression=None, **kwargs
        ) as ws:
            sock = cls(ws)
            sock.welcome = await sock.next("welcome")
            yield sock

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def _read(self, wait: float) -> dict[str, Any]:
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), wait))
            if frame.get("type") == "ping" and "id" not in frame:
                self.pings += 1
                await self.send({"type": "pong"})
                continue
            return frame

    async def next(self, type: str | None = None, *, wait: float = 10.0, **match: Any) -> dict[str, Any]:
        """The next frame of `type` (and fields equal to `match`), earlier unasked-for frames first."""

        def wanted(frame: dict[str, Any]) -> bool:
            return (type is None or frame.get("type") == type) and all(
                frame.get(k) == v for k, v in match.items()
            )

        for i, frame in enumerate(self.backlog):
            if wanted(frame):
                return self.backlog.pop(i)
        async with asyncio.timeout(wait):
            while True:
                frame = await self._read(wait)
                if wanted(frame):
                    return frame
                self.backlog.append(frame)

    async def request(self, frame: dict[str, Any], *, wait: float = 10.0) -> dict[str, Any]:
        ref = next(self._ids)
        await self.send({**frame, "id": ref})
        return await self.next(None, wait=wait, id=ref)

    async def subscribe(self, channel: str, since: dict[str, Any] | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "subscribe", "channel": channel}
        if since is not None:
            frame["since"] = since
        return await self.request(frame)

    async def events(self, channel: str, count: int, *, wait: float = 15.0) -> list[dict[str, Any]]:
        return [await self.next("event", channel=channel, wait=wait) for _ in range(count)]
