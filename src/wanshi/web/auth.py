"""Sessions, the current actor and CSRF protection, as FastAPI dependencies."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from fastapi import Depends, Request

from wanshi.bootstrap import Platform
from wanshi.identity.api import load_actor
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


def start_session(request: Request, actor: Actor) -> None:
    # A new session id on login defeats session fixation: drop everything, issue a fresh CSRF token.
    locale = request.session.get("locale")
    request.session.clear()
    request.session.update({"uid": actor.user_id, "login_at": int(time.time()), "seen_at": int(time.time())})
    if locale:
        request.session["locale"] = locale
    csrf_token(request)


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
    user_id = request.session.get("uid")
    if user_id is not None:
        now = int(time.time())
        idle_limit = platform.settings.session_idle_minutes * 60
        if now - int(request.session.get("seen_at", 0)) > idle_limit:
            end_session(request)
            request.state.session_expired = True
        else:
            with platform.uow() as uow:
                loaded = load_actor(uow, int(user_id))
            if loaded is None:
                end_session(request)
            else:
                actor = loaded
                if now - int(request.session.get("seen_at", 0)) > 60:
                    request.session["seen_at"] = now
    request.state.actor = actor
    return actor


def require_staff(actor: Actor = Depends(current_actor)) -> Actor:  # noqa: B008
    if actor.kind is not ActorKind.STAFF:
        raise NotAuthenticated()
    return actor
