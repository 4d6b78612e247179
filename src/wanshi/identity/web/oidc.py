"""OpenID Connect protocol endpoints, the consent screen and the account's list of authorised systems.

The small glue Authlib lacks for FastAPI: each request becomes an ``HttpCall`` (method, the URL as
addressed at the issuer, headers, query and form pairs) for the provider, and its answer a response.
Protocol endpoints are authenticated by the client (secret or PKCE) or by a bearer token, not by the
session cookie, so they carry no CSRF check; the consent and logout forms do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from wanshi.bootstrap import Platform
from wanshi.identity.domain.oidc import SCOPE_WORDS, SENSITIVE_SCOPES
from wanshi.identity.services.oidc_provider import (
    AuthorizeStep,
    ConsentNeeded,
    Headers,
    HttpAnswer,
    HttpCall,
    LoginNeeded,
    LogoutStep,
    OidcProvider,
    Redirect,
    Refused,
    build_provider,
)
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotAuthenticated, NotFound
from wanshi.web.auth import csrf_protect, current_actor, end_session, get_platform
from wanshi.web.middleware import CSP
from wanshi.web.templating import render
from wanshi.web.web_registry import china_time

# Fields of our own forms, never handed to Authlib as protocol parameters.
FORM_ONLY = frozenset({"csrf_token", "decision", "confirm"})

protocol = APIRouter(include_in_schema=False)
interactive = APIRouter(include_in_schema=False)
account = APIRouter(prefix="/account/apps", dependencies=[Depends(csrf_protect)], include_in_schema=False)

PlatformDep = Annotated[Platform, Depends(get_platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]


def provider_of(request: Request) -> OidcProvider:
    """One provider per app, built on first use (nothing is built at import time)."""
    found: OidcProvider | None = getattr(request.app.state, "oidc_provider", None)
    if found is None:
        platform = get_platform(request)
        found = build_provider(platform.settings, platform.sealer, platform.identity)
        request.app.state.oidc_provider = found
    return found


def require_person(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    if actor.user_id is None:
        raise NotAuthenticated()
    return actor


PersonDep = Annotated[Actor, Depends(require_person)]


def _issuer(request: Request, provider: OidcProvider) -> str:
    return provider.issuer(str(request.base_url))


def _call(request: Request, issuer: str, form: Sequence[tuple[str, str]] = ()) -> HttpCall:
    query = request.url.query
    return HttpCall(
        method=request.method,
        uri=f"{issuer}{request.url.path}" + (f"?{query}" if query else ""),
        headers=Headers(list(request.headers.items())),
        query=list(request.query_params.multi_items()),
        form=[(k, v) for k, v in form if k not in FORM_ONLY],
    )


async def _form_pairs(request: Request) -> list[tuple[str, str]]:
    if request.method != "POST":
        return []
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def _json(answer: HttpAnswer) -> Response:
    body = answer.body if isinstance(answer.body, dict) else {}
    headers = {k: v for k, v in answer.headers if k.lower() != "content-type"}
    return JSONResponse(body, status_code=answer.status, headers=headers)


# --- discovery and keys ------------------------------------------------------------------------------------
@protocol.get("/.well-known/openid-configuration")
def discovery(request: Request) -> Response:
    provider = provider_of(request)
    return JSONResponse(provider.discovery(_issuer(request, provider)))


@protocol.get("/oidc/jwks")
def jwks(request: Request, platform: PlatformDep) -> Response:
    with platform.uow() as uow:
        keys = provider_of(request).jwks(uow)
    # Relying systems cache the set; a new key is published a whole overlap period before it signs.
    return JSONResponse(keys, headers={"Cache-Control": "public, max-age=3600"})


# --- token, userinfo, introspection, revocation ------------------------------------------------------------
@protocol.post("/oidc/token")
async def token(request: Request, platform: PlatformDep) -> Response:
    provider = provider_of(request)
    issuer = _issuer(request, provider)
    call = _call(request, issuer, await _form_pairs(request))

    def run() -> HttpAnswer:
        with platform.uow() as uow:
            return provider.token(uow, call, issuer)

    return _json(await run_in_threadpool(run))


# Userinfo and introspection are what relying systems call on every request they serve: plain Starlette
# routes, without FastAPI's per-request dependency solving (as the probes; see bench/identity.py). Their
# database work is one indexed read in a reader unit of work (no lock on SQLite, none waited for on
# PostgreSQL), so it runs on the event loop: handing it to the thread pool cost more than the read itself
# (threads contending for the GIL: 370 against 1,000 requests/s measured). Writes never run here.
async def userinfo(request: Request) -> Response:
    platform, provider = get_platform(request), provider_of(request)
    issuer = _issuer(request, provider)
    call = _call(request, issuer, await _form_pairs(request))

    with platform.reader() as reader:
        answer, release = provider.read_userinfo(reader, call, issuer)
    if release is not None:

        def record() -> None:
            with platform.uow() as uow:
                provider.record_release(uow, release)

        # A write may wait for SQLite's lock: never on the event loop.
        await run_in_threadpool(record)
    return _json(answer)


async def introspect(request: Request) -> Response:
    platform, provider = get_platform(request), provider_of(request)
    issuer = _issuer(request, provider)
    call = _call(request, issuer, await _form_pairs(request))

    with platform.reader() as reader:
        return _json(provider.introspect(reader, call, issuer))


# Relying systems call these on every request they serve: plain routes matched before every router (see
# web_registry.priority_routes and docs/benchmarks.md), with no dependency solving.
priority_routes = [
    Route("/oidc/userinfo", userinfo, methods=["GET", "POST"], include_in_schema=False),
    Route("/oidc/introspect", introspect, methods=["POST"], include_in_schema=False),
]


@protocol.post("/oidc/revoke")
async def revoke(request: Request, platform: PlatformDep) -> Response:
    provider = provider_of(request)
    issuer = _issuer(request, provider)
    call = _call(request, issuer, await _form_pairs(request))

    def run() -> HttpAnswer:
        with platform.uow() as uow:
            return provider.revoke(uow, call, issuer)

    return _json(await run_in_threadpool(run))


# --- authorization endpoint and consent ---------------------------------------------------------------------
def _refused_page(request: Request, refused: Refused) -> Response:
    return render(
        request,
        "identity/oidc_error.html",
        {"error": refused.error, "description": refused.description},
        status_code=400,
    )


def _consent_page(request: Request, step: ConsentNeeded, params: Sequence[tuple[str, str]]) -> Response:
    response = render(
        request,
        "identity/oidc_consent.html",
        {
            "client": step.client,
            "organisation_name": step.organisation_name,
            "scopes": [(s, SCOPE_WORDS[s], s in SENSITIVE_SCOPES) for s in step.scopes],
            "params": [(k, v) for k, v in params if k not in FORM_ONLY],
        },
    )
    # Browsers apply form-action to the redirect that follows the form: allow the system's own address.
    response.headers["content-security-policy"] = CSP.replace(
        "form-action 'self'", f"form-action 'self' {_origin(step.redirect_uri)}"
    )
    return response


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def _authorize_answer(
    request: Request, step: AuthorizeStep, params: Sequence[tuple[str, str]], *, status: int = 302
) -> Response:
    if isinstance(step, Redirect):
        return RedirectResponse(step.location, status_code=status)
    if isinstance(step, Refused):
        return _refused_page(request, step)
    if isinstance(step, LoginNeeded):
        # From the consent form too (the session ran out meanwhile): back to the request, not to the form.
        kept = step.params if step.again else params
        target = "/oidc/authorize?" + urlencode([(k, v) for k, v in kept if k not in FORM_ONLY])
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return _consent_page(request, step, params)


@interactive.get("/oidc/authorize")
def authorize(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    provider = provider_of(request)
    issuer = _issuer(request, provider)
    with platform.uow() as uow:
        step = provider.authorize(uow, _call(request, issuer), actor, issuer, decision=None)
    return _authorize_answer(request, step, list(request.query_params.multi_items()))


@interactive.post("/oidc/authorize")
async def authorize_post(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    """Either our consent form (it carries ``decision`` and is CSRF-checked) or an authorization request a
    system sent as a form post (OIDC Core 3.1.2.1), handled as the GET one."""
    provider = provider_of(request)
    issuer = _issuer(request, provider)
    pairs = await _form_pairs(request)
    fields = dict(pairs)
    decision: bool | None = None
    if "decision" in fields:
        await csrf_protect(request)
        decision = fields["decision"] == "allow"
    call = _call(request, issuer, pairs)

    def run() -> AuthorizeStep:
        with platform.uow() as uow:
            return provider.authorize(uow, call, actor, issuer, decision=decision)

    return _authorize_answer(request, await run_in_threadpool(run), pairs, status=303)


# --- RP-initiated logout ------------------------------------------------------------------------------------
@interactive.api_route("/oidc/logout", methods=["GET", "POST"])
async def logout(request: Request, platform: PlatformDep, actor: ActorDep) -> Response:
    provider = provider_of(request)
    issuer = _issuer(request, provider)
    pairs = await _form_pairs(request)
    confirmed = False
    if request.method == "POST" and dict(pairs).get("confirm") == "yes":
        # Only our own confirmation form counts as the person's answer.
        await csrf_protect(request)
        confirmed = True
    call = _call(request, issuer, pairs)

    def run() -> LogoutStep | Refused:
        with platform.uow() as uow:
            return provider.logout(uow, call, actor, issuer, confirmed=confirmed)

    step = await run_in_threadpool(run)
    if isinstance(step, Refused):
        return _refused_page(request, step)
    if step.ended:
        end_session(request)
    if step.confirm:
        params = [(k, v) for k, v in [*request.query_params.multi_items(), *pairs] if k not in FORM_ONLY]
        response = render(
            request,
            "identity/oidc_logout.html",
            {"confirm": True, "params": params, "client_name": step.client_name},
        )
        redirect = dict(params).get("post_logout_redirect_uri")
        if redirect:
            response.headers["content-security-policy"] = CSP.replace(
                "form-action 'self'", f"form-action 'self' {_origin(redirect)}"
            )
        return response
    if step.redirect:
        return RedirectResponse(step.redirect, status_code=303 if request.method == "POST" else 302)
    return render(request, "identity/oidc_logout.html", {"confirm": False, "client_name": step.client_name})


# --- the person's authorised systems (账户 → 已授权的应用) ---------------------------------------------
@account.get("")
def apps_page(request: Request, platform: PlatformDep, actor: PersonDep) -> Response:
    with platform.uow() as uow:
        consents = provider_of(request).oidc.list_consents(uow, actor)
    return render(
        request,
        "identity/oidc_apps.html",
        {
            "consents": consents,
            "scope_words": SCOPE_WORDS,
            "china_time": china_time,
            "done": request.query_params.get("done") == "revoked",
        },
    )


@account.post("/{client_id}/revoke")
def revoke_consent(request: Request, client_id: str, platform: PlatformDep, actor: PersonDep) -> Response:
    try:
        with platform.uow() as uow:
            provider_of(request).oidc.revoke_consent(uow, client_id, actor)
    except NotFound:
        pass  # already withdrawn (a second click): the list shows the truth
    return RedirectResponse(f"/account/apps?{urlencode({'done': 'revoked'})}", status_code=303)


routers = [protocol, interactive, account]
