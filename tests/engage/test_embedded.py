"""Embedded mode as a user starts it: `engage serve`, no configuration, demo data seeded."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import TEST_ENV, start_server

pytestmark = pytest.mark.nodes


def test_embedded_serve_runs_with_no_services(tmp_path) -> None:
    env = {key: value for key, value in TEST_ENV.items() if key != "ENGAGE_SECRET_KEY"}
    env |= {
        "ENGAGE_DATA_DIR": str(tmp_path / "var"),
        "ENGAGE_DEMO_SEED": "true",
        "ENGAGE_DATABASE_URL": "",
        "ENGAGE_REDIS_URL": "",
    }
    server = start_server(env, tmp_path, timeout=180)
    try:
        assert httpx.get(server.url + "/health").json() == {"status": "ok"}
        ready = httpx.get(server.url + "/ready").json()
        assert ready["status"] == "ready" and "redis" not in ready["checks"], ready
        assert (tmp_path / "var" / "engage.db").exists() and (tmp_path / "var" / "secret_key").exists()

        accounts = dict(re.findall(r"^\s+admin\s+(\S+@\S+)\s+(\S+)$", server.logs(), re.M))
        assert "admin@engage.local" in accounts, server.logs()
        res = httpx.post(
            server.url + "/api/auth/tokens",
            json={"email": "admin@engage.local", "password": accounts["admin@engage.local"], "name": "test"},
        )
        assert res.status_code == 201, res.text
        me = httpx.get(
            server.url + "/api/auth/me", headers={"Authorization": f"Bearer {res.json()['token']}"}
        )
        assert me.json()["role"] == "admin"

        login_page = httpx.get(server.url + "/login")
        assert login_page.status_code == 200 and "<form" in login_page.text

        # the demo flash sale: a countdown on the storefront out of the box
        sales = httpx.get(server.url + "/api/flash-sales").json()
        assert [(s["name"], s["phase"]) for s in sales] == [("Demo flash sale", "upcoming")], sales
        assert len(sales[0]["items"]) == 2 and "flash sale: 'Demo flash sale' starts at" in server.logs()
        assert "data-flash-sales" in httpx.get(server.url + "/").text
    finally:
        server.stop()
