"""Checkout door: start from the cart, give address and shipping, see totals (computed here, never sent);
and the signed-in shopper's address book."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.checkout import address_book, checkouts
from commerce.checkout.address_book import AddressChanges, AddressEntry, NewAddress
from commerce.checkout.checkouts import Address, CheckoutView
from engage.http.guards import identity_of, shopper, signed_in
from engage.http.params import Id
from engage.services import Services


class CheckoutChanges(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    address: Address | None = None
    shipping_method: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class CheckoutController(Controller):
    path = "/api/checkout"
    tags = ["checkout"]
    guards = [shopper]

    @post(status_code=201)
    async def start(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession
    ) -> CheckoutView:
        """Hold the cart's stock for ENGAGE_RESERVATION_HOLD_SECONDS and open a checkout (409 when an item
        is sold out; a new checkout replaces the shopper's previous open one)."""
        ident = identity_of(request)
        return await checkouts.start(
            db_session,
            ident.owner_key,
            user_id=ident.user_id,
            email=ident.email or "",
            policy=services.shop_policy,
            promotions=services.promotions,
        )

    @get("/{checkout_id:str}")
    async def show(
        self, request: Request[Any, Any, Any], services: Services, db_session: AsyncSession, checkout_id: str
    ) -> CheckoutView:
        return await checkouts.view(
            db_session,
            checkout_id,
            identity_of(request).owner_key,
            policy=services.shop_policy,
            promotions=services.promotions,
        )

    @patch("/{checkout_id:str}")
    async def change(
        self,
        request: Request[Any, Any, Any],
        services: Services,
        db_session: AsyncSession,
        checkout_id: str,
        data: CheckoutChanges,
    ) -> CheckoutView:
        """Set the email, the shipping address and/or the shipping method; totals follow."""
        return await checkouts.change(
            db_session,
            checkout_id,
            identity_of(request).owner_key,
            email=data.email,
            address=data.address,
            shipping_method=data.shipping_method,
            policy=services.shop_policy,
            promotions=services.promotions,
        )


class AddressBookController(Controller):
    """The signed-in shopper's own address book (guests have none)."""

    path = "/api/account/addresses"
    tags = ["account"]
    guards = [signed_in]

    @get()
    async def mine(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> list[AddressEntry]:
        """The default first, then the most recently used."""
        return await address_book.entries(db_session, _user_id(request))

    @post()
    async def add(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: NewAddress
    ) -> Response[AddressEntry]:
        """Save an address: 201, or 200 with the saved one when it is already in the book; 409
        `address_book_full` past 20."""
        entry, created = await address_book.add(db_session, _user_id(request), data)
        return Response(entry, status_code=201 if created else 200)

    @patch("/{address_id:int}")
    async def change(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, address_id: Id, data: AddressChanges
    ) -> AddressEntry:
        """Edit the address, its label, or make it the default (409 `address_exists` when the edit
        matches another saved address)."""
        return await address_book.change(db_session, _user_id(request), address_id, data)

    @delete("/{address_id:int}")
    async def remove(self, request: Request[Any, Any, Any], db_session: AsyncSession, address_id: Id) -> None:
        await address_book.remove(db_session, _user_id(request), address_id)


def _user_id(request: Request[Any, Any, Any]) -> int:
    user_id = identity_of(request).user_id
    assert user_id is not None  # the signed_in guard
    return user_id
