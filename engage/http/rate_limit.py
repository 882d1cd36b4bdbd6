"""Litestar's rate-limit middleware, counting in one atomic round trip.

Litestar's own keeps a list of timestamps per client behind a process-wide lock (two store round trips and
a JSON list as long as the limit, per request); this counts fixed windows in the runtime's WindowCounter.
Configuration stays Litestar's `RateLimitConfig` (limit, exclusions, identifier, headers).
"""

from __future__ import annotations

from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitMiddleware
from litestar.types import Message, Receive, Scope, Send

from engage.platform.counters import Window


class CountingRateLimitMiddleware(RateLimitMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request = app.request_class(scope)
        if await self.should_check_request(request=request):
            window = await app.state.runtime.counter.hit(
                self.cache_key_from_request(request), DURATION_VALUES[self.unit]
            )
            headers = self._headers(window) if self.config.set_rate_limit_headers else None
            if window.hits > self.max_requests:
                raise TooManyRequestsException(
                    headers={**(headers or {}), "Retry-After": str(window.resets_in)}
                )
            if headers:
                send = self._with_headers(send, headers)
        await self.app(scope, receive, send)

    def _headers(self, window: Window) -> dict[str, str]:
        return {
            self.config.rate_limit_policy_header_key: f"{self.max_requests}; w={DURATION_VALUES[self.unit]}",
            self.config.rate_limit_limit_header_key: str(self.max_requests),
            self.config.rate_limit_remaining_header_key: str(max(0, self.max_requests - window.hits)),
            self.config.rate_limit_reset_header_key: str(window.resets_in),
        }

    @staticmethod
    def _with_headers(send: Send, headers: dict[str, str]) -> Send:
        encoded = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *encoded]
            await send(message)

        return send_with_headers


__all__ = ["CountingRateLimitMiddleware"]
