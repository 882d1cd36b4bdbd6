"""The agent console in Chromium: every kind of item in a conversation (the shopper's messages, this agent's
and a colleague's, the bot's, a private note, system events) is readable: text at 4.5:1 or more against
its own background, from the colours the page computes."""

from __future__ import annotations

import uuid
from typing import Any

from engage.chat import post_as_bot
from engage.platform.identity import Role
from tests.conftest import api_token
from tests.web.conftest import make_person, sign_in, watch_errors

# WCAG 2 contrast of each text part of every item in #messages: foreground (its alpha times the opacity of
# it and its ancestors) over the background composed from its ancestors' background colours.
CONTRASTS = """() => {
  const parse = (c) => {
    const p = c.match(/\\(([^)]+)\\)/)[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const background = (node) => {
    const chain = [];
    for (let n = node; n; n = n.parentElement) chain.unshift(n);
    let bg = [255, 255, 255, 1];
    for (const n of chain) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) bg = over(c, bg);
    }
    return bg;
  };
  const opacity = (node) => {
    let o = 1;
    for (let n = node; n; n = n.parentElement) o *= Number(getComputedStyle(n).opacity);
    return o;
  };
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const out = [];
  for (const item of document.querySelectorAll("#messages .msg, #messages .event-line")) {
    const parts = item.classList.contains("msg") ? item.querySelectorAll(".body, .author, .meta") : [item];
    for (const part of parts) {
      const bg = background(part);
      const fg = parse(getComputedStyle(part).color);
      fg[3] *= opacity(part);
      out.push({ item: item.className, item_text: item.textContent, part: part.className, text: part.textContent, ratio: ratio(over(fg, bg), bg) });
    }
  }
  return out;
}"""


async def _token(http: Any, email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await api_token(http, email)}"}


async def _post(http: Any, headers: dict[str, str], conversation: int, text: str, **extra: Any) -> None:
    res = await http.post(
        f"/api/chat/conversations/{conversation}/messages", json={"text": text, **extra}, headers=headers
    )
    assert res.status_code == 201, res.text


async def test_every_message_kind_in_the_console_is_readable(
    browser, site, sqlite_client, web_runtime
) -> None:
    from playwright.async_api import expect

    http = sqlite_client
    services = sqlite_client.app.state.services
    tag = uuid.uuid4().hex[:6]
    shopper = await make_person(web_runtime, Role.customer, f"Shopper {tag}")
    me = await make_person(web_runtime, Role.agent, f"Agent {tag}")
    colleague = await make_person(web_runtime, Role.agent, f"Colleague {tag}")
    as_shopper, as_me, as_colleague = [await _token(http, p.email) for p in (shopper, me, colleague)]

    res = await http.post("/api/chat/conversations", json={}, headers=as_shopper)
    assert res.status_code in (200, 201), res.text
    conversation = res.json()["conversation"]["id"]
    async with web_runtime.sessionmaker() as session:
        await post_as_bot(
            session, services.chat, conversation, "Hello! I am the shop's assistant.", client_id=f"hi-{tag}"
        )
    await _post(http, as_shopper, conversation, "Where is my parcel?")
    res = await http.post(f"/api/chat/conversations/{conversation}/take", headers=as_me)
    assert res.status_code == 200, res.text
    await _post(http, as_colleague, conversation, "I can help too.")
    await _post(http, as_me, conversation, "Let me check that for you.")
    await _post(http, as_me, conversation, "Parcel is at the depot (note for the team)", private=True)

    page = await (await browser.new_context(base_url=site)).new_page()
    errors = watch_errors(page)
    await sign_in(page, me, then=f"/console?conversation={conversation}")
    messages = page.locator("#messages")
    kinds = {
        "the shopper's": "Where is my parcel?",
        "the bot's": "shop's assistant",
        "this agent's": "Let me check",
        "a colleague's": "I can help too",
        "a private note": "note for the team",
    }
    for text in kinds.values():
        await expect(messages.locator(".msg", has_text=text).first).to_be_visible()
    await expect(messages.locator(".event-line").first).to_be_visible()

    measured = await page.evaluate(CONTRASTS)
    for kind, text in kinds.items():
        parts = [m for m in measured if text in m["text"] or text in m["item_text"]]
        assert parts, kind
        poor = [m for m in parts if m["ratio"] < 4.5]
        assert not poor, (kind, poor)
    events = [m for m in measured if m["item"].startswith("event-line")]
    assert events and all(m["ratio"] >= 4.5 for m in events), events
    assert min(m["ratio"] for m in measured) >= 4.5, measured
    # the shop's side is on the right; only this agent's own messages wear the accent colour
    assert await messages.locator(".msg.mine", has_text="I can help too").count() == 0
    assert await messages.locator(".msg.mine", has_text="shop's assistant").count() == 0
    # a private note stands out from what the shopper sees
    backgrounds = [
        await messages.locator(".msg", has_text=text).first.evaluate(
            "(n) => getComputedStyle(n).backgroundColor"
        )
        for text in ("note for the team", "I can help too", "Let me check", "shop's assistant")
    ]
    assert backgrounds[0] not in backgrounds[1:], backgrounds
    assert errors == []
