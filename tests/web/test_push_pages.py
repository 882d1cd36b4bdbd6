"""Push in the browser: the service worker shows a pushed notification (delivered through the DevTools
protocol: Chromium offline cannot reach a real push service), the opt-in is offered only on a shopper's
action, and the preference centre changes what the API holds, signed in or from a push's signed link."""

from __future__ import annotations

import json

from engage.platform.identity import Role
from engage.push.links import preferences_token
from tests.web.conftest import PHONE, make_person, sign_in, watch_errors


async def test_the_service_worker_shows_a_pushed_notification(browser, site) -> None:
    context = await browser.new_context(base_url=site)
    await context.grant_permissions(["notifications"], origin=site)
    page = await context.new_page()
    errors = watch_errors(page)
    await page.goto("/")
    sw = await page.request.get("/sw.js")
    assert sw.headers["content-type"].startswith("application/javascript")
    assert sw.headers["service-worker-allowed"] == "/"

    cdp = await context.new_cdp_session(page)
    registrations: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(r["registrationId"] for r in e["registrations"] if not r["isDeleted"]),
    )
    await cdp.send("ServiceWorker.enable")
    await page.evaluate(
        "navigator.serviceWorker.register('/sw.js').then(() => navigator.serviceWorker.ready)"
    )
    for _ in range(150):
        if registrations:
            break
        await page.wait_for_timeout(100)
    payload = {
        "v": 1,
        "message_id": "41",
        "kind": "campaign",
        "title": "Winter sale",
        "body": "Parkas at half price until midnight",
        "url": f"{site}/",
        "tag": "campaign-7",
        "actions": [{"action": "a1", "title": "Shop now", "url": f"{site}/search?q=parka"}],
        "click": {"url": f"{site}/api/push/clicks", "token": "x"},
        "ts": 1764756000000,
    }
    shown = []
    for attempt in range(150):  # a loaded machine takes a while to wake the worker
        if attempt % 30 == 0:  # a push reaching a worker still starting is dropped: the push service resends
            await cdp.send(
                "ServiceWorker.deliverPushMessage",
                {"origin": site, "registrationId": registrations[-1], "data": json.dumps(payload)},
            )
        shown = await page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.getNotifications())"
            ".then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, actions: n.actions.length})))"
        )
        if shown:
            break
        await page.wait_for_timeout(100)
    assert shown == [
        {
            "title": "Winter sale",
            "body": "Parkas at half price until midnight",
            "tag": "campaign-7",
            "actions": 1,
        }
    ]
    assert not errors, errors
    await context.close()


async def test_no_permission_prompt_on_page_load_and_the_order_page_offers_it(
    browser, site, web_runtime
) -> None:
    context = await browser.new_context(base_url=site)
    page = await context.new_page()
    asked: list[str] = []
    await page.expose_function("noteAsked", lambda: asked.append("asked"))
    await page.add_init_script(
        "const ask = Notification.requestPermission.bind(Notification);"
        "Notification.requestPermission = (...a) => { window.noteAsked(); return ask(...a); };"
    )
    for path in ("/", "/search?q=parka", "/account/notifications"):
        await page.goto(path)
        await page.wait_for_load_state("networkidle")
    assert asked == [], "a page asked for permission by itself"
    await context.close()


async def test_the_preference_centre_signed_in_and_from_a_pushs_link(browser, site, web_runtime, app) -> None:
    from playwright.async_api import expect

    person = await make_person(web_runtime, Role.customer)
    context = await browser.new_context(base_url=site, viewport=PHONE)
    page = await context.new_page()
    errors = watch_errors(page)
    await sign_in(page, person)
    await page.goto("/account/notifications")
    offers_push = page.get_by_label("Offers and news: push")
    await expect(offers_push).not_to_be_checked()  # marketing is off until the shopper turns it on
    await offers_push.check()
    await page.get_by_label("Keep quiet hours").check()
    await page.get_by_label("Quiet from").fill("21:30")
    await page.get_by_label("Time zone").fill("Europe/Paris")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    saved = await page.evaluate("fetch('/api/notifications/preferences').then(r => r.json())")
    assert saved["topics"]["offers"]["push"] is True
    assert saved["quiet_hours"] == {"start": "21:30", "end": "07:00"} and saved["timezone"] == "Europe/Paris"
    await context.close()

    # the link in a marketing push opens the same preferences without signing in
    token = preferences_token(app.state.services.push, f"user:{person.id}")
    stranger = await (await browser.new_context(base_url=site)).new_page()
    await stranger.goto(f"/notifications/preferences?token={token}")
    await stranger.get_by_label("Unsubscribe from all marketing").check()
    await stranger.get_by_role("button", name="Save").click()
    await expect(stranger.get_by_role("status")).to_contain_text("Saved")
    again = await stranger.evaluate(
        f"fetch('/api/notifications/preferences?token={token}').then(r => r.json())"
    )
    assert again["marketing_unsubscribed"] is True and again["owner"] == "user"
    await expect(stranger.locator("#pref-devices")).to_be_hidden()
    assert not errors, errors
