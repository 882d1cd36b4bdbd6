"""Two shoppers in Chromium: one watches a leaderboard, the other buys; the watcher's page moves without a
reload (the `leaderboard:{id}` channel), and the buyer's name appears as they chose it."""

from __future__ import annotations

import uuid

from engage.platform.identity import Role
from tests.commerce.conftest import serving
from tests.conftest import PASSWORD
from tests.loyalty.conftest import buy, make_user, product, set_rules, settle, test_rules


async def test_a_purchase_moves_the_other_shoppers_leaderboard_live(browser, sqlite_client) -> None:
    from playwright.async_api import expect

    app = sqlite_client
    await set_rules(app, test_rules())
    item = await product(app, price=1234, category=f"Board shelf {uuid.uuid4().hex[:6]}")
    _, _, admin = await make_user(app, Role.admin)
    res = await admin.request(
        "POST",
        "/api/admin/leaderboards",
        json={
            "name": "Shelf champions",
            "metric": "category_spend",
            "period": "all_time",
            "category_id": item.category_id,
        },
    )
    assert res.status_code == 201, res.text
    board_id = res.json()["id"]

    _, watcher_email, watcher = await make_user(app)
    _, _, buyer = await make_user(app)
    res = await buyer.request(
        "PUT", "/api/leaderboards/profile", json={"display_name": "Alice Buyer", "anonymous": False}
    )
    assert res.status_code == 200
    _, paid = await buy(app, watcher, item.variants[0].id, 1)  # the watcher is on the board first
    assert paid.json()["status"] == "paid"

    async with serving(app.app) as base:
        context = await browser.new_context(base_url=base)
        errors: list[str] = []
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        res = await context.request.post(
            "/api/auth/login", data={"email": watcher_email, "password": PASSWORD}
        )
        assert res.ok
        await page.goto(f"/leaderboards/{board_id}")
        mine = page.locator(".leaderboard-row.mine")
        await expect(mine).to_have_attribute("data-rank", "1")
        await expect(page.locator("[data-my-rank]")).to_have_attribute("data-my-rank", "1")
        reloads: list[str] = []
        page.on("framenavigated", lambda frame: reloads.append(frame.url))

        _, paid = await buy(app, buyer, item.variants[0].id, 2)  # 2468 > 1234: the buyer takes first place
        assert paid.json()["status"] == "paid"
        await settle(app)

        first = page.locator(".leaderboard-row").first
        await expect(first).to_contain_text("Alice Buyer")
        await expect(first).to_contain_text("$24.68")
        await expect(mine).to_have_attribute("data-rank", "2")
        await expect(page.locator("[data-my-rank]")).to_have_attribute("data-my-rank", "2")
        assert reloads == [], "the page moved without a reload"
        assert errors == []
        await context.close()
