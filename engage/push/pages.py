"""Push's pages: the service worker (at the site's root, so its scope is the whole shop) and the
notification preference centre (signed in, or from the signed link in every marketing push)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.response import Redirect, Template

import web
from engage.http.guards import public
from engage.http.pages import page, staff_page
from engage.platform.identity import Role
from engage.push.links import MAX_TOKEN_CHARS, PREFERENCES_PATH

_SERVICE_WORKER = web.STATIC / "sw.js"


@get("/sw.js", guards=[public], include_in_schema=False)
async def service_worker() -> Response[bytes]:
    return Response(
        _SERVICE_WORKER.read_bytes(),
        media_type="application/javascript",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )


@get([PREFERENCES_PATH, "/account/notifications"], guards=[public], include_in_schema=False)
async def preference_centre(request: Request[Any, Any, Any], token: str = "") -> Template:
    """Per topic and channel, quiet hours, unsubscribe from all marketing, this shopper's devices. With
    `?token=` (the link in a push) it works without signing in."""
    return page(request, "push/preferences.html", token=token[:MAX_TOKEN_CHARS])


@get("/marketing/campaigns", guards=[public], include_in_schema=False)
async def campaigns_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    """Push campaigns: the list, and the composer (content, preview, audience, schedule, A/B)."""
    return staff_page(request, "marketing/campaigns.html", (Role.marketer,))


@get("/marketing/campaigns/{campaign_id:int}", guards=[public], include_in_schema=False)
async def campaign_page(request: Request[Any, Any, Any], campaign_id: int) -> Template | Redirect:
    """One campaign, live while it sends: figures per variant, its history, pause, resume, cancel."""
    return staff_page(request, "marketing/campaign.html", (Role.marketer,), campaign_id=campaign_id)


push_pages = [service_worker, preference_centre, campaigns_page, campaign_page]
