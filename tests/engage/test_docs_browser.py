"""The API reference pages render in Chromium from local files only, under the site's CSP."""

from __future__ import annotations

from typing import Any

from tests.realtime.conftest import serving


async def test_swagger_and_redoc_render_without_any_outside_request(browser, sqlite_settings) -> None:
    async with serving(sqlite_settings) as (base, _hub):
        page = await browser.new_page()
        outside: list[str] = []  # requests that left this site and were answered
        refused: list[str] = []  # what the CSP refused

        def answered(request: Any) -> None:
            if not request.url.startswith((base, "blob:", "data:")):
                outside.append(request.url)

        page.on("requestfinished", answered)
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

        await page.goto(base + "/schema/redoc")
        await page.wait_for_selector("h1:has-text('Engage API')", timeout=30_000)
        await page.wait_for_selector("text='/api/auth/login'", state="attached", timeout=30_000)

        await page.goto(base + "/schema/swagger")
        await page.wait_for_selector(".swagger-ui .title:has-text('Engage API')", timeout=30_000)
        await page.wait_for_selector(".opblock-summary-path:has-text('/api/auth/login')", timeout=30_000)
    assert outside == [], outside
    assert not [m for m in refused if "img-src" not in m], refused  # ReDoc's CDN logo is the only one
