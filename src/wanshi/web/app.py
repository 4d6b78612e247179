"""The ASGI app factory: one app serves the HTML UI and the JSON API (/api/v1) over one service layer."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from starlette.middleware.sessions import SessionMiddleware

from wanshi import __version__
from wanshi.bootstrap import Platform
from wanshi.infra.accesslog import AccessLog
from wanshi.web import public
from wanshi.web.errors import install_error_handlers
from wanshi.web.middleware import HttpMetrics, PlatformMiddleware
from wanshi.web.templating import build_templates
from wanshi.web.web_registry import TEMPLATE_PACKAGES, context_routers, priority_routes

SESSION_COOKIE = "wanshi_session"


def create_app(platform: Platform) -> FastAPI:
    settings = platform.settings
    access_log = AccessLog(as_json=settings.log_json, enabled=settings.access_log)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        access_log.start()
        thread = None
        if settings.worker_in_process:
            worker = platform.worker()
            thread = threading.Thread(
                target=worker.run_forever, args=(stop,), name="wanshi-worker", daemon=True
            )
            thread.start()
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=30)
            access_log.close()

    app = FastAPI(
        title="Wanshi 皖事 API",
        version=__version__,
        description="皖事通办 service platform and 江淮大数据中心 data centre. Errors use one envelope: "
        '`{"error": {"code", "message", "details", "request_id"}}`.',
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
        # Metrics are ours (Prometheus at /metrics); FastAPI's OpenTelemetry hooks would only cost a
        # provider lookup per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.platform = platform
    app.state.templates = build_templates(TEMPLATE_PACKAGES)
    app.state.metrics_registry = CollectorRegistry()
    install_error_handlers(app)

    app.router.routes.extend(public.probe_routes)
    app.router.routes.extend(priority_routes())
    app.include_router(public.router)
    for router in context_routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(resources.files("wanshi.web") / "static")), name="static")

    # Order: the outermost middleware is added last. Sessions sit inside the platform middleware so
    # that every response, errors included, carries the request id and the security headers.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=None,
        same_site="lax",
        https_only=settings.session_cookie_secure,
    )
    app.add_middleware(
        PlatformMiddleware,
        metrics=HttpMetrics(app.state.metrics_registry),
        access_log=access_log,
        trusted_proxies=settings.trusted_proxies,
        hsts=settings.session_cookie_secure,
    )
    return app
