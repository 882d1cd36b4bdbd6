"""No input makes a 5xx: hostile shapes are refused at the edge with a 4xx problem (or `bad_frame` on /ws)."""

from __future__ import annotations

import base64
import json
import re

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from engage.http.inputs import body_media_type
from engage.platform.identity import Role
from engage.platform.wire import MAX_JSON_DEPTH, json_problem, nesting_depth
from tests.conftest import PASSWORD
from tests.realtime.client import Socket
from tests.realtime.conftest import serving

DEEP = "[" * 1000 + "]" * 1000
JSON = {"content-type": "application/json"}


def test_the_scanner_counts_brackets_outside_strings_only() -> None:
    assert nesting_depth(b'{"a": [1, {"b": [2]}]}') == 4
    assert json_problem(DEEP) is not None
    assert json_problem("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is None
    assert json_problem("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)) is not None
    assert json_problem(json.dumps({"text": "[" * 5000})) is None, "brackets inside a string are text"
    assert json_problem(json.dumps({"text": '\\"[[[' * 100})) is None, "escaped quotes stay in the string"
    # not JSON at all: the parser's business, the scanner only bounds the depth
    assert json_problem(b"{" * 10) is None


def json_doors(app: Litestar) -> list[tuple[str, str]]:
    """Every (method, path) whose handler reads a JSON body, path parameters filled in."""
    doors = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{(\w+):int\}", "1", route.path)
        path = re.sub(r"\{(\w+)(:\w+)?\}", "x", path)
        for handler in route.route_handlers:
            if body_media_type(handler) == "application/json":
                doors.extend((method, path) for method in sorted(handler.http_methods))
    return doors


@pytest.mark.parametrize("db", ["postgresql", "sqlite"])
async def test_a_body_nested_a_thousand_deep_is_a_400_on_every_json_door(
    db, client, sqlite_client, make_account
) -> None:
    app = client if db == "postgresql" else sqlite_client
    doors = json_doors(app.app)
    assert len(doors) > 30 and ("POST", "/api/auth/login") in doors
    admin = await make_account(Role.admin)
    for headers in ({}, admin.headers):
        for method, path in doors:
            res = await app.request(method, path, content=DEEP, headers={**JSON, **headers})
            assert res.status_code == 400, (method, path, res.status_code, res.text)
            assert res.headers["content-type"].startswith("application/problem+json")
            assert res.json()["code"] == "invalid_body", res.text


async def test_a_body_over_the_size_limit_is_a_413(client) -> None:
    limit = client.app.state.services.settings.max_body_bytes
    big = json.dumps({"email": "a@b.example", "password": "x" * limit})
    res = await client.post("/api/auth/login", content=big, headers=JSON)
    assert res.status_code == 413 and res.json()["code"] == "body_too_large", res.text


async def test_checked_bodies_still_reach_their_handler(client) -> None:
    res = await client.post("/api/auth/login", json={"email": "nobody@example.test", "password": PASSWORD})
    assert res.status_code == 401, res.text


@pytest.mark.parametrize("mode", ["embedded", "production"])
async def test_a_socket_frame_nested_a_thousand_deep_is_a_bad_frame(mode, settings, sqlite_settings) -> None:
    async with (
        serving(sqlite_settings if mode == "embedded" else settings) as (url, _),
        Socket.open(url) as sock,
    ):
        await sock.send('{"type": "ping", "id": 1, "x": ' + "[" * 1000 + "]" * 1000 + "}")
        error = await sock.next("error")
        assert error["code"] == "bad_frame", error
        await sock.send({"type": "chat.send", "conversation_id": 1, "text": "a\u0000b", "client_id": "c1"})
        error = await sock.next("error")
        assert error["code"] == "bad_frame" and "NUL" in error["message"], error
        pong = await sock.request({"type": "ping"})
        assert pong["type"] == "pong", "the socket stays open and answers"


# ---- NUL characters and integers beyond the columns -----------------------------------------------------

NUL = "bad\u0000text"


@pytest.mark.parametrize("db", ["postgresql", "sqlite"])
async def test_a_nul_character_anywhere_is_a_400(db, client, sqlite_client, make_account) -> None:
    app = client if db == "postgresql" else sqlite_client
    admin = await make_account(Role.admin)
    shopper = await make_account()
    bodies = [
        ("POST", "/api/auth/signup", {"email": f"a{NUL}@example.test", "password": PASSWORD}, {}),
        ("POST", "/api/auth/signup", {"email": "nul@example.test", "password": PASSWORD, "name": NUL}, {}),
        ("POST", "/api/auth/login", {"email": "x@example.test", "password": NUL}, {}),
        ("POST", "/api/chat/conversations", {"text": NUL}, shopper.headers),
        ("POST", "/api/admin/products", {"handle": "nul-1", "name": NUL, "variants": []}, admin.headers),
        ("PUT", "/api/help/articles/nul", {"title": NUL, "body": "x"}, admin.headers),
    ]
    for method, path, body, headers in bodies:
        res = await app.request(method, path, json=body, headers=headers)
        assert res.status_code == 400 and res.json()["code"] == "invalid_body", (path, res.text)
    for url in ["/api/search?q=a%00b", "/api/products?tag=%00", "/api/products/a%00b", "/login?next=/%00"]:
        res = await app.get(url)
        assert res.status_code == 400 and res.json()["code"] == "invalid_request", (url, res.text)
    # a backslash followed by "u0000" is text, not a NUL
    res = await app.post("/api/auth/login", json={"email": "x@example.test", "password": "\\u0000abcdefgh"})
    assert res.status_code == 401, res.text


@pytest.mark.parametrize("db", ["postgresql", "sqlite"])
async def test_integers_beyond_the_columns_are_a_400(db, client, sqlite_client, make_account) -> None:
    app = client if db == "postgresql" else sqlite_client
    admin = await make_account(Role.admin)
    huge, int4 = str(2**64), str(2**40)
    urls = [
        f"/api/flash-sales/{huge}",
        f"/api/marketing/flash-sales/{huge}",
        f"/api/admin/variants/{huge}/ledger",
        f"/api/chat/conversations/1/messages?after={huge}",
        f"/api/chat/conversations/1/messages?before={huge}",
        f"/api/chat/inbox?team_id={huge}",
        f"/api/chat/csat?agent_id={huge}",
        f"/api/products?min_price={int4}",
        f"/api/products?max_price={huge}",
        f"/api/search?q=lamp&min_price={huge}",
        f"/api/admin/products?offset={huge}",
        f"/api/orders?offset={huge}",
        f"/api/staff/orders?offset={huge}",
    ]
    for url in urls:
        res = await app.get(url, headers=admin.headers)
        assert 400 <= res.status_code < 500 and res.status_code != 404, (url, res.status_code, res.text)
    for method, url in [
        ("PUT", f"/api/chat/teams/{huge}/members/{huge}"),
        ("DELETE", f"/api/chat/canned/{huge}"),
        ("DELETE", f"/api/cart/lines/{huge}"),
    ]:
        res = await app.request(method, url, headers=admin.headers)
        assert res.status_code == 400, (url, res.status_code, res.text)
    cursor = base64.urlsafe_b64encode(json.dumps(["price_asc", 2**40, 2**70]).encode()).decode()
    res = await app.get(f"/api/products?sort=price_asc&cursor={cursor}")
    assert res.status_code in (400, 422), res.text


async def test_every_integer_parameter_declares_a_maximum_a_bigint_can_hold(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    unbounded = set()
    for path, item in schema["paths"].items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") not in ("path", "query"):
                    continue
                shape = parameter.get("schema", {})
                for option in [shape, *shape.get("oneOf", []), *shape.get("anyOf", [])]:
                    # the schema writes bounds as floats: 2**63 - 1 reads back as 2.0**63
                    # (an optional one, `oneOf: [integer, null]`, carries its bounds beside the oneOf)
                    maximum = option.get("maximum", shape.get("maximum", 2e19))
                    if option.get("type") == "integer" and not maximum <= float(2**63 - 1):
                        unbounded.add((path, parameter["name"]))
    assert not unbounded, f"bound these with engage.http.params: {sorted(unbounded)}"


# ---- bodies must be what the handler reads (login CSRF) ---------------------------------------------------


async def test_a_cross_site_form_cannot_sign_a_browser_in(browser_client, make_account) -> None:
    """A page of another site can post text/plain or a form without a preflight: refused with 415, so it
    cannot sign the victim's browser in to the attacker's account."""
    attacker = await make_account()
    body = json.dumps({"email": attacker.email, "password": PASSWORD})
    for content_type in ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", None]:
        headers = {"content-type": content_type} if content_type else {}
        res = await browser_client.post("/api/auth/login", content=body, headers=headers)
        assert res.status_code == 415, (content_type, res.status_code, res.text)
        assert res.json()["code"] == "unsupported_media_type"
        assert "engage_session" not in res.headers.get("set-cookie", "")
    res = await browser_client.post(
        "/api/auth/login", files={"email": (None, attacker.email), "password": (None, PASSWORD)}
    )
    assert res.status_code == 415, res.text
    assert (await browser_client.get("/api/auth/me")).json()["authenticated"] is False


async def test_every_json_door_refuses_other_media_types(client, make_account) -> None:
    admin = await make_account(Role.admin)
    for method, path in json_doors(client.app):
        res = await client.request(
            method, path, content=b'{"a": 1}', headers={"content-type": "text/plain", **admin.headers}
        )
        assert res.status_code == 415, (method, path, res.status_code, res.text)


async def test_json_and_uploads_still_pass(client, make_account) -> None:
    res = await client.post(
        "/api/auth/login",
        content=json.dumps({"email": "nobody@example.test", "password": PASSWORD}),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert res.status_code == 401, res.text
    admin = await make_account(Role.admin)
    res = await client.post(
        "/api/admin/catalog/import",
        files={"file": ("x.json", b"[]", "application/json")},
        headers=admin.headers,
    )
    assert res.status_code == 200, res.text
    res = await client.post(
        "/api/admin/catalog/import",
        content=b"[]",
        headers={"content-type": "application/json", **admin.headers},
    )
    assert res.status_code == 415, res.text
