"""Sign-up does not tell who has an account: the same answer for a new and a taken address, nobody signed
in; the owner of a taken address is told by mail; an account is made only from the mailed link."""

from __future__ import annotations

import email as email_parser
import re
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engage.app import create_app
from engage.platform.identity import Role
from tests.conftest import PASSWORD, AppClient, free_port, running, unique_email

_VOLATILE = {"date", "x-request-id", "set-cookie", "content-length", "ratelimit-remaining", "ratelimit-reset"}


def _shape(res: Any, email: str) -> tuple[int, str, dict[str, str]]:
    headers = {k: v for k, v in res.headers.items() if k.lower() not in _VOLATILE}
    return res.status_code, res.text.replace(email, "<email>"), headers


async def test_a_taken_address_answers_exactly_like_a_new_one(
    browser_client, make_account, sign_up_mails
) -> None:
    taken, new = (await make_account(Role.customer)).email, unique_email("new")
    await browser_client.get("/signup")
    csrf = {"x-csrftoken": browser_client.cookies["engage_csrf"]}
    answers = []
    for address in (taken, new):
        res = await browser_client.post(
            "/api/auth/signup", json={"email": address, "password": "a brand new passphrase"}, headers=csrf
        )
        answers.append(_shape(res, address))
        assert (await browser_client.get("/api/auth/me")).json()["authenticated"] is False, "nobody signed in"
    assert answers[0] == answers[1], answers
    assert answers[0][0] == 202 and '"status":"check_your_email"' in answers[0][1]
    assert [(m.to, m.kind) for m in sign_up_mails] == [(taken, "taken"), (new, "confirm")]
    assert not sign_up_mails[0].token, "a taken address gets no link"
    # the attacker's password does not become the account's: it was never stored for the taken address
    res = await browser_client.post(
        "/api/auth/login", json={"email": taken, "password": "a brand new passphrase"}, headers=csrf
    )
    assert res.status_code == 401


async def test_the_link_needs_the_password_chosen_and_works_once(browser_client, sign_up_mails) -> None:
    address = unique_email("link")
    await browser_client.get("/signup")
    csrf = {"x-csrftoken": browser_client.cookies["engage_csrf"]}
    res = await browser_client.post(
        "/api/auth/signup", json={"email": address, "password": PASSWORD}, headers=csrf
    )
    assert res.status_code == 202
    token = sign_up_mails[-1].token
    page = await browser_client.get(f"/signup/confirm?token={token}")
    assert page.status_code == 200 and token in page.text
    wrong = await browser_client.post(
        "/api/auth/signup/confirm", json={"token": token, "password": "not the one chosen"}, headers=csrf
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_password"
    res = await browser_client.post(
        "/api/auth/signup/confirm", json={"token": token, "password": PASSWORD}, headers=csrf
    )
    assert res.status_code == 201 and res.json()["user"]["email"] == address, res.text
    assert (await browser_client.get("/api/auth/me")).json()["email"] == address, "signed in by the link"
    again = await browser_client.post(
        "/api/auth/signup/confirm", json={"token": token, "password": PASSWORD}, headers=csrf
    )
    assert again.status_code == 404 and again.json()["code"] == "signup_link_expired"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email_parser.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox() -> Any:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, box
    controller.stop()


async def test_the_mails_on_an_embedded_server(sqlite_settings, inbox) -> None:
    port, box = inbox
    settings = sqlite_settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "public_url": "https://shop.example"}
    )
    app = create_app(settings)
    async with running(app), AppClient(app, keep_cookies=False) as http:
        address = unique_email("mail")
        for _ in range(2):  # a new address, then the same one, taken by now
            res = await http.post("/api/auth/signup", json={"email": address, "password": PASSWORD})
            assert res.status_code == 202
            await _wait_for(lambda n=len(box.messages): len(box.messages) > n)
            if len(box.messages) == 1:
                text = box.messages[0].get_payload(decode=True).decode()
                link = re.search(r"https://shop\.example/signup/confirm\?token=(\S+)", text)
                assert link, text
                res = await http.post(
                    "/api/auth/signup/confirm", json={"token": link.group(1), "password": PASSWORD}
                )
                assert res.status_code == 201, res.text
        assert [m["To"] for m in box.messages] == [address, address]
        assert box.messages[0]["Subject"] == "Confirm your email address"
        assert box.messages[1]["Subject"] == "Someone tried to sign up with your email address"


async def _wait_for(condition: Any, seconds: float = 30.0) -> None:
    import asyncio

    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the SMTP server fills the inbox on a thread of its own
            await asyncio.sleep(0.05)


async def test_links_never_come_from_the_host_header_in_production(client, settings, monkeypatch) -> None:
    """In production the mailed link's origin is ENGAGE_PUBLIC_URL; a sign-up without it is refused."""
    runtime = client.app.state.services.runtime
    monkeypatch.setattr(
        runtime, "settings", settings.model_copy(update={"env": "production", "smtp_host": "127.0.0.1"})
    )
    res = await client.post(
        "/api/auth/signup",
        json={"email": unique_email(), "password": PASSWORD},
        headers={"host": "evil.example"},
    )
    assert res.status_code == 503 and res.json()["code"] == "signup_unavailable", res.text
