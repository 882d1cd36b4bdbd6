"""Auth door: sign up, sign in, sign out, who am I, socket tokens."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import service
from engage.auth.throttle import LoginThrottle
from engage.auth.tokens import SOCKET_TOKEN_TTL, TokenService
from engage.http.guards import identity_of, public, shopper, signed_in
from engage.http.me import Me, me_of
from engage.http.sessions import rotate_session, start_guest
from engage.platform.identity import Identity
from engage.platform.runtime import Runtime
from engage.services import Services

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class SignUp(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Annotated[str, msgspec.Meta(max_length=120)] = ""
    # a friend's referral code (the /r/{code} link also leaves it in the session)
    referral_code: Annotated[str, msgspec.Meta(max_length=32)] = ""


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class SignedIn(msgspec.Struct):
    user: Me
    token: str


class SocketToken(msgspec.Struct):
    token: str
    expires_in: int


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def _sign_in(
    request: Request[Any, Any, Any], services: Services, session: AsyncSession, user: Any
) -> SignedIn:
    guest_id = identity_of(request).guest_id
    await service.hand_over_guest(session, guest_id, user, services.guest_handovers)
    if request.scope.get("session") is not None:
        rotate_session(request.scope)
        request.set_session({"user_id": user.id, "guest_id": guest_id})
    token = await TokenService(services.runtime.stores["tokens"]).issue(user.id)
    return SignedIn(user=me_of(service.identity_of(user, guest_id)), token=token)


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post("/signup", guards=[public], status_code=201)
    async def sign_up(
        self, request: Request, data: SignUp, db_session: AsyncSession, services: Services
    ) -> SignedIn:
        """Create a shopper account and sign it in; a guest's cart and chat follow."""
        user = await service.create_user(db_session, email=data.email, password=data.password, name=data.name)
        session = request.scope.get("session")
        referral = data.referral_code or (
            session.get("referral_code", "") if isinstance(session, dict) else ""
        )
        new = service.NewAccount(
            user.id, user.email, str(referral)[:32], _client(request), identity_of(request).guest_id or ""
        )
        await service.welcome(db_session, new, services.signups)
        return await _sign_in(request, services, db_session, user)

    @post("/login", guards=[public], status_code=200)
    async def login(
        self, request: Request, data: Credentials, db_session: AsyncSession, services: Services
    ) -> SignedIn:
        """Sign in: sets the session cookie (browsers) and returns a bearer token (API clients)."""
        runtime: Runtime = services.runtime
        limit = runtime.settings.rate_limit_login
        throttle = LoginThrottle(runtime.stores["throttle"], limit=limit.count, window_seconds=limit.seconds)
        user = await service.authenticate(
            db_session, email=data.email, password=data.password, client=_client(request), throttle=throttle
        )
        return await _sign_in(request, services, db_session, user)

    @post("/logout", guards=[public], status_code=204)
    async def logout(self, request: Request, services: Services) -> None:
        """End the browser session and revoke the bearer token used, if any."""
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            await TokenService(services.runtime.stores["tokens"]).revoke(authorization[7:].strip())
        if request.scope.get("session") is not None:
            rotate_session(request.scope)
            request.clear_session()

    @get("/me", guards=[public])
    async def me(self, request: Request) -> Me:
        """Who is asking; a browser session without one becomes a guest here (clients call this first)."""
        ident = identity_of(request)
        session = request.scope.get("session")
        if ident.user_id is None and ident.guest_id is None and isinstance(session, dict):
            ident = Identity(None, None, guest_id=start_guest(session))
        return me_of(ident)

    @post("/socket-token", guards=[signed_in], status_code=200)
    async def socket_token(self, request: Request, services: Services) -> SocketToken:
        """A one-minute token for `/ws?token=...`, for clients that cannot send the session cookie."""
        ident = identity_of(request)
        assert ident.user_id is not None
        token = await TokenService(services.runtime.stores["tokens"]).issue(
            ident.user_id, kind="socket", ttl=SOCKET_TOKEN_TTL
        )
        return SocketToken(token=token, expires_in=SOCKET_TOKEN_TTL)


__all__ = ["AuthController", "Me", "me_of", "shopper"]
