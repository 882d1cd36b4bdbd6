"""Rendering server pages: every template sees `me` (who is asking) for its header and links."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import MediaType
from litestar.response import Redirect, Template

from engage.http.guards import identity_of
from engage.http.me import me_of
from engage.platform.identity import Role


def page(request: Request[Any, Any, Any], template: str, **context: Any) -> Template:
    """Always text/html, whatever the handler's return annotation says (Litestar would otherwise take the
    media type from it: a handler annotated `-> Any` answers `application/json`)."""
    return Template(
        template_name=template,
        context={"me": me_of(identity_of(request)), **context},
        media_type=MediaType.HTML,
    )


def not_found(request: Request[Any, Any, Any], message: str, *, who_known: bool = True) -> Template:
    response = page(request, "shop/not_found.html", message=message)
    if not who_known:
        response.context["me"] = None
    response.status_code = 404
    return response


def staff_page(
    request: Request[Any, Any, Any], template: str, roles: tuple[Role, ...], **context: Any
) -> Template | Redirect:
    """A console page: signed-out visitors go to the sign-in page, other roles get a 403 page."""
    ident = identity_of(request)
    if not ident.is_authenticated:
        return Redirect(f"/login?next={request.url.path}")
    if not ident.has_role(*roles):
        response = page(request, "forbidden.html", roles=[r.value for r in roles])
        response.status_code = 403
        return response
    return page(request, template, **context)
