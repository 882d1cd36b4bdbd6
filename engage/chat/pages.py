"""The agent console page (`/console`): signed-out visitors are sent to sign in, other roles get a 403 page."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Redirect, Template

from engage.http.guards import public
from engage.http.pages import staff_page
from engage.platform.identity import Role
from engage.services import Services


@get("/console", guards=[public], include_in_schema=False)
async def console_page(request: Request[Any, Any, Any], services: Services) -> Template | Redirect:
    """Agents and admins: inbox, conversations, the shopper's context."""
    limits = services.chat.limits
    return staff_page(
        request,
        "console/index.html",
        (Role.agent,),
        first_response_seconds=limits.first_response_seconds,
    )


chat_pages = [console_page]
