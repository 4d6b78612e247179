"""One pure-ASGI middleware for request ids, source address, security headers, metrics and access logs.

Pure ASGI (not BaseHTTPMiddleware) because every request passes through it: see bench/ for its cost.
"""

from __future__ import annotations

import re
import time
from collections.abc import MutableMapping
from ipaddress import ip_address, ip_network
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Receive, Scope, Send

from wanshi.infra.accesslog import AccessLog
from wanshi.infra.context import RequestContext, new_request_id, reset_request, set_request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "wanshi_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
        )
        self.duration = Histogram(
            "wanshi_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            registry=registry,
        )
        # labels() costs more than the observation itself; routes are few, so keep the children.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.duration.labels(method, route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class PlatformMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics,
        access_log: AccessLog,
        trusted_proxies: list[str],
        hsts: bool,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.trusted = [ip_network(p, strict=False) for p in trusted_proxies]
        headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"content-security-policy", CSP.encode()),
        ]
        if hsts:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.security_headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = _header(scope, b"x-request-id")
        request_id = supplied if _REQUEST_ID.match(supplied) else new_request_id()
        ctx = RequestContext(request_id=request_id, source_address=self._source(scope), channel="web")
        token = set_request(ctx)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                # A route may set its own policy (e.g. a download's CSP); ours fills in only what is missing.
                headers.extend(h for h in self.security_headers if h[0] not in present)
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe(scope["method"], route, status, elapsed)
            # The path only: query strings can carry personal data.
            self.access_log.write(request_id, scope["method"], scope["path"], status, elapsed)
            reset_request(token)

    def _source(self, scope: Scope) -> str:
        client = scope.get("client")
        peer = client[0] if client else ""
        if not (peer and self.trusted and self._is_trusted(peer)):
            return peer
        # Walk X-Forwarded-For from the right, past our own proxies, to the first address we did not add.
        hops = [h.strip() for h in _header(scope, b"x-forwarded-for").split(",") if h.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                return hop
        return peer

    def _is_trusted(self, address: str) -> bool:
        try:
            parsed = ip_address(address)
        except ValueError:
            return False
        return any(parsed in net for net in self.trusted)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""
