"""Auth door: sign up, sign in, sign out, who am I, password, API tokens, socket tokens; admins: staff permissions.

Browsers sign in with the session cookie only. API clients make a named bearer token with their
credentials (`POST /api/auth/tokens`), shown once; they list and revoke them; a password change revokes
them all (docs/auth.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from engage.auth import permissions, privacy, security, service, signup, tokens, two_factor
from engage.auth.middleware import (
    forget_identity,
    forget_tokens,
    policy_of,
    session_second_factor,
    session_signed_in,
)
from engage.auth.throttle import LoginThrottle
from engage.auth.tokens import SOCKET_TOKEN_TTL, BearerAuth, TokenService
from engage.http.guards import SECOND_FACTOR_NEEDED, admin, identity_of, public, shopper, signed_in
from engage.http.me import Me, me_of
from engage.http.params import Id
from engage.http.sessions import rotate_session, start_guest
from engage.platform.errors import Conflict, PermissionDenied, Unavailable
from engage.platform.identity import Identity
from engage.platform.mail import mail_configured
from engage.services import Services

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class SignUp(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Annotated[str, msgspec.Meta(max_length=120)] = ""
    # a friend's referral code (the /r/{code} link also leaves it in the session)
    referral_code: Annotated[str, msgspec.Meta(max_length=32)] = ""


OneTimeCode = Annotated[str, msgspec.Meta(max_length=40)]


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    otp: OneTimeCode | None = None  # where two-factor sign-in is on: the app's code, or a recovery code


class SignedIn(msgspec.Struct):
    user: Me


class SignUpAccepted(msgspec.Struct):
    status: str  # "check_your_email"
    email: str


class SignUpConfirmation(msgspec.Struct, forbid_unknown_fields=True):
    token: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    password: Password
    referral_code: Annotated[str, msgspec.Meta(max_length=32)] = ""


class NewToken(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    otp: OneTimeCode | None = None


class Profile(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=120)]


class Code(msgspec.Struct, forbid_unknown_fields=True):
    code: OneTimeCode


class Confirmation(msgspec.Struct, forbid_unknown_fields=True):
    password: Password
    otp: OneTimeCode | None = None


class TwoFactorState(msgspec.Struct):
    on: bool
    required: bool  # by the account's role (ENGAGE_TWO_FACTOR_ROLES)
    this_session: bool  # this browser session gave a second factor
    recovery_codes_left: int


class RecoveryCodes(msgspec.Struct):
    recovery_codes: list[str]  # shown this once: each works one time


class TokenView(msgspec.Struct):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    current: bool = False  # the token this request is signed with


class TokenCreated(msgspec.Struct):
    id: int
    name: str
    token: str  # shown this once
    created_at: datetime
    expires_at: datetime


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class SocketToken(msgspec.Struct):
    token: str
    expires_in: int


# Sign-up mails one address receives per hour at most (the answer does not change).
SIGN_UP_MAILS_PER_HOUR = 5


def _site(request: Request[Any, Any, Any], services: Services) -> str:
    """The origin for links in mails: ENGAGE_PUBLIC_URL. Outside production the request's own origin
    will do; in production the Host header is the client's to choose, so it is never trusted for links."""
    settings = services.settings
    if settings.env == "production" and not mail_configured(settings):
        raise Unavailable("sign-up needs a mail server (ENGAGE_SMTP_HOST)", code="signup_unavailable")
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if settings.env == "production":
        raise Unavailable(
            "sign-up needs ENGAGE_PUBLIC_URL (for the link it mails)", code="signup_unavailable"
        )
    return str(request.base_url).rstrip("/")


def _referral_code(request: Request[Any, Any, Any], given: str) -> str:
    session = request.scope.get("session")
    kept = session.get("referral_code", "") if isinstance(session, dict) else ""
    return str(given or kept)[:32]


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _throttle(services: Services) -> LoginThrottle:
    account, address = services.settings.rate_limit_login, services.settings.rate_limit_login_ip
    return LoginThrottle(
        services.runtime.stores["throttle"],
        limit=account.count,
        window_seconds=account.seconds,
        ip_limit=address.count,
        ip_window_seconds=address.seconds,
    )


async def _check_password(
    request: Request[Any, Any, Any],
    services: Services,
    session: AsyncSession,
    email: str,
    password: str,
    otp: str | None,
) -> service.Authenticated:
    """The account's password (and code), throttled per account and address like every sign-in."""
    return await service.authenticate(
        session,
        email=email,
        password=password,
        client=_client(request),
        throttle=_throttle(services),
        otp=otp,
    )


async def _sign_in(
    request: Request[Any, Any, Any],
    services: Services,
    session: AsyncSession,
    user: Any,
    *,
    second_factor: bool = False,
) -> SignedIn:
    """Sign the browser session in (a fresh session id); API clients use tokens instead."""
    guest_id = identity_of(request).guest_id
    await service.hand_over_guest(session, guest_id, user, services.guest_handovers)
    if request.scope.get("session") is not None:
        rotate_session(request.scope)
        request.set_session({"guest_id": guest_id})
        session_signed_in(request.session, user.id, second_factor=second_factor)
    return SignedIn(user=me_of(service.identity_of(user, guest_id)))


def _token_id(request: Request[Any, Any, Any]) -> int | None:
    return request.auth.token_id if isinstance(request.auth, BearerAuth) else None


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post("/signup", guards=[public], status_code=202)
    async def sign_up(
        self, request: Request[Any, Any, Any], data: SignUp, db_session: AsyncSession, services: Services
    ) -> SignUpAccepted:
        """Ask for a shopper account: the same answer whether the address is new or has an account (which
        is never revealed). A new address gets a link to confirm it (`POST /api/auth/signup/confirm`); a
        taken one a note. Nobody is signed in here."""
        site = _site(request, services)
        mail = await signup.request_sign_up(
            db_session,
            services.runtime.stores["tokens"],
            email=data.email,
            password=data.password,
            name=data.name,
        )
        session = request.scope.get("session")
        if data.referral_code and isinstance(session, dict):  # the confirmation link opens in this browser
            request.set_session({**session, "referral_code": data.referral_code})
        sent = await services.runtime.counter.hit(f"signup-mail:{tokens.token_hash(mail.to)}", 3600)
        if sent.hits <= SIGN_UP_MAILS_PER_HOUR:  # a flood of sign-ups never floods the owner's inbox
            await services.runtime.jobs.enqueue("send_sign_up_mail", mail.to, mail.kind, mail.token, site)
        return SignUpAccepted(status="check_your_email", email=mail.to)

    @post("/signup/confirm", guards=[public], status_code=201)
    async def confirm_sign_up(
        self,
        request: Request[Any, Any, Any],
        data: SignUpConfirmation,
        db_session: AsyncSession,
        services: Services,
    ) -> SignedIn:
        """Make the account from the link a sign-up mailed (its token and the password chosen), and sign
        this browser in; a guest's cart and chat follow, and loyalty's sign-up hooks run (a friend's referral
        code from the sign-up form or the /r/{code} link, kept in the session)."""
        user = await signup.confirm_sign_up(
            db_session, services.runtime.stores["tokens"], token=data.token, password=data.password
        )
        new = service.NewAccount(
            user.id,
            user.email,
            _referral_code(request, data.referral_code),
            _client(request),
            identity_of(request).guest_id or "",
        )
        await service.welcome(db_session, new, services.signups)
        return await _sign_in(request, services, db_session, user)

    @post("/login", guards=[public], status_code=200)
    async def login(
        self, request: Request[Any, Any, Any], data: Credentials, db_session: AsyncSession, services: Services
    ) -> SignedIn:
        """Sign a browser in: sets the session cookie. API clients make a token (`POST /api/auth/tokens`).
        With two-factor sign-in on, `otp` too (without it: 401 `two_factor_required`)."""
        signed = await _check_password(request, services, db_session, data.email, data.password, data.otp)
        return await _sign_in(request, services, db_session, signed.user, second_factor=signed.second_factor)

    @post("/logout", guards=[public], status_code=204)
    async def logout(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> None:
        """End the browser session; signed with an API token, revoke that token."""
        ident, token_id = identity_of(request), _token_id(request)
        if token_id is not None and ident.user_id is not None:
            digest = await tokens.revoke_api_token(db_session, ident.user_id, token_id)
            forget_tokens(digest=digest)
        if request.scope.get("session") is not None:
            rotate_session(request.scope)
            request.clear_session()

    @post("/reauthenticate", guards=[signed_in], status_code=204)
    async def reauthenticate(
        self,
        request: Request[Any, Any, Any],
        data: Confirmation,
        db_session: AsyncSession,
        services: Services,
    ) -> None:
        """Confirm it's you in this browser session: the password again, and the code with two-factor
        sign-in on (401 `two_factor_required` without it). Sensitive staff actions ask for this within
        ten minutes (403 `reauth_required`)."""
        ident = identity_of(request)
        assert ident.user_id is not None and ident.email is not None
        signed = await _check_password(request, services, db_session, ident.email, data.password, data.otp)
        if signed.user.id != ident.user_id:  # the email moved to another account meanwhile
            raise PermissionDenied("that is not this account's password", code="reauth_failed")
        if request.scope.get("session") is not None:
            security.mark_confirmed(request.session)

    @post("/password", guards=[signed_in], status_code=204)
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        data: PasswordChange,
        db_session: AsyncSession,
        services: Services,
    ) -> None:
        """Change the password, given the current one. Every API token is revoked and other browser
        sessions end; this browser stays signed in (with a fresh session id)."""
        ident = identity_of(request)
        assert ident.user_id is not None
        await service.change_password(
            db_session,
            ident.user_id,
            current=data.current_password,
            new=data.new_password,
            client=_client(request),
            throttle=_throttle(services),
        )
        forget_identity(ident.user_id)
        forget_tokens(user_id=ident.user_id)
        if request.scope.get("session") is not None and request.session.get("user_id") == ident.user_id:
            rotate_session(request.scope)
            session_signed_in(request.session, ident.user_id)

    @post("/tokens", guards=[public], status_code=201)
    async def create_token(
        self, request: Request[Any, Any, Any], data: NewToken, db_session: AsyncSession, services: Services
    ) -> TokenCreated:
        """Make a bearer token for an API client, with the account's credentials and a name of your
        choosing. The token is in this answer only; send it as `Authorization: Bearer <token>`. Accounts
        with two-factor sign-in send `otp` too; roles that need it (ENGAGE_TWO_FACTOR_ROLES) must turn it on
        first (403 `two_factor_required`)."""
        signed = await _check_password(request, services, db_session, data.email, data.password, data.otp)
        user = signed.user
        if await policy_of(services.runtime).required(user.role) and not signed.second_factor:
            raise PermissionDenied(SECOND_FACTOR_NEEDED, code="two_factor_required")
        row, token = await tokens.create_api_token(db_session, user.id, data.name.strip() or "token")
        return TokenCreated(row.id, row.name, token, row.created_at, row.expires_at)

    @get("/tokens", guards=[signed_in])
    async def list_tokens(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> list[TokenView]:
        """Your API tokens (never the tokens themselves)."""
        ident, current = identity_of(request), _token_id(request)
        assert ident.user_id is not None
        return [
            TokenView(t.id, t.name, t.created_at, t.expires_at, t.last_used_at, current=t.id == current)
            for t in await tokens.list_api_tokens(db_session, ident.user_id)
        ]

    @delete("/tokens/{token_id:int}", guards=[signed_in], status_code=204)
    async def revoke_token(
        self, request: Request[Any, Any, Any], token_id: Id, db_session: AsyncSession
    ) -> None:
        """Revoke one of your API tokens (at once on this node, within 5 seconds on the others)."""
        ident = identity_of(request)
        assert ident.user_id is not None
        forget_tokens(digest=await tokens.revoke_api_token(db_session, ident.user_id, token_id))

    @post("/logout-everywhere", guards=[signed_in], status_code=204)
    async def logout_everywhere(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> None:
        """End every session of my account, on every browser, and revoke all my API tokens."""
        user_id = _user_id(request)
        await service.sign_out_everywhere(db_session, user_id)
        forget_identity(user_id)
        forget_tokens(user_id=user_id)
        if request.scope.get("session") is not None:
            rotate_session(request.scope)
            request.clear_session()

    @patch("/me", guards=[signed_in])
    async def update_me(self, request: Request[Any, Any, Any], db_session: AsyncSession, data: Profile) -> Me:
        """Change my name (the email is the account: it does not change here)."""
        user = await service.rename(db_session, _user_id(request), data.name)
        forget_identity(user.id)
        return me_of(service.identity_of(user, identity_of(request).guest_id))

    @get("/me", guards=[public])
    async def me(self, request: Request[Any, Any, Any]) -> Me:
        """Who is asking; a browser session without one becomes a guest here (clients call this first)."""
        ident = identity_of(request)
        session = request.scope.get("session")
        if ident.user_id is None and ident.guest_id is None and isinstance(session, dict):
            ident = Identity(None, None, guest_id=start_guest(session))
        return me_of(ident)

    @post("/socket-token", guards=[signed_in], status_code=200)
    async def socket_token(self, request: Request[Any, Any, Any], services: Services) -> SocketToken:
        """A one-minute token for `/ws?token=...`, for clients that cannot send the session cookie."""
        ident = identity_of(request)
        assert ident.user_id is not None
        if ident.needs_second_factor:  # the token would carry the role's powers without it
            raise PermissionDenied(SECOND_FACTOR_NEEDED, code="two_factor_required")
        token = await TokenService(services.runtime.stores["tokens"]).issue(ident.user_id)
        return SocketToken(token=token, expires_in=SOCKET_TOKEN_TTL)


class TwoFactorController(Controller):
    """Two-factor sign-in of the asking account: turn it on (scan, confirm), give a code in this session,
    turn it off."""

    path = "/api/auth/two-factor"
    tags = ["auth"]
    guards = [signed_in]

    @get()
    async def state(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, services: Services
    ) -> TwoFactorState:
        ident = identity_of(request)
        assert ident.user_id is not None
        return TwoFactorState(
            on=await two_factor.is_on(db_session, ident.user_id),
            required=await policy_of(services.runtime).required(ident.role),
            this_session=bool(request.scope.get("session") and request.session.get("second_factor")),
            recovery_codes_left=await two_factor.recovery_codes_left(db_session, ident.user_id),
        )

    @post("/enrol", status_code=201)
    async def enrol(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> two_factor.Enrolment:
        """A new secret: scan `qr_svg` (or type `secret`) into an authenticator app, then confirm a code."""
        user = await service.get_user(db_session, _user_id(request))
        assert user is not None
        return await two_factor.start(db_session, user)

    @post("/confirm", status_code=200)
    async def confirm(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: Code
    ) -> RecoveryCodes:
        """Turn it on with the app's first code; this session counts as signed in with it."""
        codes = await two_factor.confirm(db_session, _user_id(request), data.code)
        if request.scope.get("session") is not None:
            session_second_factor(request.session)
        return RecoveryCodes(recovery_codes=codes)

    @post("/verify", status_code=204)
    async def verify(self, request: Request[Any, Any, Any], db_session: AsyncSession, data: Code) -> None:
        """Give a code in this browser session (signed in before two-factor sign-in was turned on)."""
        user_id = _user_id(request)
        if not await two_factor.is_on(db_session, user_id):
            raise Conflict("two-factor sign-in is off for this account", code="two_factor_off")
        await two_factor.verify(db_session, user_id, data.code)
        if request.scope.get("session") is not None:
            session_second_factor(request.session)

    @post("/off", status_code=204)
    async def off(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, services: Services, data: Code
    ) -> None:
        """Turn it off, with a current code. Roles that need it cannot."""
        ident = identity_of(request)
        if await policy_of(services.runtime).required(ident.role):
            raise PermissionDenied("your role needs two-factor sign-in", code="two_factor_required_by_role")
        await two_factor.turn_off(db_session, _user_id(request), data.code)


def _user_id(request: Request[Any, Any, Any]) -> int:
    user_id = identity_of(request).user_id
    assert user_id is not None  # the signed_in guard
    return user_id


class Erasure(msgspec.Struct, forbid_unknown_fields=True):
    password: Password  # asked again: this cannot be undone
    otp: OneTimeCode | None = None


class PrivacyController(Controller):
    """The asking account's own data: download all of it, or have it erased."""

    path = "/api/account/privacy"
    tags = ["privacy"]
    guards = [signed_in]

    @get("/export")
    async def export(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, services: Services
    ) -> Response[Any]:
        """Everything Engage holds about you (account, orders, checkouts, cart, chats, notifications, points),
        as a JSON file."""
        data = await privacy.export(db_session, _user_id(request), services.personal_data)
        return Response(
            data,
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="my-engage-data.json"'},
        )

    @post("/erasure", status_code=202)
    async def erasure(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, services: Services, data: Erasure
    ) -> privacy.RequestView:
        """Erase my account: it stops working now (signed out everywhere); its personal data is erased
        within ten minutes. Orders stay for the shop's accounts, with nothing that names you."""
        ident = identity_of(request)
        await _check_password(request, services, db_session, ident.email or "", data.password, data.otp)
        answer = await privacy.request_erasure(db_session, _user_id(request))
        forget_identity(answer.user_id)
        forget_tokens(user_id=answer.user_id)
        if request.scope.get("session") is not None:
            rotate_session(request.scope)
            request.clear_session()
        return answer

    @get("/requests")
    async def mine(
        self, request: Request[Any, Any, Any], db_session: AsyncSession
    ) -> list[privacy.RequestView]:
        return await privacy.mine(db_session, _user_id(request))


class PrivacyAdminController(Controller):
    """Admins: privacy requests, and erasing a pending one now."""

    path = "/api/admin/privacy"
    tags = ["privacy"]
    guards = [admin]

    @get("/requests")
    async def requests(
        self, db_session: AsyncSession, status: Literal["pending", "done"] | None = None
    ) -> list[privacy.RequestView]:
        return await privacy.requests(db_session, status=status)

    @post("/requests/{request_id:int}/erase", status_code=200, guards=[security.recently_confirmed])
    async def erase_now(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, services: Services, request_id: Id
    ) -> privacy.RequestView:
        return await privacy.erase(
            db_session, request_id, services.personal_data, done_by=f"user:{_user_id(request)}"
        )


class RefundGrant(msgspec.Struct, forbid_unknown_fields=True):
    allowed: bool
    # per refund, minor units; none: no limit
    limit_cents: Annotated[int, msgspec.Meta(ge=1, le=10**12)] | None = None


class StaffController(Controller):
    """Admins: the staff and their permissions beyond the role."""

    path = "/api/admin/staff"
    tags = ["staff"]
    guards = [admin]

    @get()
    async def all(self, db_session: AsyncSession) -> list[permissions.StaffMember]:
        return await permissions.staff_members(db_session)

    @put("/{user_id:int}/refunds", guards=[security.recently_confirmed])
    async def refunds(
        self, db_session: AsyncSession, user_id: Id, data: RefundGrant
    ) -> permissions.StaffMember:
        """Give an agent the refund permission, with a limit per refund or none, or take it away."""
        return await permissions.grant_refunds(
            db_session, user_id, allowed=data.allowed, limit_cents=data.limit_cents
        )


class TwoFactorRoles(msgspec.Struct, forbid_unknown_fields=True):
    two_factor_roles: Annotated[list[Annotated[str, msgspec.Meta(max_length=16)]], msgspec.Meta(max_length=3)]


class SecurityChoices(msgspec.Struct):
    two_factor_roles: list[str]  # admins always
    choosable: list[str]


class SecurityController(Controller):
    """Admins: the shop's security choices."""

    path = "/api/admin/security"
    tags = ["staff"]
    guards = [admin]

    @get()
    async def choices(self, services: Services) -> SecurityChoices:
        return SecurityChoices(await policy_of(services.runtime).roles(), security.CHOOSABLE)

    @put(guards=[security.recently_confirmed])
    async def choose(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        services: Services,
        data: TwoFactorRoles,
    ) -> SecurityChoices:
        """Which staff roles need two-factor sign-in (admins always): at once on this node, within ten
        seconds on the others."""
        chosen = await security.choose_two_factor_roles(
            db_session, data.two_factor_roles, by=_user_id(request)
        )
        policy_of(services.runtime).forget()
        return SecurityChoices(chosen, security.CHOOSABLE)


__all__ = [
    "AuthController",
    "Me",
    "PrivacyAdminController",
    "PrivacyController",
    "SecurityController",
    "StaffController",
    "TwoFactorController",
    "me_of",
    "shopper",
]
