"""Server-side browser sessions (Litestar's), with the session id rotated at sign-in and sign-out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Message, Scope, ScopeSession
from litestar.utils.dataclass import extract_dataclass_items

from engage.http.csrf import SESSION_COOKIE

_ROTATE = "engage.rotate_session"
_NEW_ID = "engage.new_session_id"
_LOADED = "engage.session_as_loaded"


def start_guest(session: dict[str, Any]) -> str:
    """Give a browser session a guest id (kept until sign-out), so its cart and chat have an owner."""
    guest_id = session["guest_id"] = secrets.token_urlsafe(16)
    return guest_id


def rotate_session(scope: Scope) -> None:
    """Ask for a fresh session id on this response (prevents session fixation)."""
    scope.setdefault("state", {})[_ROTATE] = True


class RotatingSessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        state = connection.scope.setdefault("state", {})
        if state.get(_ROTATE):
            if _NEW_ID not in state:
                state[_NEW_ID] = self.generate_session_id()
            new_id: str = state[_NEW_ID]  # only this method writes it
            return new_id
        return super().get_session_id(connection)

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        session = await super().load_from_connection(connection)
        connection.scope.setdefault("state", {})[_LOADED] = session.copy()
        return session

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        state = connection.scope.setdefault("state", {})
        old_id = connection.cookies.get(self.config.key)
        if state.get(_ROTATE):
            if old_id and _NEW_ID not in state:
                await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
        elif isinstance(scope_session, dict) and scope_session == state.get(_LOADED):
            if old_id and scope_session:
                self._renew_cookie(message, old_id)  # the read renewed it in the store already
            return  # unchanged, or nothing to keep: no store write
        await super().store_in_message(scope_session, message, connection)

    def _renew_cookie(self, message: Message, session_id: str) -> None:
        params = extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys())
        cookie = Cookie(value=session_id, key=self.config.key, **dict(params))
        MutableScopeHeaders.from_message(message).add("Set-Cookie", cookie.to_header(header=""))


@dataclass
class EngageSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


def session_config(*, secure: bool, max_age: int) -> EngageSessionConfig:
    return EngageSessionConfig(
        key=SESSION_COOKIE,
        store="sessions",
        max_age=max_age,
        secure=secure,
        httponly=True,
        samesite="lax",
        renew_on_access=True,
        exclude=["^/static/", "^/health$", "^/ready$", "^/metrics$", "^/schema"],
    )
