"""Storefront pages of the cart and the checkout (both drive the JSON API from the browser)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from engage.http.guards import shopper
from engage.http.pages import page
from engage.services import Services


@get("/cart", guards=[shopper], include_in_schema=False)
async def cart_page(request: Request[Any, Any, Any], services: Services) -> Template:
    return page(request, "shop/cart.html", currency=services.settings.currency)


@get("/checkout", guards=[shopper], include_in_schema=False)
async def checkout_page(
    request: Request[Any, Any, Any], services: Services, id: str | None = None
) -> Template:
    """Without `id`, the page opens a checkout from the cart; with it, it resumes that one."""
    provider = services.payments.name
    return page(request, "shop/checkout.html", provider=provider, checkout_id=(id or "")[:40])


checkout_pages = [cart_page, checkout_page]
