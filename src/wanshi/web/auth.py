"""Sessions, the current actor and CSRF protection, as FastAPI dependencies."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Depends, Request
from starlette.responses import Response

from wanshi.bootstrap import Platform
from wanshi.identity.api import LoginContext, StartedSession
from wanshi.infra.context import current_request
from wanshi.kernel.actor import ANONYMOUS, Actor, ActorKind
from wanshi.kernel.errors import CsrfFailed, NotAuthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def csrf_protect(request: Request) -> None:
    """Synchroniser token for every state-changing request made with the session cookie."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    supplied = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if supplied is None and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if not expected or not supplied or not hmac.compare_digest(str(expected), supplied):
        raise CsrfFailed()


DEVICE_COOKIE = "wanshi_device"
DEVICE_COOKIE_DAYS = 400


def start_session(request: Request, started: StartedSession) -> None:
    # A new cookie session on login defeats session fixation: drop everything, issue a fresh CSRF token.
    locale = request.session.get("locale")
    request.session.clear()
    request.session["sid"] = started.token
    if locale:
        request.session["locale"] = locale
    csrf_token(request)


def remember_device(request: Request, response: Response, started: StartedSession) -> None:
    """A long-lived cookie naming this browser, so that a sign-in from a new device can be told apart."""
    platform: Platform = request.app.state.platform
    response.set_cookie(
        DEVICE_COOKIE,
        started.device_token,
        max_age=DEVICE_COOKIE_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=platform.settings.session_cookie_secure,
    )


def login_context(request: Request) -> LoginContext:
    return LoginContext(
        source_address=current_request().source_address,
        user_agent=request.headers.get("user-agent", "")[:200],
        device_token=request.cookies.get(DEVICE_COOKIE),
    )


def end_session(request: Request) -> None:
    locale = request.session.get("locale")
    request.session.clear()
    if locale:
        request.session["locale"] = locale


def current_actor(request: Request, platform: Platform = Depends(get_platform)) -> Actor:  # noqa: B008
    cached: Any = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    actor = ANONYMOUS
    token = request.session.get("sid")
    if isinstance(token, str):
        # Every signed-in request reads its session; only once a minute (or at its end) is there a write.
        with platform.reader() as reader:
            check = platform.identity.sessions.peek(reader, token)
        loaded = check.actor
        if check.changes:
            with platform.uow() as uow:
                loaded = platform.identity.sessions.settle(uow, check)
        if loaded is None:
            end_session(request)
            request.state.session_expired = True
        else:
            actor = loaded
    request.state.actor = actor
    return actor


def require_signed_in(actor: Actor = Depends(current_actor)) -> Actor:  # noqa: B008
    if actor.user_id is None:
        raise NotAuthenticated()
    return actor


def require_staff(actor: Actor = Depends(current_actor)) -> Actor:  # noqa: B008
    if actor.kind is not ActorKind.STAFF:
        raise NotAuthenticated()
    return actor
