"""A person's own account (个人中心): registration, password recovery, the account page with the level of
assurance, TOTP, live sessions; and the counter's in-person verification (临柜核验) for clerks.

JSON twins under /api/v1/account serve the mobile app and relying systems' front ends.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.identity import api as identity
from wanshi.identity.domain.login import new_totp_secret, totp_uri
from wanshi.identity.web.login import TOTP_ISSUER, qr_svg
from wanshi.kernel.actor import Actor, Assurance
from wanshi.kernel.errors import WanshiError
from wanshi.web.auth import (
    csrf_protect,
    current_actor,
    end_session,
    get_platform,
    login_context,
    remember_device,
    require_signed_in,
    require_staff,
    start_session,
)
from wanshi.web.templating import render
from wanshi.web.web_registry import form_problems

ASSURANCE_NAMES = {
    Assurance.REGISTERED: "注册用户（已验证手机）",
    Assurance.REAL_NAME: "实名用户（已通过人口库核验）",
    Assurance.IN_PERSON: "实人用户（已临柜核验）",
}
METHOD_NAMES = {"pwd": "密码", "otp": "动态口令", "sms": "短信验证码", "qr": "扫码", "mfa": "双因素"}
REGISTER_LABELS = {
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号码",
    "password": "密码",
    "code": "验证码",
}

pages = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)
account_api = APIRouter(prefix="/api/v1/account", tags=["account"], dependencies=[Depends(csrf_protect)])
PlatformDep = Annotated[Platform, Depends(get_platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]


# --- registration ----------------------------------------------------------------------------------
def _register_page(request: Request, form: dict[str, str], **extra: Any) -> Response:
    status = int(extra.pop("status_code", 200))
    context = {"form": form, "sent": "otp" in request.session, "labels": REGISTER_LABELS, **extra}
    return render(request, "identity/register.html", context, status_code=status)


@pages.get("/register")
def register_form(request: Request) -> Response:
    request.session.pop("otp", None)
    return _register_page(request, {})


@pages.post("/register/send-code")
def register_send_code(
    request: Request, platform: PlatformDep, phone: Annotated[str, Form(max_length=20)]
) -> Response:
    try:
        with platform.uow() as uow:
            sent = platform.identity.accounts.send_registration_code(uow, phone, login_context(request))
    except WanshiError as exc:
        return _register_page(request, {"phone": phone}, error=exc.message, status_code=exc.http_status)
    request.session["otp"] = sent.challenge
    return _register_page(request, {"phone": phone}, shown_code=sent.shown_code)


@pages.post("/register")
def register(
    request: Request,
    platform: PlatformDep,
    name: Annotated[str, Form(max_length=30)],
    id_number: Annotated[str, Form(max_length=20)],
    phone: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=256)],
    code: Annotated[str, Form(max_length=10)],
) -> Response:
    form = {"name": name, "id_number": id_number, "phone": phone}
    try:
        cmd = identity.RegisterPerson(
            name=name,
            id_number=id_number,
            phone=phone,
            password=password,
            challenge=str(request.session.get("otp", "")),
            code=code,
        )
        with platform.uow() as uow:
            done = platform.identity.accounts.register_person(uow, cmd, login_context(request))
    except (ValidationError, WanshiError) as exc:
        problems, general = form_problems(exc)
        status = exc.http_status if isinstance(exc, WanshiError) else 422
        return _register_page(request, form, problems=problems, error=general, status_code=status)
    start_session(request, done.session)
    response = RedirectResponse("/account?done=registered", status_code=303)
    remember_device(request, response, done.session)
    return response


# --- recovery ----------------------------------------------------------------------------------------
@pages.get("/recover")
def recover_form(request: Request) -> Response:
    request.session.pop("otp", None)
    return render(request, "identity/recover.html", {"sent": False})


@pages.post("/recover/send-code")
def recover_send_code(
    request: Request, platform: PlatformDep, phone: Annotated[str, Form(max_length=20)]
) -> Response:
    try:
        with platform.uow() as uow:
            sent = platform.identity.accounts.send_recovery_code(uow, phone, login_context(request))
    except WanshiError as exc:
        return render(request, "identity/recover.html", {"error": exc.message}, status_code=exc.http_status)
    request.session["otp"] = sent.challenge
    return render(request, "identity/recover.html", {"sent": True, "shown_code": sent.shown_code})


@pages.post("/recover")
def recover(
    request: Request,
    platform: PlatformDep,
    id_number: Annotated[str, Form(max_length=20)],
    code: Annotated[str, Form(max_length=10)],
    new_password: Annotated[str, Form(max_length=256)],
) -> Response:
    cmd = identity.RecoverPassword(
        id_number=id_number,
        challenge=str(request.session.get("otp", "")),
        code=code,
        new_password=new_password,
    )
    try:
        with platform.uow() as uow:
            platform.identity.accounts.recover_password(uow, cmd)
    except WanshiError as exc:
        return render(
            request,
            "identity/recover.html",
            {"sent": True, "error": exc.message},
            status_code=exc.http_status,
        )
    end_session(request)
    return render(request, "identity/recover.html", {"recovered": True})


# --- the account page --------------------------------------------------------------------------------
def _account_page(request: Request, platform: Platform, actor: Actor, **extra: Any) -> Response:
    status = int(extra.pop("status_code", 200))
    with platform.uow() as uow:
        account = platform.identity.accounts.my_account(uow, actor)
        sessions = platform.identity.sessions.list_own(uow, actor)
    context: dict[str, Any] = {
        "account": account,
        "sessions": sessions,
        "assurance_names": ASSURANCE_NAMES,
        "method_names": METHOD_NAMES,
        "levels": list(Assurance),
        "done": request.query_params.get("done", ""),
        **extra,
    }
    if not account.totp_enabled:
        secret = request.session.get("account_totp")
        if not isinstance(secret, str):
            secret = new_totp_secret()
            request.session["account_totp"] = secret
        context.update(
            secret=secret,
            qr_svg=qr_svg(totp_uri(secret, account.username, TOTP_ISSUER), "动态口令绑定二维码"),
        )
    return render(request, "identity/account.html", context, status_code=status)


@pages.get("/account")
def account_page(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    if actor.user_id is None:
        return RedirectResponse("/login?next=/account", status_code=303)
    return _account_page(request, platform, actor)


def _account_action(request: Request, platform: Platform, actor: Actor, action: Any, done: str) -> Response:
    if actor.user_id is None:
        return RedirectResponse("/login?next=/account", status_code=303)
    try:
        with platform.uow() as uow:
            action(uow)
    except WanshiError as exc:
        return _account_page(request, platform, actor, error=exc.message, status_code=exc.http_status)
    return RedirectResponse(f"/account?done={done}", status_code=303)


@pages.post("/account/totp")
def account_totp_enrol(
    request: Request, platform: PlatformDep, actor: ActorDep, code: Annotated[str, Form(max_length=10)]
) -> Response:
    secret = str(request.session.get("account_totp", ""))
    response = _account_action(
        request,
        platform,
        actor,
        lambda uow: platform.identity.accounts.enrol_totp(uow, actor, secret, code),
        "totp_on",
    )
    if response.status_code == 303:
        request.session.pop("account_totp", None)
    return response


@pages.post("/account/totp/remove")
def account_totp_remove(
    request: Request, platform: PlatformDep, actor: ActorDep, code: Annotated[str, Form(max_length=10)]
) -> Response:
    return _account_action(
        request,
        platform,
        actor,
        lambda uow: platform.identity.accounts.remove_totp(uow, actor, code),
        "totp_off",
    )


@pages.post("/account/real-name")
def account_real_name(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    return _account_action(
        request,
        platform,
        actor,
        lambda uow: platform.identity.accounts.retry_real_name(uow, actor),
        "real_name",
    )


@pages.post("/account/password")
def account_password(
    request: Request,
    platform: PlatformDep,
    actor: ActorDep,
    current_password: Annotated[str, Form(max_length=256)],
    new_password: Annotated[str, Form(max_length=256)],
) -> Response:
    cmd = identity.SetPassword(
        user_id=actor.user_id or 0, new_password=new_password, current_password=current_password
    )
    return _account_action(
        request, platform, actor, lambda uow: platform.identity.set_password(uow, cmd, actor), "password"
    )


@pages.post("/account/sessions/end")
def account_end_session(
    request: Request, platform: PlatformDep, actor: ActorDep, session_id: Annotated[str, Form(max_length=64)]
) -> Response:
    return _account_action(
        request,
        platform,
        actor,
        lambda uow: platform.identity.sessions.end(uow, session_id, actor, "ended_by_owner"),
        "session_ended",
    )


# --- the counter -------------------------------------------------------------------------------------
@pages.get("/counter/verify")
def counter_form(request: Request, actor: Annotated[Actor, Depends(require_staff)]) -> Response:
    return render(request, "identity/counter_verify.html", {})


@pages.post("/counter/verify")
def counter_verify(
    request: Request,
    platform: PlatformDep,
    actor: Annotated[Actor, Depends(require_staff)],
    id_number: Annotated[str, Form(max_length=20)],
    name: Annotated[str, Form(max_length=30)],
) -> Response:
    try:
        with platform.uow() as uow:
            account = platform.identity.accounts.verify_in_person(
                uow, identity.VerifyInPerson(id_number=id_number, name=name), actor
            )
    except WanshiError as exc:
        return render(
            request,
            "identity/counter_verify.html",
            {"error": exc.message, "name": name},
            status_code=exc.http_status,
        )
    return render(request, "identity/counter_verify.html", {"verified": account})


# --- JSON --------------------------------------------------------------------------------------------
class AccountOut(BaseModel):
    account_type: str
    public_id: str
    display_name: str
    assurance: str | None
    id_number: str | None  # masked
    phone: str | None  # masked
    totp_enabled: bool


@account_api.get("", response_model=AccountOut, summary="My account (personal data masked)")
def my_account_api(platform: PlatformDep, actor: Annotated[Actor, Depends(require_signed_in)]) -> AccountOut:
    with platform.uow() as uow:
        account = platform.identity.accounts.my_account(uow, actor)
    return AccountOut(
        account_type=account.kind.value,
        public_id=account.public_id,
        display_name=account.display_name,
        assurance=account.assurance.value if account.assurance else None,
        id_number=account.id_number_masked,
        phone=account.phone_masked,
        totp_enabled=account.totp_enabled,
    )


routers = [pages, account_api]
