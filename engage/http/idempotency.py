"""`Idempotency-Key` on every state-changing API request: the first answer is kept (engage.platform.idempotency)
and a repeat with the same key and body gets it again, without running twice; the same key with another
body is a 422. Scoped to who asks (their account or guest session) and to the method and path.

Sign-in and sign-up are left out (their answers set cookies, which are never stored), and so are Stripe's
webhooks (deduplicated by event id). Requests by nobody (no session, no token) are not keyed, nor bodies
longer than ENGAGE_MAX_BODY_BYTES (uploads such as a catalog import go through whole, unkeyed).
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from engage.http.inputs import UNSAFE, read_up_to, replaying
from engage.platform.idempotency import Answer, check_key, run_once
from engage.platform.identity import Identity
from engage.platform.runtime import Runtime

NOT_KEYED = ("/api/auth/", "/api/webhooks/")
HEADER = b"idempotency-key"


def _key_of(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("latin-1")
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        key = _key_of(scope)
        ident = scope.get("user")
        known = isinstance(ident, Identity) and (ident.user_id is not None or ident.guest_id is not None)
        who = ident.owner_key if known else ""
        path: str = scope["path"]
        if key is None or not who or not path.startswith("/api/") or path.startswith(NOT_KEYED):
            await self.app(scope, receive, send)
            return
        key = check_key(key)
        body, within, more = await read_up_to(receive, self.max_body_bytes)
        if not within:  # an upload too long to keep a copy of: it goes through, not keyed
            await self.app(scope, replaying(body, receive, more=more), send)
            return
        runtime: Runtime = scope["litestar_app"].state["runtime"]
        async with runtime.sessionmaker() as session:
            answer = await run_once(
                session,
                scope=f"{who}|{scope['method']} {path}"[:120],
                key=key,
                body=body,
                handler=lambda: self._first(scope, replaying(body, receive), send),
            )
        if answer.replayed:
            await _replay(answer, send)

    async def _first(self, scope: Scope, receive: Receive, send: Send) -> Answer:
        """Run the request, sending its answer as it comes and keeping a copy."""
        status, media_type, chunks = 500, "application/json", []

        async def keep(message: Message) -> None:
            nonlocal status, media_type
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableScopeHeaders.from_message(message)
                media_type = headers.get("content-type") or media_type
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        return Answer(status, media_type, b"".join(chunks).decode("utf-8", "replace"))


async def _replay(answer: Answer, send: Send) -> None:
    body = answer.content.encode()
    await send(
        {
            "type": "http.response.start",
            "status": answer.status_code,
            "headers": [
                (b"content-type", answer.media_type.encode("latin-1")),
                (b"content-length", str(len(body)).encode()),
                (b"idempotent-replayed", b"true"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
