"""In Chromium: a shopper writes from a storefront page; an agent signs in to the console, takes the waiting
conversation the shopper moved from the bot to a person, replies with a canned response; the shopper's widget shows it; the agent resolves; the shopper
rates it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engage.platform.identity import Role
from tests.conftest import PASSWORD, Server, start_server

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.nodes,
    pytest.mark.usefixtures("quiet_queue"),
    pytest.mark.skipif(
        not CHROMIUM.exists() and os.environ.get("ENGAGE_REQUIRE_BROWSER") != "1",
        reason="Chromium is not installed at /usr/bin/chromium",
    ),
]


class _Outbox:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


@pytest.fixture(scope="module")
def node(prod_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A node that can send mail (to a local SMTP server): the widget offers to answer by email."""
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    smtp = Controller(_Outbox(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {**prod_env, "ENGAGE_SMTP_HOST": "127.0.0.1", "ENGAGE_SMTP_PORT": str(smtp.port)}
    server = start_server(env, tmp_path_factory.mktemp("chat-browser"))
    yield server
    server.stop()
    smtp.stop()


async def test_agent_answers_with_a_canned_response_and_the_shopper_rates_it(
    node, make_account, runtime
) -> None:
    from playwright.async_api import async_playwright, expect

    agent = await make_account(Role.agent)
    shortcut = f"thx{uuid.uuid4().hex[:6]}"
    canned_text = "Thanks for waiting! Your parcel left our warehouse today."
    async with httpx.AsyncClient(base_url=node.url) as http:
        res = await http.post(
            "/api/chat/canned", json={"shortcut": shortcut, "body": canned_text}, headers=agent.headers
        )
        assert res.status_code == 201, res.text

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            shopper_ctx, agent_ctx = await browser.new_context(), await browser.new_context()
            errors: list[str] = []
            shopper = await shopper_ctx.new_page()
            shopper.on("pageerror", lambda exc: errors.append(str(exc)))
            await shopper.goto(node.url + "/search?q=headphones")
            await shopper.get_by_role("button", name="Chat with us").click()
            await shopper.get_by_label("Message").fill(
                "Hi! Where is my parcel? See https://example.com/track"
            )
            await shopper.get_by_role("button", name="Send", exact=True).click()
            panel = shopper.locator(".chat-panel")
            await expect(panel.locator(".msg.mine .body")).to_have_text(
                "Hi! Where is my parcel? See https://example.com/track"
            )
            await expect(panel.locator(".msg.mine a")).to_have_attribute("href", "https://example.com/track")
            await expect(panel.locator(".who")).to_contain_text("Our assistant answers right away")
            await panel.get_by_role("button", name="Talk to a person").click()
            # nobody of the team is online yet: the widget says so, with the office hours, and takes an email
            await expect(panel.locator(".who")).to_contain_text("Nobody of our team is online right now")
            await expect(panel.locator(".chat-away")).to_contain_text("We are here")
            await panel.get_by_label("Your email for our answer").fill("shopper@example.test")
            await panel.locator(".chat-away").get_by_role("button", name="Send").click()
            await expect(panel.get_by_text("our answer will also come to that address")).to_be_visible()

            console = await agent_ctx.new_page()
            console.on("pageerror", lambda exc: errors.append(str(exc)))
            await console.goto(node.url + "/console")
            await console.wait_for_url("**/login**")
            await console.get_by_label("Email").fill(agent.email)
            await console.get_by_label("Password").fill(PASSWORD)
            await console.get_by_role("button", name="Sign in").click()
            await console.wait_for_url("**/console")
            waiting = console.locator("#inbox-list li", has_text="Where is my parcel")
            await expect(waiting).to_have_count(1)
            await waiting.click()
            await expect(console.locator("#messages .msg.shopper")).to_contain_text("Where is my parcel?")
            await console.locator("#take").click()
            await expect(console.locator("#thread-meta")).to_contain_text(f"with {agent.email.split('@')[0]}")
            await expect(shopper.locator(".chat-panel .who")).to_contain_text("You're chatting with")

            await console.get_by_label("Reply").fill(f"/{shortcut[:4]}")
            await expect(console.locator("#canned-menu li", has_text=shortcut)).to_be_visible()
            await console.get_by_label("Reply").press("Enter")  # picks the canned response
            await expect(console.get_by_label("Reply")).to_have_value(canned_text)
            await console.get_by_label("Reply").press("Enter")  # sends it
            await expect(console.locator("#messages .msg.agent .body")).to_have_text(canned_text)

            reply = shopper.locator(".chat-panel .msg.agent .body")
            await expect(reply).to_have_text(canned_text)
            # the shopper read it: the console shows the receipt
            await expect(console.locator("#messages .msg.agent .meta")).to_contain_text("Read")

            await console.get_by_label("Conversation status").select_option("resolved")
            await expect(shopper.get_by_text("How did we do?")).to_be_visible()
            await shopper.get_by_role("button", name="5 of 5").click()
            await shopper.get_by_label("Comment").fill("Fast and friendly")
            await shopper.get_by_role("button", name="Send rating").click()
            await expect(shopper.get_by_text("Thank you for your rating!")).to_be_visible()
            await expect(shopper.get_by_role("link", name="Download the transcript")).to_be_visible()
            assert not errors, errors
        finally:
            await browser.close()

    from sqlalchemy import select

    from engage.chat.models import Conversation, Rating

    async with runtime.sessionmaker() as session:
        rating = (
            await session.execute(
                select(Rating, Conversation).join(Conversation).where(Conversation.assignee_id == agent.id)
            )
        ).first()
    assert rating is not None and rating[0].score == 5 and rating[0].comment == "Fast and friendly"
    assert rating[1].status == "resolved"
