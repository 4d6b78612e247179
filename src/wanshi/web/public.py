"""Routes every visitor reaches: home, login, language, health, readiness, metrics and the API docs."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from wanshi import __version__
from wanshi.bootstrap import Platform
from wanshi.infra.migrations import current_and_head
from wanshi.kernel.actor import Actor
from wanshi.web.auth import csrf_protect, current_actor
from wanshi.web.i18n import LOCALES
from wanshi.web.templating import render

router = APIRouter(dependencies=[Depends(csrf_protect)])


def safe_next(value: str | None) -> str:
    """Only same-site relative paths, so a crafted link cannot bounce the user to another site."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    return value


@router.get("/", include_in_schema=False)
def home(request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> Response:
    return render(request, "home.html")


@router.get("/lang/{locale}", include_in_schema=False)
def switch_language(request: Request, locale: str, next: str = "/") -> Response:
    if locale in LOCALES:
        request.session["locale"] = locale
    return RedirectResponse(safe_next(next), status_code=303)


async def healthz(request: Request) -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok", "version": __version__})


def readyz(request: Request) -> Response:
    """Readiness: the database is reachable and migrated to the newest revision."""
    platform: Platform = request.app.state.platform
    checks: dict[str, str] = {}
    try:
        with platform.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current, head = current_and_head(conn)
        checks["database"] = "ok"
        checks["migrations"] = "ok" if current == head else f"at {current}, head is {head}"
    except Exception as exc:  # readiness reports any failure rather than raising it
        checks["database"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values()) and "migrations" in checks
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503
    )


async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)


# Probes and metrics are plain Starlette routes: polled often, read-only, with no parameters to validate,
# they need none of FastAPI's per-request dependency solving (see docs/benchmarks.md). They still pass
# through every middleware. Documented in docs/operations.md rather than in the OpenAPI schema.
probe_routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]


@router.get("/api/docs", include_in_schema=False)
def api_docs(request: Request) -> Response:
    return render(request, "api_docs.html")
