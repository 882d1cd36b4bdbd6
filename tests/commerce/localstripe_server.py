"""Run localstripe on 127.0.0.1 with fresh, unsaved state: `python -m tests.commerce.localstripe_server PORT`.

localstripe's own command binds every interface and keeps its state in /tmp between runs; this runs the same
aiohttp app bound to loopback only, starting empty (its `--from-scratch`) and writing nothing to disk.
It also remembers the `Idempotency-Key` of every POST (localstripe itself ignores them), so tests can see
which keys reach "Stripe": `GET /_config/engage-requests`.
"""

from __future__ import annotations

import sys
from typing import Any

from aiohttp import web
from localstripe import resources, server

_seen: list[dict[str, Any]] = []


@web.middleware
async def _record(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method == "POST" and request.path.startswith("/v1/"):
        _seen.append({"path": request.path, "idempotency_key": request.headers.get("Idempotency-Key")})
    return await handler(request)


async def _requests(request: web.Request) -> web.Response:
    return web.json_response(_seen)


def main() -> None:
    port = int(sys.argv[1])
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.store.clear()
    server.app.middlewares.insert(0, _record)
    server.app.router.add_get("/_config/engage-requests", _requests)
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
