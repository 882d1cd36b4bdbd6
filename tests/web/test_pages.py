"""Every page route answers a browser with an HTML page (never JSON), whoever asks; the Bot page and the 403
page a marketer gets there render as pages in Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from bots.support.models import HelpArticle
from engage.platform.identity import Role
from tests.conftest import PASSWORD, AppClient
from tests.flash_sales.conftest import make_sale
from tests.web.conftest import make_person, make_product, sign_in, watch_errors

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def page_routes(app: Any) -> list[str]:
    """GET routes outside the API: the server-rendered pages (not the API docs, not product pictures, not
    scripts such as the service worker)."""
    paths = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(("/api", "/schema", "/media/")):
            continue
        if route.path.endswith(".js"):
            continue
        for handler in route.route_handlers:
            if "GET" in handler.http_methods and not handler.include_in_schema:
                paths.append(route.path)
    return sorted(set(paths))


async def _browser_as(app: Any, email: str | None) -> AppClient:
    browser = AppClient(app, keep_cookies=True)
    # opening a page makes a browser a guest (session and CSRF cookies)
    await browser.get("/login", headers=HTML)
    if email:
        res = await browser.post(
            "/api/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"x-csrftoken": browser.cookies["engage_csrf"]},
        )
        assert res.status_code == 200, res.text
    return browser


async def test_every_page_route_answers_a_browser_with_html(app, web_runtime) -> None:
    async with web_runtime.sessionmaker() as s:
        product = await make_product(s, stock=[3])
        s.add(
            HelpArticle(
                slug=f"page-{product.handle}", title="Returns", category="Orders", body="Send it back."
            )
        )
        await s.commit()
    sale_id = await make_sale(web_runtime, [product.variants[0].id], units=1, price=100)
    values = {
        "handle": product.handle,
        "number": "EN-NOSUCH1",
        "sale_id": str(sale_id),
        "slug": f"page-{product.handle}",
    }
    routes = page_routes(app)
    assert {"/", "/console", "/console/bot", "/marketing", "/admin/catalog", "/checkout"} <= set(routes)

    people = [None] + [(await make_person(web_runtime, role)).email for role in Role]
    seen = []
    for email in people:
        browser = await _browser_as(app, email)
        try:
            for route in routes:
                # any other parameter is an id: "1" may name nothing (a 404 page is an answer too)
                path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), route)
                res = await browser.get(path, headers=HTML)
                if (
                    res.is_redirect
                ):  # a console sends signed-out visitors to sign in; a referral link to sign up
                    location = res.headers["location"]
                    assert location.startswith("/") and not location.startswith("//"), (email, path, location)
                    continue
                assert res.status_code in (200, 403, 404), (email, path, res.status_code, res.text[:200])
                assert res.headers["content-type"].startswith("text/html"), (email, path, res.headers)
                assert res.text.lstrip().lower().startswith("<!doctype html>"), (email, path)
                seen.append((email, path, res.status_code))
        finally:
            await browser.aclose()
    assert any(p == "/console/bot" and code == 200 for _, p, code in seen)
    assert any(p == "/console/bot" and code == 403 for _, p, code in seen)


@pytest.mark.parametrize("role, status", [(Role.agent, 200), (Role.marketer, 403)])
async def test_the_bot_page_and_its_403_render_as_pages(browser, site, web_runtime, role, status) -> None:
    from playwright.async_api import expect

    person = await make_person(web_runtime, role)
    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    await sign_in(page, person)
    response = await page.goto("/console/bot")
    assert response is not None and response.status == status
    assert response.headers["content-type"].startswith("text/html")
    assert await page.evaluate("document.contentType") == "text/html"
    heading = "Support bot" if status == 200 else "Not allowed"
    await expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    await expect(page.locator("header.topbar .brand")).to_be_visible()  # the site's layout, not source text
    assert errors == []


async def test_an_unknown_url_is_a_page_for_a_browser_and_a_problem_for_the_api(sqlite_client) -> None:
    browser = await _browser_as(sqlite_client.app, None)
    try:
        for path in ("/no/such/page", "/products/no-such-product-here", "/help/no-such-article-here"):
            res = await browser.get(path, headers=HTML)
            assert res.status_code == 404, path
            assert res.headers["content-type"].startswith("text/html"), (path, res.headers)
            assert 'class="topbar"' in res.text and "We could not find" in res.text, path
        # the API keeps its problem documents, whatever the client accepts
        for path, accept in [("/api/no/such", HTML["Accept"]), ("/no/such/page", "application/json")]:
            res = await browser.get(path, headers={"Accept": accept})
            assert res.status_code == 404, path
            assert res.headers["content-type"].startswith("application/problem+json"), (path, res.headers)
            assert res.json()["status"] == 404
        res = await browser.get("/api/help/articles/no-such-article-here", headers=HTML)
        assert res.status_code == 404 and res.json()["code"] == "not_found", res.text
    finally:
        await browser.aclose()


async def test_a_browser_sees_the_shops_404_page(browser, site, web_runtime) -> None:
    from playwright.async_api import expect

    person = await make_person(web_runtime, Role.customer, "Casey Lost")
    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    await sign_in(page, person)
    response = await page.goto("/this/page/does/not/exist")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    await expect(page.locator("header.topbar .brand")).to_be_visible()
    await expect(page.locator("header.topbar")).not_to_contain_text("Sign in")  # not told to sign in again
    await page.get_by_label("Search the shop").fill("kettle")
    await page.get_by_role("button", name="Search", exact=True).click()
    await page.wait_for_url("**/search?q=kettle")
    assert errors == []
