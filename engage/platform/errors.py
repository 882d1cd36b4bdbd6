"""Domain errors. Services raise these; each door (HTTP, socket, job) translates them."""

from __future__ import annotations

from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import exc as sa_exc


class DomainError(Exception):
    """Base class: `code` is a stable machine-readable name, `message` is for people."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request is valid but clashes with the current state (taken email, sold out, wrong state)."""

    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_input"


class PermissionDenied(DomainError):
    code = "permission_denied"


class NotAuthenticated(DomainError):
    code = "not_authenticated"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, **extra: Any) -> None:
        super().__init__(message, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency (payment provider, model) cannot serve now; retrying later may work."""

    code = "unavailable"


def is_overload(exc: BaseException) -> bool:
    """The database or Redis cannot take this now (pool exhausted, too many clients, gone away): a door
    answers "busy, retry shortly" (HTTP 503, socket `unavailable`) instead of an internal error."""
    if isinstance(exc, sa_exc.TimeoutError | RedisConnectionError | ConnectionError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return exc.connection_invalidated or "too many clients" in str(exc.orig).lower()
    return False


def is_out_of_range(exc: BaseException) -> bool:
    """A number the client sent does not fit the column it is compared with or stored in (an id of 30
    digits): bad input, answered like any other (HTTP 400, socket `invalid_frame`), never a 500."""
    if isinstance(exc, OverflowError):  # SQLite's driver: "Python int too large to convert"
        return True
    if isinstance(exc, sa_exc.StatementError) and isinstance(exc.orig, OverflowError):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    message = str(exc.orig).lower()
    # asyncpg: "value out of int64 range" (bigint), "out of int32 range" (integer), "out of int16 range"
    return any(f"out of int{bits} range" in message for bits in (64, 32, 16))
