"""The help centre in Chromium: /help lists the articles by category (linked from every page's footer),
filters them by words, opens one; an article's markdown is rendered without any of its raw HTML, script or
javascript: links."""

from __future__ import annotations

import uuid

from bots.support import knowledge
from tests.web.conftest import watch_errors

BODY = """Send the parcel back within **30 days**.

| Item | Days |
|------|------|
| Shoes | 30 |

<script>window.pwned = true</script>
<img src="x" onerror="window.pwned = true">
[Click me](javascript:window.pwned=true) and [our returns form](/help)
"""


async def test_the_help_centre_lists_and_renders_articles_safely(
    browser, site, sqlite_client, web_runtime
) -> None:
    from playwright.async_api import expect

    tag = uuid.uuid4().hex[:6]
    category = f"Returns {tag}"
    model = sqlite_client.app.state.services.settings.embedding_model
    async with web_runtime.sessionmaker() as session:
        for slug, title in [
            (f"send-back-{tag}", f"Sending a parcel back {tag}"),
            (f"refund-time-{tag}", f"Refund times {tag}"),
        ]:
            await knowledge.save_article(session, model, knowledge.ArticleSource(slug, title, category, BODY))

    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    await page.goto("/")
    await page.locator("footer.site-footer").get_by_role("link", name="Help centre").click()
    await page.wait_for_url("**/help")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Help centre")
    section = page.locator("section.help-section", has=page.get_by_role("heading", name=category))
    await expect(section.get_by_role("link")).to_have_count(2)
    await expect(section).to_contain_text("Send the parcel back within 30 days")  # an excerpt, as text

    await page.get_by_label("Search the help centre").fill(f"refund {tag}")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("section.help-section a")).to_have_count(1)
    await page.get_by_role("link", name=f"Refund times {tag}").click()
    await page.wait_for_url(f"**/help/refund-time-{tag}")

    article = page.locator("article.help-article")
    await expect(article.get_by_role("heading", level=1)).to_have_text(f"Refund times {tag}")
    await expect(article.locator("strong")).to_have_text("30 days")
    await expect(article.locator("table td").first).to_have_text("Shoes")
    # raw HTML is text, not markup; the javascript: link is no link
    await expect(article).to_contain_text("<script>window.pwned = true</script>")
    assert await article.locator("script, img[onerror], [onerror]").count() == 0
    assert await article.locator("a[href^='javascript']").count() == 0
    await expect(article.get_by_role("link", name="our returns form")).to_have_attribute("href", "/help")
    await page.wait_for_timeout(300)
    assert await page.evaluate("window.pwned === undefined")
    await expect(page.locator("nav.crumbs").get_by_role("link", name="Help centre")).to_be_visible()
    assert errors == []
