"""Operations door: liveness, readiness, API docs served without any CDN."""

from __future__ import annotations

import asyncio
import re
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import CacheControlHeader, State
from litestar.openapi.plugins import OpenAPIRenderPlugin
from sqlalchemy import text

from engage.http.guards import public
from engage.platform.migrations import database_heads, script_heads
from engage.platform.redis import persistence
from engage.platform.runtime import Runtime

# an answer this slow is still an answer: the embedded SQLite serialises transactions, and a check that comes
# during a long write (the first start's indexing) waits for it
_CHECK_TIMEOUT = 5.0


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str
    checks: dict[str, str]
    # what an operator should know and that does not stop this node serving (docs/deployment.md)
    warnings: dict[str, str] = {}


async def readiness(runtime: Runtime) -> Readiness:
    checks: dict[str, str] = {}
    warnings: dict[str, str] = {}
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT), runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            heads = await database_heads(conn)
        checks["database"] = "ok"
        expected = script_heads()
        checks["migrations"] = (
            "ok" if heads == expected else f"at {sorted(heads) or 'nothing'}, head is {sorted(expected)}"
        )
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
    if runtime.redis is not None:
        try:
            async with asyncio.timeout(_CHECK_TIMEOUT):
                await runtime.redis.ping()
            checks["redis"] = "ok"
            if await persistence(runtime.redis) == "none":
                warnings["redis_persistence"] = (
                    "Redis keeps nothing on disk: a restart signs every shopper out (docs/deployment.md)"
                )
        except Exception as exc:
            checks["redis"] = f"unreachable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return Readiness(status="ready" if ok else "not ready", checks=checks, warnings=warnings)


class SystemController(Controller):
    tags = ["system"]
    include_in_schema = True

    @get("/health", guards=[public])
    async def health(self) -> Health:
        """The process is alive."""
        return Health(status="ok")

    @get("/ready", guards=[public])
    async def ready(self, state: State) -> Response[Readiness]:
        """Database and Redis reachable, migrations at head; 503 with the reason otherwise."""
        result = await readiness(state.runtime)
        return Response(result, status_code=200 if result.status == "ready" else 503)


class LocalSwaggerPlugin(OpenAPIRenderPlugin):
    """Swagger UI from local files (`docs_assets_dir`), started by a script file (the CSP allows no inline)."""

    def __init__(self, path: str = "/swagger") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return (
            b"<!doctype html><html><head><meta charset='utf-8'><title>Engage API</title>"
            b"<link rel='stylesheet' href='/static/vendor/swagger-ui-dist/swagger-ui.css'></head>"
            b"<body><div id='swagger-ui' data-spec='"
            + self.get_openapi_json_route(request).encode()
            + b"'></div>"
            b"<script src='/static/vendor/swagger-ui-dist/swagger-ui-bundle.js'></script>"
            b"<script src='/static/js/swagger-init.js'></script></body></html>"
        )


def docs_assets_dir() -> Path:
    """Current builds of Swagger UI and ReDoc (OpenAPI 3.1), shipped in the drf-spectacular-sidecar package.
    Found, not imported: the package's own code is for Django, which we never load."""
    spec = find_spec("drf_spectacular_sidecar")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("drf-spectacular-sidecar is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "drf_spectacular_sidecar"


# The ReDoc bundle shows a "by Redocly" logo from their CDN (hard-coded; no option turns it off): the page
# loads a copy of the bundle that takes the logo from this site instead, and no source map reference.
REDOC_BUNDLE_PATH = "/schema/redoc.standalone.js"
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_REDOC_LOGO = b"/static/img/redoc-logo.svg"


@lru_cache(maxsize=1)
def local_redoc_bundle() -> bytes:
    bundle = (docs_assets_dir() / "redoc" / "bundles" / "redoc.standalone.js").read_bytes()
    bundle = bundle.replace(REDOC_CDN_LOGO, LOCAL_REDOC_LOGO)
    return re.sub(rb"\n//# sourceMappingURL=\S+\s*$", b"\n", bundle)


@get(
    REDOC_BUNDLE_PATH,
    guards=[public],
    include_in_schema=False,
    media_type="text/javascript",
    cache_control=CacheControlHeader(max_age=3600, public=True),
)
async def redoc_bundle() -> Response[bytes]:
    """ReDoc's bundle with its logo served from this site (the site's CSP allows no other)."""
    return Response(await asyncio.to_thread(local_redoc_bundle), media_type="text/javascript")


class LocalRedocPlugin(OpenAPIRenderPlugin):
    """ReDoc from a local bundle; it starts itself on the <redoc> element, so the page has no script of its
    own (its styles are injected at run time: engage.http.security.DOCS_CSP)."""

    def __init__(self, path: str = "/redoc") -> None:
        super().__init__(path=path)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return (
            b"<!doctype html><html><head><meta charset='utf-8'><title>Engage API</title></head>"
            b"<body><redoc spec-url='" + self.get_openapi_json_route(request).encode() + b"'></redoc>"
            b"<script src='" + REDOC_BUNDLE_PATH.encode() + b"'></script></body></html>"
        )
