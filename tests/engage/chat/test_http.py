"""The chat HTTP API as shoppers, guests and agents use it: flows, problem details, and who may see what."""

from __future__ import annotations

import uuid

import pytest

from engage.platform.identity import Role
from tests.conftest import PASSWORD, AppClient

pytestmark = pytest.mark.usefixtures("quiet_queue")


async def _start(client: AppClient, headers: dict[str, str], text: str = "Hi, I need help") -> dict:
    res = await client.post(
        "/api/chat/conversations",
        json={"text": text, "client_id": uuid.uuid4().hex, "human": True},
        headers=headers,
    )
    assert res.status_code in (200, 201), res.text
    return res.json()


async def test_shopper_and_agent_talk_with_receipts_notes_and_resume(client, make_account) -> None:
    shopper, agent = await make_account(Role.customer), await make_account(Role.agent)
    started = await _start(client, shopper.headers)
    cid = started["conversation"]["id"]
    assert started["created"] is True and started["ack"]["seq"] == 1
    again = await client.post("/api/chat/conversations", json={"human": True}, headers=shopper.headers)
    assert again.status_code == 200 and again.json()["conversation"]["id"] == cid

    take = await client.post(f"/api/chat/conversations/{cid}/take", headers=agent.headers)
    assert take.status_code == 200 and take.json()["assignee"]["id"] == agent.id
    note = await client.post(
        f"/api/chat/conversations/{cid}/messages",
        json={"text": "check order 1234", "private": True},
        headers=agent.headers,
    )
    assert note.status_code == 201
    client_id = uuid.uuid4().hex
    reply = await client.post(
        f"/api/chat/conversations/{cid}/messages",
        json={"text": "Hello! How can I help?", "client_id": client_id},
        headers=agent.headers,
    )
    assert reply.status_code == 201
    ack = reply.json()
    resent = await client.post(
        f"/api/chat/conversations/{cid}/messages",
        json={"text": "Hello! How can I help?", "client_id": client_id},
        headers=agent.headers,
    )
    assert (
        resent.status_code == 200 and resent.json()["id"] == ack["id"] and resent.json()["duplicate"] is True
    )

    # the shopper resumes after the first message: the join line and the reply, never the note
    replay = (
        await client.get(f"/api/chat/conversations/{cid}/messages?after=1", headers=shopper.headers)
    ).json()
    texts = [m["text"] for m in replay["items"]]
    assert "Hello! How can I help?" in texts and "check order 1234" not in texts
    staff = (
        await client.get(f"/api/chat/conversations/{cid}/messages?after=0", headers=agent.headers)
    ).json()
    assert "check order 1234" in [m["text"] for m in staff["items"]]

    # the shopper's sequence has no holes where staff-only items are (the note took staff seq 3)
    assert [m["seq"] for m in replay["items"]] == [2, 3] and ack["seq"] == 4
    reply_seq = replay["items"][-1]["seq"]
    read = await client.post(
        f"/api/chat/conversations/{cid}/receipts", json={"read": reply_seq}, headers=shopper.headers
    )
    assert read.json() == {
        "conversation_id": cid,
        "side": "shopper",
        "delivered_seq": reply_seq,
        "read_seq": reply_seq,
    }
    lower = await client.post(
        f"/api/chat/conversations/{cid}/receipts", json={"read": 1}, headers=shopper.headers
    )
    assert lower.status_code == 200 and lower.json() is None, "receipts never go backwards"

    shopper_view = (await client.get(f"/api/chat/conversations/{cid}", headers=shopper.headers)).json()
    assert shopper_view["agent"]["id"] == agent.id and "contact_email" not in shopper_view
    staff_view = (await client.get(f"/api/chat/conversations/{cid}", headers=agent.headers)).json()
    assert staff_view["contact_email"] == shopper.email and staff_view["shopper_read_seq"] == reply_seq

    transcript = await client.get(f"/api/chat/conversations/{cid}/transcript", headers=shopper.headers)
    assert transcript.status_code == 200 and "attachment;" in transcript.headers["content-disposition"]
    assert "Hello! How can I help?" in transcript.text and "check order 1234" not in transcript.text
    staff_transcript = await client.get(f"/api/chat/conversations/{cid}/transcript", headers=agent.headers)
    assert "check order 1234" in staff_transcript.text

    end = await client.post(
        f"/api/chat/conversations/{cid}/status", json={"status": "resolved"}, headers=shopper.headers
    )
    assert end.status_code == 200 and end.json()["status"] == "resolved"
    rated = await client.post(
        f"/api/chat/conversations/{cid}/rating",
        json={"score": 5, "comment": "quick and kind"},
        headers=shopper.headers,
    )
    assert rated.status_code == 200 and rated.json()["score"] == 5
    csat = (await client.get("/api/chat/csat", headers=agent.headers)).json()
    assert csat["ratings"] >= 1 and csat["by_score"]["5"] >= 1


async def test_shoppers_cannot_read_or_post_into_anothers_conversation(client, make_account) -> None:
    alice, mallory = await make_account(Role.customer), await make_account(Role.customer)
    cid = (await _start(client, alice.headers, "my card ends 4242"))["conversation"]["id"]
    for method, path, body in [
        ("GET", f"/api/chat/conversations/{cid}", None),
        ("GET", f"/api/chat/conversations/{cid}/messages", None),
        ("GET", f"/api/chat/conversations/{cid}/transcript", None),
        ("POST", f"/api/chat/conversations/{cid}/messages", {"text": "hi"}),
        ("POST", f"/api/chat/conversations/{cid}/receipts", {"read": 1}),
        ("POST", f"/api/chat/conversations/{cid}/typing", {"typing": True}),
        ("POST", f"/api/chat/conversations/{cid}/handoff", {}),
        ("POST", f"/api/chat/conversations/{cid}/rating", {"score": 1}),
        ("POST", f"/api/chat/conversations/{cid}/status", {"status": "resolved"}),
        ("POST", f"/api/chat/conversations/{cid}/transcript/email", {"email": "m@example.test"}),
    ]:
        res = await client.request(method, path, json=body, headers=mallory.headers)
        assert res.status_code == 404, (method, path, res.status_code, res.text)
        assert "4242" not in res.text
    listed = (await client.get("/api/chat/conversations", headers=mallory.headers)).json()
    assert cid not in [c["id"] for c in listed]
    # console routes are for agents only
    for path in ("/api/chat/inbox", "/api/chat/search?q=4242", "/api/chat/agents", "/api/chat/canned"):
        res = await client.get(path, headers=mallory.headers)
        assert res.status_code == 403, path
    res = await client.post(f"/api/chat/conversations/{cid}/take", headers=mallory.headers)
    assert res.status_code == 403
    res = await client.post(
        f"/api/chat/conversations/{cid}/messages",
        json={"text": "note?", "private": True},
        headers=alice.headers,
    )
    assert res.status_code == 422 and res.json()["code"] == "notes_are_for_staff"


async def test_bad_input_is_a_clear_4xx(client, make_account) -> None:
    shopper = await make_account(Role.customer)
    cid = (await _start(client, shopper.headers))["conversation"]["id"]
    cases = [
        ({"text": ""}, 422, "empty_message"),
        ({"text": "x" * 4001}, 422, "message_too_long"),
        ({"text": "hi", "client_id": "not ok!"}, 400, None),
        ({"text": 5}, 400, None),
        ({"words": "hi"}, 400, None),
    ]
    for body, status, code in cases:
        res = await client.post(f"/api/chat/conversations/{cid}/messages", json=body, headers=shopper.headers)
        assert res.status_code == status, (body, res.text)
        assert res.headers["content-type"].startswith("application/problem+json")
        if code:
            assert res.json()["code"] == code
    res = await client.get("/api/chat/conversations/999999999/messages", headers=shopper.headers)
    assert res.status_code == 404
    res = await client.post(
        f"/api/chat/conversations/{cid}/rating", json={"score": 9}, headers=shopper.headers
    )
    assert res.status_code == 400
    res = await client.post(
        f"/api/chat/conversations/{cid}/rating", json={"score": 4}, headers=shopper.headers
    )
    assert res.status_code == 409 and res.json()["code"] == "not_ended"
    res = await client.get(f"/api/chat/conversations/{cid}/messages?limit=5000", headers=shopper.headers)
    assert res.status_code == 400


async def test_console_inbox_search_labels_canned_and_availability(client, make_account) -> None:
    shopper, agent, other = (
        await make_account(Role.customer),
        await make_account(Role.agent),
        await make_account(Role.agent),
    )
    marker = uuid.uuid4().hex[:10]
    cid = (await _start(client, shopper.headers, f"my blender {marker} is broken"))["conversation"]["id"]

    unassigned = (await client.get("/api/chat/inbox?view=unassigned", headers=agent.headers)).json()
    assert cid in [c["id"] for c in unassigned["items"]]
    counts = (await client.get("/api/chat/inbox/counts", headers=agent.headers)).json()
    assert counts["unassigned"] >= 1

    hits = (await client.get(f"/api/chat/search?q={marker}", headers=agent.headers)).json()
    assert [h["conversation"]["id"] for h in hits] == [cid] and marker in hits[0]["snippet"]
    by_email = (await client.get(f"/api/chat/search?q={shopper.email}", headers=agent.headers)).json()
    assert cid in [h["conversation"]["id"] for h in by_email]

    labelled = await client.post(
        f"/api/chat/conversations/{cid}/labels", json={"add": ["Broken Item", "vip"]}, headers=agent.headers
    )
    assert labelled.json() == {"labels": ["broken-item", "vip"]}
    removed = await client.post(
        f"/api/chat/conversations/{cid}/labels", json={"remove": ["vip"]}, headers=agent.headers
    )
    assert removed.json() == {"labels": ["broken-item"]}
    by_label = (await client.get("/api/chat/inbox?view=all&label=broken-item", headers=agent.headers)).json()
    assert cid in [c["id"] for c in by_label["items"]]
    bad = await client.post(
        f"/api/chat/conversations/{cid}/labels", json={"add": ["<script>"]}, headers=agent.headers
    )
    assert bad.status_code == 422

    shortcut = f"thanks{marker[:6]}"
    made = await client.post(
        "/api/chat/canned",
        json={"shortcut": f"/{shortcut}", "body": "Thanks for waiting!"},
        headers=agent.headers,
    )
    assert made.status_code == 201 and made.json()["shortcut"] == shortcut
    dup = await client.post(
        "/api/chat/canned", json={"shortcut": shortcut, "body": "x"}, headers=other.headers
    )
    assert dup.status_code == 409
    found = (await client.get(f"/api/chat/canned?prefix=/{shortcut[:8]}", headers=other.headers)).json()
    assert [c["body"] for c in found] == ["Thanks for waiting!"]

    me = await client.put(
        "/api/chat/agents/me", json={"availability": "online", "capacity": 3}, headers=agent.headers
    )
    assert me.status_code == 200 and me.json()["availability"] == "online" and me.json()["capacity"] == 3
    # going online took the waiting conversation
    mine = (await client.get("/api/chat/inbox?view=mine", headers=agent.headers)).json()
    assert cid in [c["id"] for c in mine["items"]]
    seen_by_other = {a["id"]: a for a in (await client.get("/api/chat/agents", headers=other.headers)).json()}
    assert seen_by_other[agent.id]["availability"] == "online" and seen_by_other[agent.id]["load"] == 1
    assert (await client.post("/api/chat/agents/me/heartbeat", headers=agent.headers)).status_code == 204
    transfer = await client.post(
        f"/api/chat/conversations/{cid}/assign", json={"agent_id": other.id}, headers=agent.headers
    )
    assert transfer.json()["assignee"]["id"] == other.id
    await client.put("/api/chat/agents/me", json={"availability": "offline"}, headers=agent.headers)


async def test_guest_chat_follows_the_shopper_into_their_account(browser_client, make_account) -> None:
    browser = browser_client
    guest = (await browser.get("/api/auth/me")).json()
    assert guest["guest_id"]
    csrf = {"x-csrftoken": browser.cookies["engage_csrf"]}
    started = await browser.post(
        "/api/chat/conversations",
        json={"text": "guest here", "client_id": "g-1", "human": True},
        headers=csrf,
    )
    assert started.status_code == 201, started.text
    cid = started.json()["conversation"]["id"]
    shopper = await make_account(Role.customer)
    login = await browser.post(
        "/api/auth/login", json={"email": shopper.email, "password": PASSWORD}, headers=csrf
    )
    assert login.status_code == 200
    mine = (await browser.get("/api/chat/conversations")).json()
    assert [c["id"] for c in mine] == [cid]
    current = (await browser.get("/api/chat/conversations/current")).json()
    assert current["id"] == cid
    history = (await browser.get(f"/api/chat/conversations/{cid}/messages")).json()
    assert [m["text"] for m in history["items"]] == ["guest here"]
