"""A signed-in shopper's address book: filled by orders, edited in the account, offered at checkout."""

from __future__ import annotations

import asyncio

from engage.auth.models import Role
from tests.commerce.conftest import ADDRESS, Shopper, make_product

HOME = {**ADDRESS, "line1": "12 Elm Road", "city": "Springfield", "region": "IL", "postal_code": "62701"}


async def test_an_order_fills_the_book_and_the_shopper_keeps_it_tidy(client, runtime, make_account) -> None:
    account = await make_account(Role.customer)
    shopper = Shopper(client, account.headers)
    assert (await shopper.request("GET", "/api/account/addresses")).json() == []

    async with runtime.sessionmaker() as s:
        product = await make_product(s, stock=[5])
    assert (await shopper.add(product.variants[0].id)).status_code in (200, 201)
    checkout = await shopper.checkout(address={**ADDRESS, "city": "  san francisco ", "country": "us"})
    assert (await shopper.pay(checkout["id"])).status_code == 200

    [remembered] = (await shopper.request("GET", "/api/account/addresses")).json()
    assert remembered["is_default"] and remembered["address"]["city"] == "san francisco"
    assert remembered["address"]["country"] == "US"

    # the same address typed again (spaces, case) is the one already saved; a new one is added
    again = await shopper.request(
        "POST", "/api/account/addresses", json={"address": ADDRESS, "label": "work"}
    )
    assert (
        again.status_code == 200
        and again.json()["id"] == remembered["id"]
        and again.json()["label"] == "work"
    )
    home = await shopper.request(
        "POST", "/api/account/addresses", json={"address": HOME, "label": "home", "is_default": True}
    )
    assert home.status_code == 201, home.text
    book = (await shopper.request("GET", "/api/account/addresses")).json()
    assert [(a["label"], a["is_default"]) for a in book] == [("home", True), ("work", False)]

    # an edit into an address already there is refused; removing the default hands it on
    clash = await shopper.request(
        "PATCH", f"/api/account/addresses/{home.json()['id']}", json={"address": ADDRESS}
    )
    assert clash.status_code == 409 and clash.json()["code"] == "address_exists"
    assert (await shopper.request("DELETE", f"/api/account/addresses/{home.json()['id']}")).status_code == 204
    [left] = (await shopper.request("GET", "/api/account/addresses")).json()
    assert left["id"] == remembered["id"] and left["is_default"]


async def test_nobody_else_reads_or_changes_a_book(client, make_account) -> None:
    owner, other = await make_account(Role.customer), await make_account(Role.customer)
    saved = await client.post("/api/account/addresses", json={"address": HOME}, headers=owner.headers)
    assert saved.status_code == 201
    path = f"/api/account/addresses/{saved.json()['id']}"
    assert (await client.patch(path, json={"label": "mine"}, headers=other.headers)).status_code == 404
    assert (await client.delete(path, headers=other.headers)).status_code == 404
    assert (await client.get("/api/account/addresses", headers=other.headers)).json() == []
    assert (await client.get("/api/account/addresses")).status_code == 401  # a guest has no book
    bad = await client.post(
        "/api/account/addresses", json={"address": {**HOME, "country": "USA"}}, headers=owner.headers
    )
    assert bad.status_code == 400 and "country" in bad.text


async def test_saving_at_once_keeps_one_copy_one_default_and_a_limit(client, make_account) -> None:
    account = await make_account(Role.customer)

    async def save(address: dict, **extra: bool) -> int:
        res = await client.post(
            "/api/account/addresses", json={"address": address, **extra}, headers=account.headers
        )
        return res.status_code

    # different first addresses at once: all kept, one of them the default
    firsts = [{**HOME, "line1": f"{n} First Street"} for n in range(3)]
    assert await asyncio.gather(*(save(a) for a in firsts)) == [201, 201, 201]
    book = (await client.get("/api/account/addresses", headers=account.headers)).json()
    assert sum(a["is_default"] for a in book) == 1
    # each asks to be the default at once: one wins, never two
    assert await asyncio.gather(*(save(a, is_default=True) for a in firsts)) == [200, 200, 200]
    book = (await client.get("/api/account/addresses", headers=account.headers)).json()
    assert sum(a["is_default"] for a in book) == 1

    assert sorted(await asyncio.gather(*(save(HOME) for _ in range(4)))) == [200, 200, 200, 201]
    for n in range(16):
        assert await save({**HOME, "line1": f"{n} Side Street"}) == 201
    res = await client.post(
        "/api/account/addresses", json={"address": {**HOME, "line1": "One Too Many"}}, headers=account.headers
    )
    assert res.status_code == 409 and res.json()["code"] == "address_book_full"
    book = (await client.get("/api/account/addresses", headers=account.headers)).json()
    assert len(book) == 20 and sum(a["is_default"] for a in book) == 1
