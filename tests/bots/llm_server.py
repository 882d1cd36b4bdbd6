"""An OpenAI-compatible chat-completions server on loopback, for the bot's LLM path.

It answers `POST /v1/chat/completions` as the test tells it to: a grounded answer citing the passages, an
answer citing nothing, "NO_ANSWER", a server error, or no answer at all until the test releases it (so a
bot that waited for it would never finish). It remembers every request it got.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from litestar import Litestar, Response, post


@dataclass
class FakeLLM:
    mode: str = "grounded"  # grounded | uncited | no_answer | error | hang
    answer: str = "You can return unworn items within 30 days for a full refund [1]."
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def app(self) -> Litestar:
        @post("/v1/chat/completions", status_code=200)
        async def completions(data: dict[str, Any]) -> Response[dict[str, Any]]:
            self.requests.append(data)
            if self.mode == "error":
                return Response({"error": {"message": "overloaded", "type": "server_error"}}, status_code=500)
            if self.mode == "hang":
                await self.release.wait()
            content = {
                "grounded": self.answer,
                "uncited": "Sure, returns are always free and take a day.",
                "no_answer": "NO_ANSWER",
            }.get(self.mode, self.answer)
            return Response(
                {
                    "id": f"chatcmpl-{len(self.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": data.get("model", "test-model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )

        return Litestar([completions])

    def prompt(self, n: int = -1) -> str:
        return "\n".join(m["content"] for m in self.requests[n]["messages"])


@contextlib.asynccontextmanager
async def serve_llm() -> AsyncIterator[FakeLLM]:
    llm = FakeLLM()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(llm.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    llm.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield llm
    finally:
        llm.release.set()
        server.should_exit = True
        await task
