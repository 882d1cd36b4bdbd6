"""No input makes a 5xx: hostile shapes are refused at the edge with a 4xx problem (or `bad_frame` on /ws)."""

from __future__ import annotations

import json
import re

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from engage.http.bodies import body_media_type
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
        pong = await sock.request({"type": "ping"})
        assert pong["type"] == "pong", "the socket stays open and answers"
