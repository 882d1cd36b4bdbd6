"""The API reference pages render in Chromium from local files only, under the site's CSP: no request
leaves the site, none is refused (ReDoc's logo included), and Swagger UI asks no outside validator."""

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
        page.on("requestfailed", answered)  # refused by the CSP, or blocked: it tried to leave all the same
        page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)

        await page.goto(base + "/schema/redoc")
        await page.wait_for_selector("h1:has-text('Engage API')", timeout=30_000)
        await page.wait_for_selector("text='/api/auth/login'", state="attached", timeout=30_000)
        logo = page.locator("img[alt='redocly logo']")
        await logo.wait_for(state="attached", timeout=10_000)
        assert (await logo.get_attribute("src") or "").startswith("/static/")
        await page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=await logo.element_handle()
        )

        await page.goto(base + "/schema/swagger")
        await page.wait_for_selector(".swagger-ui .title:has-text('Engage API')", timeout=30_000)
        await page.wait_for_selector(".opblock-summary-path:has-text('/api/auth/login')", timeout=30_000)
        assert await page.evaluate("window.ui.getConfigs().validatorUrl") is None
    assert outside == [], outside
    assert refused == [], refused
