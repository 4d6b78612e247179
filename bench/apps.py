"""The ASGI apps the HTTP benchmarks serve, as uvicorn factories (``uvicorn --factory bench.apps:...``).

Both run in a server subprocess started by bench.http_json; the Wanshi app reads its settings from the
``WANSHI_*`` environment that the driver sets (temporary SQLite data dir, no in-process worker, log level).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wanshi import __version__


def bare_app() -> Starlette:
    """The baseline: one Starlette route answering the same JSON body as Wanshi's /healthz."""

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    return Starlette(routes=[Route("/healthz", healthz)])


def wanshi_app() -> object:
    """The real app, built the way production builds it: settings, logging, platform, create_app."""
    from wanshi.bootstrap import build_platform
    from wanshi.config import Settings
    from wanshi.infra.logging import configure_logging
    from wanshi.web.app import create_app

    settings = Settings()
    configure_logging(settings.log_level, as_json=settings.log_json)
    return create_app(build_platform(settings))
