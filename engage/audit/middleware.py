"""Records every change a member of staff makes through the staff doors of the API: an unsafe request
(POST, PUT, PATCH, DELETE) by an agent, marketer or admin to a staff route that was answered with success.
Who (account, role, address), when, what (the route and its parameters) and the request as sent, secrets
redacted, and what the services said the things they changed were before (`detail.before`). What staff do as shoppers (a cart, an order of their own) and the conversation traffic of the
console (messages, typing, receipts, presence) are not staff changes and are not recorded."""

from __future__ import annotations

import logging

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from engage.audit.service import Change, record
from engage.http.inputs import UNSAFE, read_up_to, replaying
from engage.platform.changes import collecting
from engage.platform.identity import Identity
from engage.platform.runtime import Runtime

# the staff doors (the sign-in door records its own entries: engage.auth)
RECORDED = (
    "/api/admin/",
    "/api/staff/",
    "/api/marketing/",
    "/api/announcements",
    "/api/chat/canned",
    "/api/chat/teams",
    "/api/help/",
    "/api/search/synonyms",
    "/api/search/reindex",
    "/api/auth/password",
    "/api/auth/logout-everywhere",
)
# a marketing audience count changes nothing
NOT_RECORDED = ("/api/marketing/audience/",)

log = logging.getLogger("engage.audit")


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return b"json" in value.lower()
    return False


class AuditMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ident = scope.get("user")
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] not in UNSAFE
            or not isinstance(ident, Identity)
            or not ident.is_staff
            or not scope["path"].startswith(RECORDED)
            or scope["path"].startswith(NOT_RECORDED)
        ):
            await self.app(scope, receive, send)
            return
        body = b""
        if _is_json(scope):  # uploads stream through untouched; their entry has no detail
            body, within, more = await read_up_to(receive, self.max_body_bytes)
            receive = replaying(body, receive, more=more)
            if not within:
                body = b""  # too long to keep; the handler still gets all of it
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with collecting() as replaced:
            await self.app(scope, receive, watch)
        if status >= 400:
            return
        runtime: Runtime = scope["litestar_app"].state["runtime"]
        client = scope.get("client")
        change = Change(
            actor=ident,
            address=client[0] if client else "",
            action=f"{scope['method']} {scope.get('path_template', scope['path'])}",
            target=dict(scope.get("path_params") or {}),
            status=status,
            body=body,
            before=replaced,
        )
        try:
            await record(runtime.sessionmaker, change)
        except Exception:  # the change is done: losing its entry must not turn its answer into an error
            log.exception("audit: could not record %s by user %s", change.action, ident.user_id)
