"""Rendering server pages: every template sees `me` (who is asking) for its header and links."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from litestar import Request
from litestar.enums import MediaType
from litestar.response import Redirect, Template

from engage.http.guards import identity_of
from engage.http.me import me_of
from engage.platform.identity import Role

# Anything a browser would strip, fold or read as a separator in a URL: controls, whitespace, backslash.
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f-\x9f\\\s]")
MAX_NEXT = 2048


def safe_next(target: str | None, default: str = "/") -> str:
    """Where to send the browser after signing in: `target` if it is a path on this site, else `default`.

    Refused: other origins (`//evil`, `https:`), what browsers turn into them (`/\\evil`, `/\t/evil`),
    and the same percent-encoded (`/%5Cevil`, `%2F%2Fevil`). web/static/js/login.js applies this rule too.
    """
    if not target or len(target) > MAX_NEXT:
        return default
    for form in (target, unquote(target)):
        if not form.startswith("/") or form.startswith("//") or _UNSAFE_IN_PATH.search(form):
            return default
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return default
    return target


def login_url(request: Request[Any, Any, Any]) -> str:
    """The sign-in page, coming back to this page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(here, safe='/')}"


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
        return Redirect(login_url(request))
    if not ident.has_role(*roles) or ident.needs_second_factor:
        response = page(
            request, "forbidden.html", roles=[r.value for r in roles], second_factor=ident.has_role(*roles)
        )
        response.status_code = 403
        return response
    return page(request, template, **context)
