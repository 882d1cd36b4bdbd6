from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import event, func, select

from engage.auth.middleware import forget_identity, forget_tokens
from engage.auth.models import User
from engage.platform.identity import Role
from tests.conftest import PASSWORD, api_token, unique_email


async def test_sign_up_confirm_then_an_api_token_me_and_sign_out(client, sign_up) -> None:
    email = unique_email("shopper")
    body = await sign_up(client, email.upper(), name="Kim")
    assert body["user"]["email"] == email and body["user"]["role"] == "customer"
    assert "token" not in body, "browsers get the session cookie only"

    token = await api_token(client, email, name="laptop")
    me = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["authenticated"] is True and me.json()["email"] == email

    res = await client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 204
    res = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert res.status_code == 401


async def test_login_sets_an_httponly_session_cookie_that_identifies_the_browser(
    browser_client, make_account
) -> None:
    account = await make_account(Role.agent)
    browser = browser_client
    await browser.get("/login")  # opening a page makes a browser a guest
    guest = (await browser.get("/api/auth/me")).json()
    assert guest["authenticated"] is False and guest["guest_id"]
    old_session = browser.cookies.get("engage_session")
    res = await browser.post(
        "/api/auth/login",
        json={"email": account.email, "password": PASSWORD},
        headers={"x-csrftoken": browser.cookies["engage_csrf"]},
    )
    assert res.status_code == 200, res.text
    cookie = next(h for h in res.headers.get_list("set-cookie") if h.startswith("engage_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert browser.cookies.get("engage_session") != old_session, "session id rotates on sign-in"
    me = (await browser.get("/api/auth/me")).json()
    assert me["role"] == "agent" and me["guest_id"] == guest["guest_id"]


async def test_unsafe_request_with_session_cookie_needs_csrf_token(browser_client) -> None:
    browser = browser_client
    await browser.get("/login")
    assert browser.cookies.get("engage_session")
    res = await browser.post("/api/auth/logout")
    assert res.status_code == 403
    assert res.headers["content-type"].startswith("application/problem+json")
    res = await browser.post("/api/auth/logout", headers={"x-csrftoken": browser.cookies["engage_csrf"]})
    assert res.status_code == 204


async def test_bad_credentials_and_bad_input_are_clear_4xx(client, make_account) -> None:
    account = await make_account()
    res = await client.post("/api/auth/login", json={"email": account.email, "password": "wrong password"})
    assert res.status_code == 401 and res.json()["code"] == "bad_credentials"
    res = await client.post("/api/auth/login", json={"email": account.email})
    assert res.status_code == 400 and "password" in res.text
    res = await client.post("/api/auth/signup", json={"email": "not-an-email", "password": PASSWORD})
    assert res.status_code == 422 and res.json()["field"] == "email"
    res = await client.post("/api/auth/signup", json={"email": unique_email(), "password": "short"})
    assert res.status_code == 422 and res.json()["field"] == "password"
    res = await client.post(
        "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert res.status_code == 400


async def test_failed_logins_are_throttled_per_account_and_address(client, make_account, settings) -> None:
    account = await make_account()
    limit = settings.rate_limit_login.count
    for _ in range(limit):
        res = await client.post("/api/auth/login", json={"email": account.email, "password": "nope nope"})
        assert res.status_code == 401
    res = await client.post("/api/auth/login", json={"email": account.email, "password": PASSWORD})
    assert res.status_code == 429 and int(res.headers["retry-after"]) > 0
    other = await make_account()
    res = await client.post("/api/auth/login", json={"email": other.email, "password": PASSWORD})
    assert res.status_code == 200


async def test_fifty_concurrent_sign_ups_with_one_email_make_one_account(client, db, sign_up_mails) -> None:
    email = unique_email("race")
    transport = httpx.ASGITransport(app=client.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        results = await asyncio.gather(
            *[http.post("/api/auth/signup", json={"email": email, "password": PASSWORD}) for _ in range(50)]
        )
        assert sorted(r.status_code for r in results) == [202] * 50
        links = [m.token for m in sign_up_mails if m.to == email]
        assert 1 <= len(links) <= 5, "at most 5 sign-up mails an hour reach one address"
        confirmed = await asyncio.gather(
            *[http.post("/api/auth/signup/confirm", json={"token": t, "password": PASSWORD}) for t in links]
        )
    codes = sorted(r.status_code for r in confirmed)
    assert codes.count(201) == 1 and codes.count(409) == len(links) - 1, codes
    assert await db.scalar(select(func.count()).select_from(User).where(User.email == email)) == 1


async def test_role_guards(client, make_account) -> None:
    customer = await make_account(Role.customer)
    res = await client.post("/api/auth/socket-token", headers=customer.headers)
    assert res.status_code == 200 and res.json()["expires_in"] == 60
    anonymous = await client.post("/api/auth/socket-token")
    assert anonymous.status_code in (401, 403)


async def test_api_reads_create_no_session_and_unchanged_sessions_are_not_rewritten(
    browser_client, runtime
) -> None:
    res = await browser_client.get("/api/products")
    assert res.status_code == 200 and "engage_session" not in res.headers.get("set-cookie", "")
    await browser_client.get("/login")
    session_id = browser_client.cookies["engage_session"]
    store = runtime.stores["sessions"]
    before = await store.get(session_id)
    await store.set(session_id, before, expires_in=30)  # a shorter life, to see the read renew it
    res = await browser_client.get("/api/auth/me")
    assert res.json()["guest_id"] and f"engage_session={session_id}" in res.headers["set-cookie"]
    assert await store.get(session_id) == before
    assert await store.expires_in(session_id) > 30, "reading the session renewed it"


async def test_shopper_actions_start_a_guest_for_cookie_clients(browser_client) -> None:
    res = await browser_client.get("/api/cart")
    assert res.status_code == 200, res.text
    assert browser_client.cookies.get("engage_session"), "the cart started a guest session"


# ---- API tokens: for API clients, named, listed, revocable; browsers never get one -----------------------


async def test_a_browser_sign_in_returns_no_token(browser_client, make_account) -> None:
    account = await make_account()
    await browser_client.get("/login")
    res = await browser_client.post(
        "/api/auth/login",
        json={"email": account.email, "password": PASSWORD},
        headers={"x-csrftoken": browser_client.cookies["engage_csrf"]},
    )
    assert res.status_code == 200 and set(res.json()) == {"user"}, res.text


async def test_tokens_are_made_with_credentials_listed_and_revoked_by_their_owner(
    client, make_account
) -> None:
    account, other = await make_account(), await make_account()
    res = await client.post(
        "/api/auth/tokens", json={"email": account.email, "password": "wrong password", "name": "ci"}
    )
    assert res.status_code == 401 and res.json()["code"] == "bad_credentials"
    res = await client.post(
        "/api/auth/tokens", json={"email": account.email, "password": PASSWORD, "name": "ci"}
    )
    assert res.status_code == 201, res.text
    made = res.json()
    assert made["name"] == "ci" and made["token"] and made["expires_at"] > made["created_at"]
    ci = {"Authorization": f"Bearer {made['token']}"}

    listed = (await client.get("/api/auth/tokens", headers=ci)).json()
    assert [(t["name"], t["current"]) for t in listed] == [("ci", True), ("tests", False)]
    assert all("token" not in t for t in listed), "a token is shown once, never listed"
    assert (await client.get("/api/auth/tokens")).status_code == 401

    # another account cannot revoke it
    res = await client.delete(f"/api/auth/tokens/{made['id']}", headers=other.headers)
    assert res.status_code == 404
    assert (await client.get("/api/auth/me", headers=ci)).json()["authenticated"] is True
    # its owner can, from another token
    res = await client.delete(f"/api/auth/tokens/{made['id']}", headers=account.headers)
    assert res.status_code == 204
    assert (await client.get("/api/auth/me", headers=ci)).status_code == 401
    assert [t["name"] for t in (await client.get("/api/auth/tokens", headers=account.headers)).json()] == [
        "tests"
    ]


async def test_changing_the_password_revokes_tokens_and_other_sessions(client, make_account) -> None:
    account = await make_account()
    second = await api_token(client, account.email, name="second")
    transport = httpx.ASGITransport(app=client.app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as here,
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as elsewhere,
    ):
        for browser in (here, elsewhere):
            await browser.get("/login")
            res = await browser.post(
                "/api/auth/login",
                json={"email": account.email, "password": PASSWORD},
                headers={"x-csrftoken": browser.cookies["engage_csrf"]},
            )
            assert res.status_code == 200, res.text
        csrf = {"x-csrftoken": here.cookies["engage_csrf"]}
        new_password = "a much better passphrase 42"
        res = await here.post(
            "/api/auth/password",
            json={"current_password": "not it at all", "new_password": new_password},
            headers=csrf,
        )
        assert res.status_code == 403 and res.json()["code"] == "wrong_password"
        res = await here.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": new_password},
            headers=csrf,
        )
        assert res.status_code == 204, res.text

        assert (await here.get("/api/auth/me")).json()["authenticated"] is True, "this browser stays in"
        assert (await elsewhere.get("/api/auth/me")).json()["authenticated"] is False, "others are out"
    for token in (account.token, second):
        res = await client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == 401, "every API token is revoked"
    res = await client.post(
        "/api/auth/tokens", json={"email": account.email, "password": PASSWORD, "name": "x"}
    )
    assert res.status_code == 401
    assert await api_token(client, account.email, new_password)


async def test_a_burst_of_first_requests_with_tokens_is_answered_by_few_queries(client, make_account) -> None:
    """Forty shoppers' first requests at once (a flash sale opening on a node that has seen none of them):
    every one is answered as its own account; a revoked token in the burst is refused; their tokens and
    accounts are read together, not one pool checkout each."""
    accounts = [await make_account() for _ in range(40)]
    gone = await make_account()
    res = await client.get("/api/auth/tokens", headers=gone.headers)
    token_id = res.json()[0]["id"]
    assert (await client.delete(f"/api/auth/tokens/{token_id}", headers=gone.headers)).status_code == 204
    for account in [*accounts, gone]:
        forget_tokens(user_id=account.id)
        forget_identity(account.id)

    token_reads: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "FROM api_tokens" in statement:
            token_reads.append(statement)

    engine = client.app.state.services.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answers = await asyncio.gather(
            *(client.get("/api/auth/me", headers=a.headers) for a in [*accounts, gone])
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [a.json()["email"] for a in answers[:-1]] == [a.email for a in accounts]
    assert answers[-1].status_code == 401
    assert 1 <= len(token_reads) < 10
