"""Domain errors become RFC 9457 problem details at the edge; unexpected errors never leak internals."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from engage.platform.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unavailable,
    is_out_of_range,
    is_overload,
)
from engage.platform.logs import SampledWarning

_STATUS: dict[type[DomainError], int] = {
    InvalidInput: 422,
    NotAuthenticated: 401,
    PermissionDenied: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    Unavailable: 503,
}


class Problem(msgspec.Struct):
    """An RFC 9457 problem details document, as every error answer carries it (application/problem+json)."""

    type: str  # "urn:engage:problem:{code}"
    title: str
    status: int
    detail: str
    code: str  # also what a client branches on; more fields by problem (`field`, `limit_cents`, ...)


_DOCUMENTED = {
    400: "Malformed request: a parameter, header or body the operation cannot read (`invalid_request`, "
    "`invalid_body`, `out_of_range`, field errors in `invalid_parameters`)",
    401: "Not signed in (`not_authenticated`)",
    403: "Signed in, not allowed (`permission_denied`, or the operation's own code)",
    404: "Nothing of that id that the caller may see (`not_found`)",
    409: "The current state forbids it (`conflict`, or the operation's own code)",
    413: "Body larger than ENGAGE_MAX_BODY_BYTES (`body_too_large`)",
    415: "Body not of the media type the operation reads (`unsupported_media_type`)",
    422: "Well-formed, but not acceptable (`invalid_input`, `idempotency_key_reused`, ...)",
    429: "Too many requests; `Retry-After` says when to try again (`rate_limited`)",
    503: "A service it needs is unavailable; retry (`unavailable`)",
}


def document_problems(app: Litestar) -> None:
    """Every operation's error answers in the OpenAPI schema, as the problem details they are."""
    specs = {
        status: ResponseSpec(data_container=Problem, description=text, media_type="application/problem+json")
        for status, text in _DOCUMENTED.items()
    }
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                handler.responses = {**specs, **(handler.responses or {})}


def status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 400


def domain_problem(exc: DomainError) -> ProblemDetailsException:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    extra: dict[str, Any] = {"code": exc.code, **{k: v for k, v in exc.extra.items() if v is not None}}
    return ProblemDetailsException(
        status_code=status_of(exc),
        title=exc.code.replace("_", " "),
        detail=exc.message,
        type_=f"urn:engage:problem:{exc.code}",
        extra=extra,
        headers=headers,
    )


def _validation_problem(exc: ValidationException) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=exc.status_code,
        title="invalid request",
        detail=exc.detail,
        type_="urn:engage:problem:invalid_request",
        extra={"code": "invalid_request", "errors": exc.extra or []},
    )


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser navigating (it asks for HTML), outside the API: it gets a page, not a problem document."""
    return (
        request.method in ("GET", "HEAD")
        and not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "")
    )


def _page_not_found(request: Request[Any, Any, Any]) -> Response[Any]:
    from engage.http.pages import not_found

    # an unknown URL is refused before the auth middleware runs: who is asking is then unknown, and the
    # header shows no account rather than a wrong one ("Sign in" to someone signed in)
    known = "user" in request.scope or "engage_session" not in request.cookies
    return not_found(request, "We could not find that page.", who_known=known)


def _not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
    if wants_page(request):
        return _page_not_found(request)
    return ProblemDetailsException(
        status_code=exc.status_code, detail=exc.detail, headers=exc.headers, extra=exc.extra
    ).to_response(request)


def _domain_not_found(request: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    if wants_page(request):
        return _page_not_found(request)
    return domain_problem(exc).to_response(request)


log = logging.getLogger("engage.http")
warn_overload = SampledWarning(log)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_out_of_range(exc):
        return ProblemDetailsException(
            status_code=400,
            title="invalid request",
            detail="a number in the request is out of range",
            type_="urn:engage:problem:invalid_request",
            extra={"code": "out_of_range"},
        ).to_response(request)
    if is_overload(exc):
        warn_overload("overloaded on %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return ProblemDetailsException(
            status_code=503,
            title="unavailable",
            detail="the service is busy; retry shortly",
            type_="urn:engage:problem:unavailable",
            headers={"Retry-After": "1"},
        ).to_response(request)
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return ProblemDetailsException(
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        title="internal error",
        detail="something went wrong on our side; it has been logged",
        type_="urn:engage:problem:internal",
    ).to_response(request)


def problem_details_plugin() -> ProblemDetailsPlugin:
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            enable_for_all_http_exceptions=True,
            exception_to_problem_detail_map={
                DomainError: domain_problem,
                ValidationException: _validation_problem,
            },
        )
    )


# more specific than the problem-details plugin's handlers (HTTPException, DomainError): a browser's 404 is a page
exception_handlers = {Exception: _unexpected, NotFoundException: _not_found, NotFound: _domain_not_found}

__all__ = ["HTTPException", "domain_problem", "exception_handlers", "problem_details_plugin", "status_of"]
