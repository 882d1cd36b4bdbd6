"""Sign-in and sign-up pages (the forms post to the auth API)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from engage.http.guards import identity_of, public
from engage.http.pages import login_url, page, safe_next, staff_page
from engage.platform.identity import Role
from engage.services import Services


@get("/login", guards=[public], include_in_schema=False)
async def login_page(request: Request[Any, Any, Any], next: str | None = None) -> Template:
    return page(request, "auth/login.html", next=safe_next(next))


@get("/signup", guards=[public], include_in_schema=False)
async def signup_page(request: Request[Any, Any, Any], next: str | None = None) -> Template:
    return page(request, "auth/signup.html", next=safe_next(next))


@get("/signup/confirm", guards=[public], include_in_schema=False)
async def confirm_page(request: Request[Any, Any, Any], token: str = "") -> Template:
    """The link a sign-up mails: enter the password chosen to make the account."""
    return page(request, "auth/confirm.html", token=token[:128])


@get("/account/security", guards=[public], include_in_schema=False)
async def security_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Two-factor sign-in: turn it on (QR code), give a code for this session, turn it off."""
    if not identity_of(request).is_authenticated:
        return Redirect(login_url(request))
    return page(request, "auth/security.html")


@get("/account/privacy", guards=[public], include_in_schema=False)
async def privacy_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Download all my data; delete my account."""
    if not identity_of(request).is_authenticated:
        return Redirect(login_url(request))
    return page(request, "auth/privacy.html")


@get("/account", guards=[public], include_in_schema=False)
async def account_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    """The shopper's account: profile, password, sign out everywhere, and the places for orders, rewards,
    notifications, sign-in security and their data."""
    if not identity_of(request).is_authenticated:
        return Redirect(login_url(request))
    return page(request, "auth/account.html")


@get("/admin/staff", guards=[public], include_in_schema=False)
async def staff_security_page(request: Request[Any, Any, Any], services: Services) -> Template | Redirect:
    """Admins: which staff roles need two-factor sign-in, and who may refund up to what."""
    return staff_page(request, "admin/staff.html", (Role.admin,), currency=services.settings.currency.upper())


auth_pages = [
    login_page,
    signup_page,
    confirm_page,
    security_page,
    privacy_page,
    account_page,
    staff_security_page,
]
