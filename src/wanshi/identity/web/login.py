"""Login pages for every kind of account: password with a second factor, SMS code, scan to log in, logout.

The pages work without JavaScript (scan-to-login polls with a meta refresh). What is carried between
steps (a password that passed, an SMS challenge, a QR poll secret) lives in the signed session cookie for
minutes only; the secrets themselves are only ever stored as digests.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.identity import api as identity
from wanshi.identity.domain.login import Factor, QrStatus, new_totp_secret, totp_uri
from wanshi.identity.services.oidc import return_origin
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotAuthenticated, NotFound, TooManyRequests, ValidationFailed, WanshiError
from wanshi.web.auth import (
    csrf_protect,
    current_actor,
    end_session,
    get_platform,
    login_context,
    remember_device,
    start_session,
)
from wanshi.web.middleware import CSP
from wanshi.web.public import safe_next
from wanshi.web.templating import render

PENDING_SECONDS = 300
TOTP_ISSUER = "皖事通办"

pages = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
PlatformDep = Annotated[Platform, Depends(get_platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]


def _login_page(request: Request, context: dict[str, Any], *, status_code: int = 200) -> Response:
    response = render(request, "identity/login.html", context, status_code=status_code)
    return _allow_return(request, response, str(context.get("next", "/")))


def _allow_return(request: Request, response: Response, next_path: str) -> Response:
    """A sign-in for a provincial system ends in a redirect to it; browsers apply the login form's CSP
    form-action to every redirect that follows the form, so its origin is allowed there too."""
    if next_path.startswith("/oidc/"):
        platform: Platform = request.app.state.platform
        with platform.uow() as uow:
            origin = return_origin(uow, next_path)
        if origin is not None:
            response.headers["content-security-policy"] = CSP.replace(
                "form-action 'self'", f"form-action 'self' {origin}"
            )
    return response


def _signed_in(request: Request, done: identity.Done, next_path: str) -> Response:
    start_session(request, done.session)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    remember_device(request, response, done.session)
    return response


# --- password, then the second factor ---------------------------------------------------------------
@pages.get("/login")
def login_form(request: Request, actor: ActorDep, next: str = "/") -> Response:
    expired = bool(getattr(request.state, "session_expired", False))
    return _login_page(request, {"next": safe_next(next), "expired": expired, "tab": "password"})


@pages.post("/login")
def login(
    request: Request,
    platform: PlatformDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        with platform.uow() as uow:
            step = platform.identity.login.with_password(uow, username, password, login_context(request))
    except (NotAuthenticated, TooManyRequests) as exc:
        context = {"next": safe_next(next), "error": exc.message, "username": username, "tab": "password"}
        return _login_page(request, context, status_code=exc.http_status)
    if isinstance(step, identity.Done):
        return _signed_in(request, step, next)
    request.session["pending"] = {
        "uid": step.user_id,
        "first": step.first.value,
        "at": int(time.time()),
        "totp": step.totp,
        "sms": step.sms,
        "enrol": step.must_enrol,
        "next": safe_next(next),
    }
    return RedirectResponse("/login/second-factor", status_code=303)


def _pending(request: Request) -> identity.SecondFactorOwed | None:
    raw: Any = request.session.get("pending")
    if not isinstance(raw, dict) or int(time.time()) - int(raw.get("at", 0)) > PENDING_SECONDS:
        request.session.pop("pending", None)
        return None
    return identity.SecondFactorOwed(
        int(raw["uid"]), Factor(raw["first"]), bool(raw["totp"]), bool(raw["sms"]), bool(raw["enrol"])
    )


def _second_factor_page(
    request: Request,
    owed: identity.SecondFactorOwed,
    *,
    error: str = "",
    shown_code: str | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "owed": owed,
        "error": error,
        "shown_code": shown_code,
        "sms_sent": "otp" in request.session,
    }
    if owed.must_enrol:
        secret = request.session.get("enrol_secret")
        if not isinstance(secret, str):
            secret = new_totp_secret()
            request.session["enrol_secret"] = secret
        context.update(_totp_enrolment(secret, f"user-{owed.user_id}"))
    next_path = str((request.session.get("pending") or {}).get("next", "/"))
    return _allow_return(
        request, render(request, "identity/second_factor.html", context, status_code=status_code), next_path
    )


def qr_svg(content: str, title: str) -> str:
    """An inline SVG QR code (no script, no image request), with a title for screen readers."""
    return str(segno.make(content, error="m").svg_inline(scale=4, title=title))


def _totp_enrolment(secret: str, account: str) -> dict[str, str]:
    return {"secret": secret, "qr_svg": qr_svg(totp_uri(secret, account, TOTP_ISSUER), "动态口令绑定二维码")}


def _restart(request: Request) -> Response:
    end_session(request)
    return RedirectResponse("/login?expired_step=1", status_code=303)


@pages.get("/login/second-factor")
def second_factor_form(request: Request) -> Response:
    owed = _pending(request)
    if owed is None:
        return _restart(request)
    return _second_factor_page(request, owed)


@pages.post("/login/second-factor/sms")
def second_factor_send(request: Request, platform: PlatformDep) -> Response:
    owed = _pending(request)
    if owed is None:
        return _restart(request)
    try:
        with platform.uow() as uow:
            sent = platform.identity.login.send_second_factor_sms(uow, owed, login_context(request))
    except (TooManyRequests, ValidationFailed, NotAuthenticated) as exc:
        return _second_factor_page(request, owed, error=exc.message, status_code=exc.http_status)
    request.session["otp"] = sent.challenge
    return _second_factor_page(request, owed, shown_code=sent.shown_code)


@pages.post("/login/second-factor")
def second_factor(
    request: Request,
    platform: PlatformDep,
    code: Annotated[str, Form(max_length=10)],
    method: Annotated[str, Form(max_length=10)] = "totp",
) -> Response:
    owed = _pending(request)
    if owed is None:
        return _restart(request)
    ctx = login_context(request)
    try:
        with platform.uow() as uow:
            if owed.must_enrol:
                secret = str(request.session.get("enrol_secret", ""))
                done = platform.identity.login.enrol_totp_and_finish(uow, owed, secret, code, ctx)
            elif method == "sms":
                challenge = str(request.session.get("otp", ""))
                done = platform.identity.login.second_factor_sms(uow, owed, challenge, code, ctx)
            else:
                done = platform.identity.login.second_factor_totp(uow, owed, code, ctx)
    except (NotAuthenticated, ValidationFailed) as exc:
        if exc.error_code == "account_locked":
            end_session(request)
            return _login_page(
                request,
                {"error": exc.message, "tab": "password", "next": "/"},
                status_code=401,
            )
        return _second_factor_page(request, owed, error=exc.message, status_code=401)
    next_path = str((request.session.get("pending") or {}).get("next", "/"))
    return _signed_in(request, done, next_path)


# --- SMS code alone (people) ------------------------------------------------------------------------
@pages.get("/login/sms")
def sms_form(request: Request, actor: ActorDep, next: str = "/") -> Response:
    return _login_page(request, {"next": safe_next(next), "tab": "sms"})


@pages.post("/login/sms/send")
def sms_send(
    request: Request,
    platform: PlatformDep,
    phone: Annotated[str, Form(max_length=20)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    context: dict[str, Any] = {"next": safe_next(next), "tab": "sms", "phone": phone}
    try:
        with platform.uow() as uow:
            sent = platform.identity.login.send_login_sms(uow, phone, login_context(request))
    except (TooManyRequests, ValidationFailed) as exc:
        return _login_page(request, {**context, "error": exc.message}, status_code=exc.http_status)
    request.session["otp"] = sent.challenge
    return _login_page(request, {**context, "sms_sent": True, "shown_code": sent.shown_code})


@pages.post("/login/sms")
def sms_login(
    request: Request,
    platform: PlatformDep,
    code: Annotated[str, Form(max_length=10)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    challenge = str(request.session.get("otp", ""))
    try:
        with platform.uow() as uow:
            step = platform.identity.login.with_sms(uow, challenge, code, login_context(request))
    except NotAuthenticated as exc:
        context = {"next": safe_next(next), "tab": "sms", "sms_sent": True, "error": exc.message}
        return _login_page(request, context, status_code=401)
    request.session.pop("otp", None)
    if isinstance(step, identity.Done):
        return _signed_in(request, step, next)
    request.session["pending"] = {
        "uid": step.user_id,
        "first": step.first.value,
        "at": int(time.time()),
        "totp": True,
        "sms": False,
        "enrol": False,
        "next": safe_next(next),
    }
    return RedirectResponse("/login/second-factor", status_code=303)


# --- scan to log in ---------------------------------------------------------------------------------
def _qr_page(request: Request, token: str, next_path: str, *, error: str = "") -> Response:
    # The configured public address when there is one: the Host header is the client's to choose.
    public: str = request.app.state.platform.settings.public_url
    approve_url = f"{(public or str(request.base_url)).rstrip('/')}/login/qr/approve?t={token}"
    svg = qr_svg(approve_url, "扫码登录二维码")
    context = {"qr_svg": svg, "approve_url": approve_url, "next": next_path, "error": error, "tab": "qr"}
    return render(request, "identity/login_qr.html", context)


@pages.get("/login/qr")
def qr_start(request: Request, platform: PlatformDep, next: str = "/") -> Response:
    with platform.uow() as uow:
        started = platform.identity.login.start_qr(uow, login_context(request))
    request.session["qr"] = {"t": started.token, "p": started.poll_secret, "next": safe_next(next)}
    return _qr_page(request, started.token, safe_next(next))


@pages.get("/login/qr/check")
def qr_check(request: Request, platform: PlatformDep) -> Response:
    held: Any = request.session.get("qr")
    if not isinstance(held, dict):
        return RedirectResponse("/login/qr", status_code=303)
    try:
        with platform.uow() as uow:
            outcome = platform.identity.login.poll_qr(uow, held["t"], held["p"], login_context(request))
    except (NotFound, NotAuthenticated):
        request.session.pop("qr", None)
        return RedirectResponse(f"/login/qr?next={held.get('next', '/')}", status_code=303)
    if isinstance(outcome, identity.Done):
        return _signed_in(request, outcome, str(held.get("next", "/")))
    if outcome is QrStatus.DENIED:
        request.session.pop("qr", None)
        return _login_page(
            request,
            {"tab": "password", "next": "/", "error": "手机端已拒绝本次登录"},
            status_code=401,
        )
    return _qr_page(request, held["t"], str(held.get("next", "/")))


@pages.get("/login/qr/approve")
def qr_approve_form(request: Request, platform: PlatformDep, actor: ActorDep, t: str = "") -> Response:
    if actor.user_id is None:
        return RedirectResponse(f"/login?next=/login/qr/approve?t={t}", status_code=303)
    try:
        with platform.uow() as uow:
            pending = platform.identity.login.view_qr(uow, t, actor)
    except NotFound as exc:
        return render(request, "identity/qr_approve.html", {"error": exc.message}, status_code=404)
    return render(request, "identity/qr_approve.html", {"request_info": pending, "token": t})


@pages.post("/login/qr/approve")
def qr_decide(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    t: Annotated[str, Form(max_length=100)],
    decision: Annotated[str, Form(max_length=10)],
) -> Response:
    try:
        with platform.uow() as uow:
            platform.identity.login.decide_qr(uow, t, decision == "approve", actor)
    except WanshiError as exc:
        return render(
            request, "identity/qr_approve.html", {"error": exc.message}, status_code=exc.http_status
        )
    return render(request, "identity/qr_approve.html", {"decided": decision == "approve"})


@pages.post("/logout")
def logout(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    if actor.session_id is not None:
        with platform.uow() as uow:
            platform.identity.sessions.end(uow, actor.session_id, actor, "logout")
    end_session(request)
    return RedirectResponse("/", status_code=303)


routers = [pages]
