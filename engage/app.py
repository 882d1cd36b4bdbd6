"""The app factory: assembles doors, plugins and middleware around one Runtime. Nothing else lives here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, Router
from litestar.channels import ChannelsPlugin
from litestar.config.cors import CORSConfig
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.logging import LoggingMiddlewareConfig
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin
from litestar.static_files import create_static_files_router
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig
from litestar.types import Scope
from sqlalchemy.ext.asyncio import AsyncSession

import web
from bots.search import routes as search
from bots.support import routes as support
from bots.wiring import background_work
from commerce.cart import routes as cart
from commerce.catalog import routes as catalog
from commerce.checkout import routes as checkout
from commerce.orders import routes as orders
from commerce.payments import routes as payments
from commerce.returns import routes as returns
from commerce.reviews import routes as reviews
from engage.alerts import routes as alerts
from engage.analytics import routes as analytics
from engage.announcements import routes as announcements
from engage.audit import routes as audit
from engage.audit.middleware import AuditMiddleware
from engage.auth import routes as auth
from engage.auth.middleware import EngageAuthMiddleware
from engage.chat import routes as chat
from engage.config import Settings, get_settings
from engage.customers import routes as customers
from engage.flash_sales import routes as flash_sales
from engage.http.csrf import SessionCSRFMiddleware
from engage.http.early_refusals import EarlyRefusalMiddleware
from engage.http.guards import identity_of, metrics_scraper, public
from engage.http.idempotency import IdempotencyMiddleware
from engage.http.inputs import InputCheckMiddleware
from engage.http.problems import document_problems, exception_handlers, problem_details_plugin
from engage.http.rate_limit import CountingRateLimitMiddleware
from engage.http.request_id import RequestIdMiddleware
from engage.http.security import SecurityHeadersMiddleware
from engage.http.sessions import session_config
from engage.http.shared_responses import SharedResponseMiddleware
from engage.leaderboards import routes as leaderboards
from engage.loyalty import routes as loyalty
from engage.platform import heap
from engage.platform.logs import structlog_config
from engage.push import routes as push
from engage.realtime.ws import SocketSendMiddleware, realtime_socket
from engage.services import Services
from engage.system.http import (
    LocalRedocPlugin,
    LocalSwaggerPlugin,
    SystemController,
    docs_assets_dir,
    redoc_bundle,
)
from engage.wiring import build

# every area's doors (its routes module); the kernel's own (system, metrics, the socket, static files) below
AREAS = [
    auth,
    search,
    support,
    announcements,
    flash_sales,
    push,
    loyalty,
    leaderboards,
    chat,
    catalog,
    cart,
    checkout,
    payments,
    orders,
    returns,
    reviews,
    audit,
    alerts,
    analytics,
    customers,
]

_UNTHROTTLED = ["^/health$", "^/ready$", "^/metrics$", "^/static/", "^/schema", "^/media/"]


class MetricsController(PrometheusController):
    guards = [metrics_scraper]
    include_in_schema = False


def _rate_limit_identifier(request: Any) -> str:
    ident = identity_of(request)
    if ident.user_id is not None:
        return f"user:{ident.user_id}"
    return f"ip:{request.client.host if request.client else 'unknown'}"


def _who_is_asking(settings: Settings) -> list[Any]:
    return [
        session_config(secure=settings.cookie_secure, max_age=settings.session_max_age).middleware,
        DefineMiddleware(EngageAuthMiddleware, exclude=_UNTHROTTLED),
    ]


def _http_middleware(settings: Settings, services: Services) -> list[Any]:
    limit = settings.rate_limit_api
    rate_limit = RateLimitConfig(
        rate_limit=(limit.unit, limit.count),
        exclude=_UNTHROTTLED,
        identifier_for_request=_rate_limit_identifier,
        middleware_class=CountingRateLimitMiddleware,
    )
    csrf = CSRFConfig(
        secret=settings.secret(),
        cookie_name="engage_csrf",
        header_name="x-csrftoken",
        cookie_secure=settings.cookie_secure,
        cookie_samesite="lax",
        # authenticated by what they carry, not by a cookie: Stripe's signature; a push's click token and a
        # subscription's old endpoint, posted by a service worker (which cannot read the CSRF cookie)
        exclude=["^/api/webhooks/", "^/api/push/clicks$", "^/api/push/subscriptions/renew$"],
    )
    middleware: list[Any] = [
        PrometheusConfig(
            app_name="engage", prefix="engage", group_path=True, exclude=_UNTHROTTLED
        ).middleware,
        DefineMiddleware(InputCheckMiddleware, max_body_bytes=settings.max_body_bytes),
        DefineMiddleware(
            SharedResponseMiddleware,
            versions={"catalog": services.catalog_cache.generation},
            ttl_seconds=settings.catalog_cache_seconds,
        ),
        *_who_is_asking(settings),
        DefineMiddleware(
            EarlyRefusalMiddleware,
            checks={
                name: make(services)
                for area in AREAS
                for name, make in getattr(area, "EARLY_REFUSALS", {}).items()
            },
            max_body_bytes=settings.max_body_bytes,
        ),
    ]
    if limit.count > 0:
        middleware.append(rate_limit.middleware)
    middleware.append(DefineMiddleware(SessionCSRFMiddleware, config=csrf))
    # innermost: only a request that passed every check is keyed
    middleware.append(DefineMiddleware(IdempotencyMiddleware, max_body_bytes=settings.max_body_bytes))
    # inside it: a replayed answer changed nothing more
    middleware.append(DefineMiddleware(AuditMiddleware, max_body_bytes=settings.max_body_bytes))
    return middleware


def _logging(settings: Settings) -> StructlogPlugin:
    return StructlogPlugin(
        StructlogConfig(
            structlog_logging_config=structlog_config(level=settings.log_level, as_json=settings.log_json),
            middleware_logging_config=LoggingMiddlewareConfig(
                request_log_fields=["path", "method", "query", "path_params"],
                response_log_fields=["status_code"],
                exclude=_UNTHROTTLED,
            ),
            enable_middleware_logging=settings.access_log,
        )
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> Litestar:
    settings = settings or get_settings()
    services = services or build(settings)
    runtime = services.runtime

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await services.start(with_channels=False)  # the Channels plugin starts and stops the backend
        # once the app and the embedding model are loaded, keep them out of the GC's full scans
        settle = asyncio.create_task(heap.freeze_after_start(lambda: services.bots.embedder.ready))
        background = [asyncio.create_task(work) for work in background_work(services.bots)]
        try:
            yield
        finally:
            for task in [settle, *background]:
                task.cancel()
            await asyncio.gather(settle, *background, return_exceptions=True)
            await services.stop(with_channels=False)

    def provide_services() -> Services:
        return services

    database = SQLAlchemyAsyncConfig(
        engine_instance=runtime.engine,
        session_maker=runtime.sessionmaker,
        session_dependency_key="plugin_db_session",
        create_all=False,
    )

    def provide_db_session(services: Services, state: State, scope: Scope) -> AsyncSession:
        # the plugin's session (closed by its before-send handler), resolved after `services`: two
        # dependencies of one batch cost every request a task group (a profile of the listing: 6% of its CPU)
        return database.provide_session(state, scope)

    channels: ChannelsPlugin = services.realtime.plugin

    app = Litestar(
        route_handlers=[
            # a socket lives for hours: only who is asking wraps it (every frame of middleware it passes
            # through stays in memory as long as it is open); the HTTP middleware wraps the rest
            Router("/", route_handlers=[realtime_socket], middleware=_who_is_asking(settings)),
            Router(
                "/",
                route_handlers=[
                    SystemController,
                    redoc_bundle,
                    MetricsController,
                    *(handler for area in AREAS for handler in area.ROUTES),
                    create_static_files_router(
                        "/static", directories=[web.STATIC], guards=[public], name="static"
                    ),
                    create_static_files_router(
                        "/static/lib",
                        directories=[web.LIBRARIES],
                        guards=[public],
                        name="libraries",
                        include_in_schema=False,
                    ),
                    create_static_files_router(
                        "/static/vendor",
                        directories=[docs_assets_dir()],
                        guards=[public],
                        name="docs-static",
                        include_in_schema=False,
                    ),
                ],
                middleware=_http_middleware(settings, services),
            ),
        ],
        lifespan=[lifespan],
        state=State({"runtime": runtime, "services": services}),
        dependencies={
            "services": Provide(provide_services, use_cache=True, sync_to_thread=False),
            "db_session": Provide(provide_db_session, sync_to_thread=False),
        },
        stores=StoreRegistry(stores=runtime.stores),
        plugins=[
            channels,
            SQLAlchemyPlugin(database),
            _logging(settings),
            problem_details_plugin(),
        ],
        # outermost, for every route (the OpenAPI pages' too): a socket's own send, the request id, headers
        middleware=[
            SocketSendMiddleware,
            RequestIdMiddleware,
            DefineMiddleware(SecurityHeadersMiddleware, hsts=settings.behind_tls),
        ],
        cors_config=CORSConfig(allow_origins=settings.cors_origins, allow_credentials=True)
        if settings.cors_origins
        else None,
        exception_handlers=exception_handlers,  # type: ignore[arg-type]  # handlers of subclasses, by design
        template_config=TemplateConfig(directory=web.TEMPLATES, engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(
            title="Engage API",
            version="1",
            path="/schema",
            render_plugins=[LocalSwaggerPlugin(), LocalRedocPlugin()],
        ),
        debug=False,
    )
    document_problems(app)
    return app
