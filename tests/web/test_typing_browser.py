"""Typing indicators in Chromium: the agent clears the draft or sends, and the shopper's "is typing" line
goes at once (not seconds later); the same the other way round; the line goes when the conversation is
resolved, even when the typist never said "stopped"; a resolved conversation has no "new" badge."""

from __future__ import annotations

import uuid

from engage.platform.identity import Role
from tests.web.conftest import make_person, sign_in, token_of, watch_errors

QUICK = 1_500  # ms: far below the 4 s pause after which typing stops by itself, and the 8 s fallback


async def test_typing_stops_when_the_draft_goes_and_when_the_conversation_ends(
    browser, site, sqlite_client, web_runtime
) -> None:
    from playwright.async_api import expect

    http = sqlite_client
    tag = uuid.uuid4().hex[:6]
    shopper = await make_person(web_runtime, Role.customer, f"Shopper {tag}")
    agent = await make_person(web_runtime, Role.agent, f"Agent {tag}")
    colleague = await make_person(web_runtime, Role.agent, f"Colleague {tag}")
    as_shopper, as_agent, as_colleague = [await token_of(http, p) for p in (shopper, agent, colleague)]
    res = await http.post(
        "/api/chat/conversations", json={"text": f"Hello {tag}", "human": True}, headers=as_shopper
    )
    conversation = res.json()["conversation"]["id"]
    res = await http.post(f"/api/chat/conversations/{conversation}/take", headers=as_agent)
    assert res.status_code == 200, res.text

    shop = await (await browser.new_context(base_url=site)).new_page()
    console = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(shop) + watch_errors(console)
    await sign_in(shop, shopper)
    await shop.get_by_role("button", name="Chat with us").click()
    panel = shop.locator(".chat-panel")
    await expect(panel.locator(".who")).to_contain_text("You're chatting with")
    widget_typing = panel.locator(".typing")
    await sign_in(console, agent, then=f"/console?conversation={conversation}")
    await expect(console.locator("#messages")).to_contain_text(f"Hello {tag}")
    reply = console.get_by_label("Reply")
    console_typing = console.locator("#typing")

    # the agent types, then clears the draft: the shopper's line goes at once
    await reply.press_sequentially("Let me ch")
    await expect(widget_typing).to_have_text(f"Agent {tag} is typing…")
    await reply.fill("")
    await expect(widget_typing).to_have_text("", timeout=QUICK)

    # the agent types and sends: gone as the message arrives
    await reply.press_sequentially("Found it")
    await expect(widget_typing).to_have_text(f"Agent {tag} is typing…")
    await reply.press("Enter")
    await expect(panel.locator(".msg.agent .body")).to_have_text("Found it")
    await expect(widget_typing).to_have_text("", timeout=QUICK)

    # the other way round: the shopper types, then clears the draft
    message = shop.get_by_label("Message")
    await message.press_sequentially("Thanks, and")
    await expect(console_typing).to_have_text("The shopper is typing…")
    await message.fill("")
    await expect(console_typing).to_have_text("", timeout=QUICK)

    # a private note for the team (staff items are numbered apart from what the shopper reads)
    res = await http.post(
        f"/api/chat/conversations/{conversation}/messages",
        json={"text": "refund approved", "private": True},
        headers=as_agent,
    )
    assert res.status_code == 201, res.text
    await expect(console.locator("#messages")).to_contain_text("refund approved")

    # someone typing when the conversation is resolved: both lines go at once
    await message.press_sequentially("one more thing")
    await expect(console_typing).to_have_text("The shopper is typing…")
    res = await http.post(
        f"/api/chat/conversations/{conversation}/typing", json={"typing": True}, headers=as_colleague
    )
    assert res.status_code == 204, res.text
    await expect(widget_typing).to_have_text(f"Colleague {tag} is typing…")
    await console.get_by_label("Conversation status").select_option("resolved")
    await expect(shop.get_by_text("How did we do?")).to_be_visible()
    await expect(widget_typing).to_have_text("", timeout=QUICK)
    await expect(console_typing).to_have_text("", timeout=QUICK)

    # the resolved conversation in the agent's inbox: no "new" badge
    await console.get_by_label("Filter by status").select_option("resolved")
    await console.get_by_role("tab", name="Mine").click()
    item = console.locator(f'#inbox-list li[data-id="{conversation}"]')
    await expect(item).to_be_visible()
    await expect(item.locator(".badge", has_text="resolved")).to_be_visible()
    await expect(item.locator(".badge", has_text="new")).to_have_count(0)
    assert errors == []
