"""The browser client (realtime.js) in Chromium: live announcements, live stock, reconnect and resume."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engage.announcements import service as announcements
from engage.platform.identity import Identity, Role
from tests.realtime.conftest import serving

MARKETER = Identity(user_id=None, role=Role.marketer, name="Mo")


async def announce(hub: Any, text: str) -> None:
    async with hub.runtime.sessionmaker() as session:
        await announcements.announce(session, MARKETER, text, minutes=5)


async def end_running(hub: Any) -> None:
    """The embedded database outlives this test: a banner left running would shift later tests' pages."""
    async with hub.runtime.sessionmaker() as session:
        for announcement in await announcements.running(session):
            await announcements.end(session, announcement.id)


async def test_a_storefront_tab_shows_announcements_live_and_resumes_after_a_reconnect(
    browser, sqlite_settings
) -> None:
    async with serving(sqlite_settings) as (base, hub):
        try:
            await _announcements_live_and_resumed(browser, base, hub)
        finally:
            await end_running(hub)


async def _announcements_live_and_resumed(browser: Any, base: str, hub: Any) -> None:
    page = await browser.new_page()
    await page.goto(base + "/login")
    await _until_connected(page)
    assert await page.is_hidden("#announcements")

    await announce(hub, "Flash sale at noon")
    await page.wait_for_selector("#announcements >> text=Flash sale at noon")

    states: list[str] = []

    def record_state(state: str) -> None:
        states.append(state)

    await page.expose_function("recordState", record_state)
    await page.evaluate(
        """async () => {
            const { realtime } = await import('/static/js/realtime.js');
            realtime.addEventListener('state', (e) => window.recordState(e.detail.state));
        }"""
    )
    for conn in list(hub.connections):  # the server restarts its sockets...
        await conn.close(1012, "restart")
    await announce(hub, "Posted while you were away")  # ...and this is published meanwhile
    await page.wait_for_selector("#announcements >> text=Posted while you were away")
    assert "reconnecting" in states and states[-1] == "open"
    texts = await page.locator("#announcements .announcement").all_inner_texts()
    assert texts == ["Posted while you were away", "Flash sale at noon"], "resumed: nothing twice"

    # the next page shows the running banners at once, before its socket's snapshot: nothing moves later
    await page.add_init_script(
        """document.addEventListener('DOMContentLoaded', () => {
            const box = document.getElementById('announcements');
            window.bannerAtLoad = box.hidden ? [] : [...box.querySelectorAll('.announcement')].map((p) => p.textContent);
        });"""
    )
    await page.goto(base + "/login")
    assert await page.evaluate("window.bannerAtLoad") == texts
    await _until_connected(page)
    assert await page.locator("#announcements .announcement").all_inner_texts() == texts
    # ...and what ended while the tab was elsewhere goes once the snapshot says so
    await page.goto("about:blank")
    await end_running(hub)
    await page.goto(base + "/login")
    assert await page.evaluate("window.bannerAtLoad") == texts
    await page.wait_for_selector("#announcements", state="hidden")


async def test_product_hooks_show_live_stock_and_the_server_clock(browser, sqlite_settings) -> None:
    from commerce import inventory
    from commerce.catalog import Variant
    from tests.commerce.conftest import make_product

    async with serving(sqlite_settings) as (base, hub):
        async with hub.runtime.sessionmaker() as session:
            product = await make_product(session, stock=[12], price=1999)
            variant_id = (
                await session.scalars(select(Variant.id).where(Variant.product_id == product.id))
            ).one()

        page = await browser.new_page()
        await page.goto(base + "/login")
        await _until_connected(page)
        # the markup commerce's product cards carry, added after load (as a search result list would)
        await page.evaluate(
            """([handle, variant]) => {
                const card = document.createElement('article');
                card.dataset.product = handle;
                card.innerHTML = `<span data-price-variant="${variant}"></span>
                                  <span data-stock-variant="${variant}"></span>`;
                document.querySelector('main').append(card);
            }""",
            [product.handle, variant_id],
        )
        stock = page.locator(f'[data-stock-variant="{variant_id}"]')
        await page.wait_for_function(
            f"() => document.querySelector('[data-stock-variant=\"{variant_id}\"]').textContent === '12 in stock'"
        )
        assert "19.99" in await page.locator(f'[data-price-variant="{variant_id}"]').inner_text()

        async with hub.runtime.sessionmaker() as session:  # another shopper takes 9
            await inventory.reserve(session, variant_id, 9, owner="user:99", source="test", hold_seconds=60)
            await session.commit()
        await page.wait_for_function(
            f"() => document.querySelector('[data-stock-variant=\"{variant_id}\"]').textContent === 'Only 3 left'"
        )
        assert "low-stock" in (await stock.get_attribute("class") or "")

        offset = await page.evaluate("async () => (await import('/static/js/realtime.js')).realtime.offset")
        assert abs(offset) < 5000, "same machine: the estimated skew is small"


async def _until_connected(page: Any) -> None:
    await page.evaluate(
        """async () => {
            const { realtime } = await import('/static/js/realtime.js');
            if (realtime.state !== 'open') {
                await new Promise((done) => realtime.addEventListener('state', (e) => {
                    if (e.detail.state === 'open') done();
                }));
            }
        }"""
    )
