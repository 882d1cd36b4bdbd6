from __future__ import annotations

import json
import logging
import re

from engage.http.guards import access_of
from engage.platform.identity import Role
from engage.platform.redis import persistence
from tests.conftest import PASSWORD


async def test_health_ready_metrics_and_docs(client) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}
    # sessions live in Redis: one that keeps nothing on disk is reported (this machine's test Redis may)
    kept = await persistence(client.app.state.runtime.redis)
    assert ("redis_persistence" in ready.json()["warnings"]) == (kept == "none")
    await client.get("/api/auth/me")  # a counted request (probes are not counted)
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and "engage_requests_total" in metrics.text
    spec = await client.get("/schema/openapi.json")
    assert "/api/auth/login" in spec.json()["paths"]
    page = await client.get("/schema/swagger")
    assert (
        "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in page.text and "cdn" not in page.text.lower()
    )
    asset = await client.get("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200
    redoc = await client.get("/schema/redoc")
    assert "/schema/redoc.standalone.js" in redoc.text and "cdn" not in redoc.text.lower()
    csp = redoc.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self' 'unsafe-inline'" in csp, csp
    bundle = await client.get("/schema/redoc.standalone.js")  # ReDoc's own, its logo taken from this site
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("text/javascript")
    assert b"cdn.redoc.ly" not in bundle.content and b"/static/img/redoc-logo.svg" in bundle.content
    assert (await client.get("/static/img/redoc-logo.svg")).status_code == 200


async def test_security_headers_and_request_id(client) -> None:
    res = await client.get("/health", headers={"X-Request-ID": "abc12345-from-proxy"})
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["x-request-id"] == "abc12345-from-proxy"
    made = {(await client.get("/health")).headers["x-request-id"] for _ in range(3)}
    assert len(made) == 3 and all(re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", made_id) for made_id in made)


async def test_every_route_declares_who_may_use_it(client) -> None:
    missing = []
    for route in client.app.routes:
        if route.path.startswith("/schema"):
            continue  # the API description is public by design
        for handler in getattr(route, "route_handlers", []):
            if "OPTIONS" in getattr(handler, "http_methods", ()):
                continue  # CORS preflight, answered by Litestar itself
            if not access_of(handler):
                missing.append(f"{route.path} {getattr(handler, 'http_methods', '')}")
    assert not missing, f"routes without an access guard: {missing}"


async def test_problem_details_for_unknown_paths(client) -> None:
    res = await client.get("/api/does-not-exist")
    assert res.status_code == 404 and res.headers["content-type"].startswith("application/problem+json")


async def test_passwords_and_tokens_never_reach_the_logs(client, make_account, caplog) -> None:
    account = await make_account(Role.customer)
    with caplog.at_level(logging.DEBUG):
        await client.post("/api/auth/login", json={"email": account.email, "password": PASSWORD})
        await client.post("/api/auth/login", json={"email": account.email, "password": "wrong password!"})
        await client.get("/api/auth/me", headers=account.headers)
    text = json.dumps([r.getMessage() for r in caplog.records]) + caplog.text
    assert PASSWORD not in text and "wrong password!" not in text and account.token not in text


async def test_api_rate_limit_counts_per_client_in_redis(settings) -> None:
    from engage.app import create_app
    from tests.conftest import AppClient, running

    limited = settings.model_copy(
        update={
            "rate_limit_api": settings.rate_limit_api.__class__(3, 60),
            "redis_prefix": settings.redis_prefix + "-rl",
        }
    )
    app = create_app(limited)
    async with running(app), AppClient(app, keep_cookies=False) as http:
        answers = [await http.get("/api/auth/me") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert (
            answers[0].headers["ratelimit-limit"] == "3" and answers[2].headers["ratelimit-remaining"] == "0"
        )
        assert int(answers[3].headers["retry-after"]) >= 1
        assert answers[3].headers["content-type"].startswith("application/problem+json")
        assert (await http.get("/health")).status_code == 200, "probes are never limited"


def test_overload_warnings_are_sampled_not_one_per_request(caplog) -> None:
    from engage.platform.logs import SampledWarning

    now = [100.0]
    logger = logging.getLogger("engage.test.sampled")
    warn = SampledWarning(logger, every=5.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="engage.test.sampled"):
        for n in range(500):
            warn("overloaded on request %d", n)
        now[0] += 5.0
        warn("overloaded on request %d", 500)
    lines = [r.getMessage() for r in caplog.records if r.name == "engage.test.sampled"]
    assert lines == [
        "overloaded on request 0",
        "overloaded on request 500 (and 499 more since the last report)",
    ]


async def test_metrics_need_the_token_when_one_is_set(sqlite_settings) -> None:
    from pydantic import SecretStr

    from engage.app import create_app
    from tests.conftest import AppClient, running

    app = create_app(sqlite_settings.model_copy(update={"metrics_token": SecretStr("scrape-" + "k" * 30)}))
    async with running(app), AppClient(app, keep_cookies=False) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "scrape-" + "k" * 30}):
            res = await client.get("/metrics", headers=headers)
            assert res.status_code == 401 and "engage_" not in res.text, headers
        res = await client.get("/metrics", headers={"Authorization": "Bearer scrape-" + "k" * 30})
        assert res.status_code == 200 and "engage_requests_total" in res.text


async def test_metrics_without_a_token_are_refused_in_production(settings) -> None:
    from types import SimpleNamespace

    import pytest
    from litestar.exceptions import PermissionDeniedException

    from engage.http.guards import metrics_scraper

    async def scrape(env: str) -> None:
        services = SimpleNamespace(settings=settings.model_copy(update={"env": env, "metrics_token": None}))
        connection = SimpleNamespace(
            app=SimpleNamespace(state=SimpleNamespace(services=services)), headers={}
        )
        await metrics_scraper(connection, None)  # type: ignore[arg-type]

    await scrape("development")
    await scrape("test")
    with pytest.raises(PermissionDeniedException):
        await scrape("production")


async def test_every_operation_documents_its_errors_as_problem_details(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    problem = {"$ref": "#/components/schemas/Problem"}
    undocumented = [
        (method.upper(), path, status)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
        for status in ("400", "401", "403", "404", "422", "429")
        if operation["responses"]
        .get(status, {})
        .get("content", {})
        .get("application/problem+json", {})
        .get("schema")
        != problem
    ]
    assert not undocumented, undocumented[:10]
    fields = schema["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "code"} <= set(fields)
