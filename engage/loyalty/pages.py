"""Loyalty's pages: the shopper's rewards (`/account/rewards`), the referral link (`/r/{code}`), and the
staff panel in the marketing console (`/marketing/loyalty`)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from engage.http.guards import identity_of, public
from engage.http.pages import page, staff_page
from engage.loyalty.referrals import CODE
from engage.platform.identity import Role
from engage.services import Services


@get("/account/rewards", guards=[public], include_in_schema=False)
async def rewards_page(request: Request[Any, Any, Any], services: Services) -> Template | Redirect:
    """Points, tier, what expires when, history; store credit; the referral link; the leaderboard name."""
    if not identity_of(request).is_authenticated:
        return Redirect("/login?next=/account/rewards")
    return page(request, "shop/rewards.html", currency=services.settings.currency.upper())


@get("/r/{code:str}", guards=[public], include_in_schema=False)
async def referral_link(request: Request[Any, Any, Any], code: str) -> Redirect:
    """A friend's link: the code waits in the session until sign-up."""
    code = code.strip().upper()
    session = request.scope.get("session")
    if CODE.match(code) and isinstance(session, dict) and not identity_of(request).is_authenticated:
        request.set_session({**session, "referral_code": code})
    return Redirect("/signup")


@get("/marketing/loyalty", guards=[public], include_in_schema=False)
async def loyalty_console(request: Request[Any, Any, Any], services: Services) -> Template | Redirect:
    """Marketers: leaderboards; admins also: the programme's rules, the liability report, referral reviews."""
    return staff_page(
        request,
        "marketing/loyalty.html",
        (Role.marketer,),
        currency=services.settings.currency.upper(),
        is_admin=identity_of(request).role is Role.admin,
    )


loyalty_pages = [rewards_page, referral_link, loyalty_console]
