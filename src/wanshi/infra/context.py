"""Per-request facts that audit entries and logs carry: request id, source address, channel."""

from __future__ import annotations

import contextvars
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    source_address: str = ""
    channel: str = "system"


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "wanshi_request_context", default=None
)


def current_request() -> RequestContext:
    ctx = _current.get()
    return ctx if ctx is not None else RequestContext(request_id=new_request_id())


def current_request_id() -> str:
    """The id of the request being served, or "-" outside any request (startup, timers)."""
    ctx = _current.get()
    return ctx.request_id if ctx is not None else "-"


def set_request(ctx: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(ctx)


def reset_request(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)


def new_request_id() -> str:
    return os.urandom(16).hex()
