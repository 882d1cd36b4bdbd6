"""The catalog over HTTP: filters, sorts, keyset pages, caching without stale prices, staff editing."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from commerce import inventory
from commerce.catalog.categories import slugify
from commerce.catalog.models import Product, Variant
from engage.app import create_app
from engage.platform.identity import Role
from engage.platform.runtime import Runtime
from tests.commerce.conftest import make_product
from tests.conftest import ROOT, AppClient, account_on, running


def _draft(name: str, sku: str, price: int, stock: int = 5, **extra) -> dict:
    return {"name": name, "variants": [{"sku": sku, "price_cents": price, "stock": stock}], **extra}


async def _all_pages(client, params: dict) -> list[str]:
    handles, cursor, pages = [], None, 0
    while True:
        res = await client.get("/api/products", params={**params, **({"cursor": cursor} if cursor else {})})
        assert res.status_code == 200, res.text
        body = res.json()
        handles += [item["handle"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return handles
        assert pages < 20


async def test_listing_filters_sorts_and_pages(client, runtime: Runtime) -> None:
    root = f"Shelf {uuid.uuid4().hex[:8]}"
    async with runtime.sessionmaker() as s:
        lamp = await make_product(s, price=3000, category=root, subcategory="Lamps", tags=["light", "gift"])
        desk = await make_product(s, price=12000, category=root, subcategory="Desks", tags=["wood"])
        gone = await make_product(s, price=500, stock=0, category=root, subcategory="Lamps", tags=["light"])
        cheap = await make_product(s, price=900, category=root, subcategory="Desks", tags=["gift"])
        hidden = await make_product(s, price=1000, category=root, subcategory="Desks", status="draft")
        await s.execute(update(Product).where(Product.id == desk.id).values(popularity=50))
        await s.execute(update(Product).where(Product.id == cheap.id).values(popularity=20))
        await s.commit()
    cat = slugify(root)

    by_price = await _all_pages(client, {"category": cat, "sort": "price_asc", "limit": 2})
    assert by_price == [gone.handle, cheap.handle, lamp.handle, desk.handle]
    assert hidden.handle not in by_price
    assert await _all_pages(client, {"category": cat, "sort": "price_desc", "limit": 3}) == by_price[::-1]
    assert await _all_pages(client, {"category": cat, "sort": "newest", "limit": 1}) == [
        cheap.handle,
        gone.handle,
        desk.handle,
        lamp.handle,
    ]
    popular = await _all_pages(client, {"category": cat, "sort": "popularity"})
    assert popular[:2] == [desk.handle, cheap.handle]

    lamps = await _all_pages(client, {"category": f"{cat}--lamps"})
    assert set(lamps) == {lamp.handle, gone.handle}
    assert set(await _all_pages(client, {"category": cat, "in_stock": "true"})) == {
        lamp.handle,
        desk.handle,
        cheap.handle,
    }
    assert set(await _all_pages(client, {"category": cat, "min_price": 900, "max_price": 3000})) == {
        cheap.handle,
        lamp.handle,
    }
    assert set(await _all_pages(client, {"category": cat, "tag": "gift"})) == {lamp.handle, cheap.handle}
    assert await _all_pages(client, {"category": "no-such-category"}) == []

    page = (
        await client.get("/api/products", params={"category": cat, "sort": "price_asc", "limit": 1})
    ).json()
    card = page["items"][0]
    assert card["in_stock"] is False and card["price_cents"] == 500 and card["currency"] == "usd"
    assert card["category"] == {"slug": f"{cat}--lamps", "name": "Lamps"}
    assert card["variants"][0]["sku"] == gone.variants[0].sku

    tree = (await client.get("/api/categories")).json()
    mine = next(c for c in tree if c["slug"] == cat)
    assert sorted(c["name"] for c in mine["children"]) == ["Desks", "Lamps"]


async def test_bad_listing_requests_are_clear_4xx(client) -> None:
    res = await client.get("/api/products", params={"cursor": "not-a-cursor"})
    assert res.status_code == 422 and res.json()["field"] == "cursor"
    page = (await client.get("/api/products", params={"sort": "price_asc", "limit": 1})).json()
    res = await client.get("/api/products", params={"sort": "newest", "cursor": page["next_cursor"]})
    assert res.status_code == 422, "a cursor belongs to its sort"
    assert (await client.get("/api/products", params={"sort": "cheapest"})).status_code == 400
    assert (await client.get("/api/products", params={"limit": 0})).status_code == 400
    assert (await client.get("/api/products", params={"min_price": "ten"})).status_code == 400
    res = await client.get("/api/products", params={"min_price": 500, "max_price": 100})
    assert res.status_code == 422
    assert (await client.get("/api/products/no-such-product")).status_code == 404


async def test_cached_pages_never_show_a_stale_price(client, runtime: Runtime, make_account) -> None:
    marketer = await make_account(Role.marketer)
    tag = f"tag-{uuid.uuid4().hex[:8]}"
    code = f"price-{uuid.uuid4().hex[:8]}"
    draft = _draft("Kettle", f"SKU-{code}", 4900, stock=3, tags=[tag])
    res = await client.put(f"/api/admin/products/{code}", json=draft, headers=marketer.headers)
    assert res.status_code == 200, res.text
    variant_id = res.json()["variants"][0]["id"]

    first = await client.get("/api/products", params={"tag": tag})
    assert first.json()["items"][0]["price_cents"] == 4900
    assert (await client.get(f"/api/products/{code}")).json()["price_cents"] == 4900
    # a browser that has the page asks again with its ETag and gets "unchanged", no body
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get("/api/products", params={"tag": tag}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = await client.get("/api/products", params={"tag": tag}, headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content == first.content

    # A write that bypasses the catalog service is not seen: the pages really come from the cache...
    async with runtime.sessionmaker() as s:
        await s.execute(update(Variant).where(Variant.id == variant_id).values(price_cents=1))
        await s.execute(update(Product).where(Product.handle == code).values(min_price_cents=1))
        await s.commit()
    assert (await client.get("/api/products", params={"tag": tag})).json()["items"][0]["price_cents"] == 4900

    # ...and an edit through the API is seen by the very next request.
    draft["variants"][0]["price_cents"] = 3900
    res = await client.put(f"/api/admin/products/{code}", json=draft, headers=marketer.headers)
    assert res.status_code == 200
    changed = await client.get("/api/products", params={"tag": tag}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["items"][0]["price_cents"] == 3900
    product = (await client.get(f"/api/products/{code}")).json()
    assert product["price_cents"] == 3900 and product["variants"][0]["price_cents"] == 3900

    # Stock on the product page is live; selling out drops the product from "in stock" listings.
    assert product["variants"][0]["available"] == 3
    async with runtime.sessionmaker() as s:
        await inventory.reserve(s, variant_id, 3, owner="guest:x", source="test", hold_seconds=60)
        await s.commit()
    await runtime.publisher.drain()
    assert (await client.get(f"/api/products/{code}")).json()["variants"][0]["available"] == 0
    assert (await client.get("/api/products", params={"tag": tag, "in_stock": "true"})).json()["items"] == []


async def test_staff_edit_the_catalog_and_shoppers_cannot(client, make_account) -> None:
    marketer = await make_account(Role.marketer)
    shopper = await make_account(Role.customer)
    agent = await make_account(Role.agent)
    code = f"new-{uuid.uuid4().hex[:8]}"
    body = {"handle": code, **_draft("Lamp", f"SKU-{code}", 2500, stock=4, status="draft", category="Home")}

    assert (await client.post("/api/admin/products", json=body)).status_code == 401
    assert (await client.post("/api/admin/products", json=body, headers=shopper.headers)).status_code == 403
    assert (await client.post("/api/admin/products", json=body, headers=agent.headers)).status_code == 403
    res = await client.post("/api/admin/products", json=body, headers=marketer.headers)
    assert res.status_code == 201, res.text
    created = res.json()
    assert created["status"] == "draft" and created["variants"][0]["available"] == 4
    assert (await client.post("/api/admin/products", json=body, headers=marketer.headers)).status_code == 409

    # Drafts are invisible to shoppers.
    assert (await client.get(f"/api/products/{code}")).status_code == 404
    listed = await client.get("/api/admin/products", params={"q": code}, headers=marketer.headers)
    assert [p["handle"] for p in listed.json()["items"]] == [code] and listed.json()["total"] == 1

    bad = {**body, "variants": [{"sku": "x y", "price_cents": -1}]}
    bad.pop("handle")
    res = await client.put(f"/api/admin/products/{code}", json=bad, headers=marketer.headers)
    assert res.status_code == 400 and "sku" in res.text

    variant_id = created["variants"][0]["id"]
    res = await client.post(
        f"/api/admin/variants/{variant_id}/stock",
        json={"restock": 6, "low_stock_threshold": 2, "note": "delivery"},
        headers=marketer.headers,
    )
    assert res.json() == {
        "variant_id": variant_id,
        "on_hand": 10,
        "reserved": 0,
        "available": 10,
        "low_stock_threshold": 2,
    }
    res = await client.post(
        f"/api/admin/variants/{variant_id}/stock", json={"on_hand": 7}, headers=marketer.headers
    )
    assert res.json()["on_hand"] == 7
    ledger = (await client.get(f"/api/admin/variants/{variant_id}/ledger", headers=marketer.headers)).json()
    assert [(m["kind"], m["on_hand_delta"]) for m in ledger] == [
        ("adjustment", -3),
        ("restock", 6),
        ("restock", 4),
    ]
    res = await client.post(
        f"/api/admin/variants/{variant_id}/stock", json={"delta": -99}, headers=marketer.headers
    )
    assert res.status_code == 409

    assert (await client.delete(f"/api/admin/products/{code}", headers=shopper.headers)).status_code == 403
    assert (await client.delete(f"/api/admin/products/{code}", headers=marketer.headers)).status_code == 204
    assert (await client.get(f"/api/admin/products/{code}", headers=marketer.headers)).status_code == 404


async def test_staff_upload_an_import_file(client, make_account) -> None:
    admin = await make_account(Role.admin)
    data = (ROOT / "tests" / "data" / "products_bad_rows.csv").read_bytes()
    res = await client.post(
        "/api/admin/catalog/import",
        files={"file": ("products_bad_rows.csv", data, "text/csv")},
        headers=admin.headers,
    )
    assert res.status_code == 200, res.text
    body = res.json()
    assert sorted(body["created"] + body["updated"]) == ["imp-001", "imp-005", "imp-010"]
    assert [p["where"] for p in body["problems"]] == [
        "line 4",
        "line 5",
        "line 6",
        "line 8",
        "line 9",
        "line 10",
        "line 11",
        "line 13",
    ]
    res = await client.post(
        "/api/admin/catalog/import",
        files={"file": ("x.json", b"{nope", "application/json")},
        headers=admin.headers,
    )
    assert res.status_code == 422 and "not valid JSON" in res.json()["detail"]


async def test_put_validates_the_handle_as_create_does(client, sqlite_client) -> None:
    """A handle in the path of PUT follows the create rule (a long one was a 500 on PostgreSQL)."""
    draft = _draft("Lamp", f"SKU-{uuid.uuid4().hex[:8]}", 2500)
    for app in (client, sqlite_client):
        headers = (await account_on(app, Role.marketer)).headers
        for bad in ["a" * 300, "Upper-Case", "-dash-first", "with space", "dot.handle"]:
            res = await app.put(f"/api/admin/products/{bad}", json=draft, headers=headers)
            assert res.status_code == 400, (bad, res.status_code, res.text)
            assert res.json()["code"] == "invalid_request" and "handle" in res.text
        good = f"put-{uuid.uuid4().hex[:8]}"
        res = await app.put(f"/api/admin/products/{good}", json=draft, headers=headers)
        assert res.status_code == 200, res.text


async def test_in_place_edits_change_what_they_name_and_refuse_a_stale_version(
    client, sqlite_client, make_account, sqlite_make_account
) -> None:
    for app, make in ((client, make_account), (sqlite_client, sqlite_make_account)):
        marketer, shopper = await make(Role.marketer), await make(Role.customer)
        code = f"inplace-{uuid.uuid4().hex[:8]}"
        two = {
            "name": "Mug",
            "category": "Home",
            "tags": ["kitchen"],
            "variants": [
                {"sku": f"{code}-s", "price_cents": 1200, "compare_at_cents": 1500, "stock": 3},
                {"sku": f"{code}-l", "price_cents": 1400, "stock": 2},
            ],
        }
        made = (await app.put(f"/api/admin/products/{code}", json=two, headers=marketer.headers)).json()
        small, large = made["variants"]
        url = f"/api/admin/products/{code}"
        change = {
            "updated_at": made["updated_at"],
            "variants": [{"id": small["id"], "price_cents": 999, "compare_at_cents": None}],
        }
        assert (await app.patch(url, json=change, headers=shopper.headers)).status_code == 403
        res = await app.patch(url, json=change, headers=marketer.headers)
        assert res.status_code == 200, res.text
        edited = res.json()
        assert [(v["price_cents"], v["compare_at_cents"], v["on_hand"]) for v in edited["variants"]] == [
            (999, None, 3),
            (1400, None, 2),
        ]
        assert (edited["name"], edited["tags"], edited["category"]) == ("Mug", ["kitchen"], "Home")
        assert edited["updated_at"] != made["updated_at"]
        # a second editor still holding the first version is told, and changes nothing
        stale = await app.patch(
            url, json={"updated_at": made["updated_at"], "name": "Cup"}, headers=marketer.headers
        )
        assert stale.status_code == 409 and stale.json()["code"] == "stale"
        res = await app.patch(
            url,
            json={
                "updated_at": edited["updated_at"],
                "name": "Big mug",
                "status": "draft",
                "images": ["https://example.test/mug.jpg"],
            },
            headers=marketer.headers,
        )
        assert (res.json()["name"], res.json()["status"], res.json()["images"]) == (
            "Big mug",
            "draft",
            ["https://example.test/mug.jpg"],
        )
        latest = res.json()["updated_at"]
        wrong = [
            ({"updated_at": latest, "variants": [{"id": large["id"], "price_cents": -5}]}, 400),
            ({"updated_at": latest, "variants": [{"id": large["id"], "compare_at_cents": 100}]}, 422),
            ({"updated_at": latest, "variants": [{"id": 10**12, "price_cents": 5}]}, 404),
            ({"updated_at": latest, "images": ["javascript:alert(1)"]}, 400),
            ({"name": "no version"}, 400),
        ]
        for body, status in wrong:
            res = await app.patch(url, json=body, headers=marketer.headers)
            assert res.status_code == status, (body, res.text)
        missing = await app.patch(
            "/api/admin/products/no-such-thing", json={"updated_at": latest}, headers=marketer.headers
        )
        assert missing.status_code == 404


async def test_two_in_place_edits_of_one_version_at_once_make_one_change(client, make_account) -> None:
    import asyncio

    marketer = await make_account(Role.marketer)
    code = f"race-{uuid.uuid4().hex[:8]}"
    made = await client.put(
        f"/api/admin/products/{code}", json=_draft("Jug", f"{code}-1", 1000), headers=marketer.headers
    )
    version = made.json()["updated_at"]
    answers = await asyncio.gather(
        *(
            client.patch(
                f"/api/admin/products/{code}",
                json={"updated_at": version, "name": f"Jug {n}"},
                headers=marketer.headers,
            )
            for n in range(4)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    [winner] = [a.json()["name"] for a in answers if a.status_code == 200]
    assert (await client.get(f"/api/admin/products/{code}", headers=marketer.headers)).json()[
        "name"
    ] == winner


async def test_a_listing_answered_before_the_middleware_is_exact_on_every_node(
    client, settings, make_account
) -> None:
    """The listing is answered from memory before sessions, auth and rate limits (shared responses); a
    price edited through one node is what the other node's very next listing shows."""
    marketer = await make_account(Role.marketer)
    tag, code = f"tag-{uuid.uuid4().hex[:8]}", f"lane-{uuid.uuid4().hex[:8]}"
    draft = _draft("Teapot", f"SKU-{code}", 2500, tags=[tag])
    assert (await client.put(f"/api/admin/products/{code}", json=draft, headers=marketer.headers)).is_success
    node_b = create_app(settings)
    async with running(node_b), AppClient(node_b, keep_cookies=False) as other_node:
        first = await other_node.get("/api/products", params={"tag": tag})
        kept = await other_node.get("/api/products", params={"tag": tag})
        assert kept.content == first.content and kept.headers["etag"] == first.headers["etag"]
        # what every answer carries still comes; what is per visitor (a cookie, a rate limit) does not
        assert kept.headers["x-request-id"] != first.headers["x-request-id"]
        assert kept.headers["content-security-policy"] and kept.headers["x-content-type-options"] == "nosniff"
        assert "set-cookie" not in kept.headers and "ratelimit-remaining" not in kept.headers
        assert kept.headers["content-type"].startswith("application/json")
        assert kept.json()["items"][0]["price_cents"] == 2500

        draft["variants"][0]["price_cents"] = 1900
        assert (
            await client.put(f"/api/admin/products/{code}", json=draft, headers=marketer.headers)
        ).is_success
        await client.app.state.services.runtime.publisher.drain()
        changed = await other_node.get(
            "/api/products", params={"tag": tag}, headers={"If-None-Match": first.headers["etag"]}
        )
        assert changed.status_code == 200 and changed.json()["items"][0]["price_cents"] == 1900

        # bad input is still the handler's clear 400, never kept
        for _ in range(2):
            bad = await other_node.get("/api/products", params={"sort": "sideways"})
            assert bad.status_code == 400
