"""The OpenID Connect provider driven end to end by an independent client library over real HTTP.

pyoidc (``oic``, an OpenID-certified relying-party library) discovers the provider, builds the
authorisation request with PKCE, exchanges the code, verifies the ID token against the published JWKS,
calls userinfo and refreshes. The browser's part (login form with its second factor, consent screen) is
played with httpx against the same uvicorn server, which runs in a thread on a free port.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from oic.oic import Client as OidcClient
from oic.oic.message import AuthorizationResponse, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD
from sqlalchemy import select

from signin import csrf, sign_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.identity.services.oidc import OidcService, RegisterClient, oidc_config
from wanshi.identity.tables import login_session
from wanshi.identity.tables.oidc import oidc_token
from wanshi.infra.tables import audit_entry
from wanshi.kernel.actor import SYSTEM, Role
from wanshi.org import api as org
from wanshi.web.app import create_app

PASSWORD = "Anhui#2026pass"
REDIRECT = "https://rp.example.gov.cn/callback"
LOGGED_OUT = "https://rp.example.gov.cn/bye"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass(frozen=True)
class World:
    base: str
    platform: Platform
    client_id: str
    secret: str
    public_client_id: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def world(platform: Platform) -> Iterator[World]:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    with platform.uow() as uow:
        unit = org.create_organisation(
            uow, org.CreateOrganisation(name="合肥市政务服务管理局", division_code="340100"), SYSTEM
        )
    with platform.uow() as uow:
        platform.identity.create_staff_user(
            uow,
            _staff("wangfang", "王芳", unit.id, (Role.CLERK,)),
            SYSTEM,
        )
    service = OidcService(oidc_config(platform.settings), platform.sealer)
    with platform.uow() as uow:
        confidential = service.register_client(
            uow,
            RegisterClient(
                organisation_id=unit.id,
                name="合肥市不动产登记系统",
                redirect_uris=(REDIRECT,),
                post_logout_redirect_uris=(LOGGED_OUT,),
                scopes=("openid", "profile", "org", "offline_access"),
            ),
            SYSTEM,
        )
    with platform.uow() as uow:
        public = service.register_client(
            uow,
            RegisterClient(
                organisation_id=unit.id,
                name="皖事通移动端",
                client_type="public",
                redirect_uris=("http://127.0.0.1:9/app",),
            ),
            SYSTEM,
        )
    assert confidential.secret is not None
    assert public.secret is None
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield World(
            f"http://127.0.0.1:{port}",
            platform,
            confidential.client.client_id,
            confidential.secret,
            public.client.client_id,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _staff(username: str, name: str, organisation_id: int, roles: tuple[Role, ...]) -> Any:
    from wanshi.identity.api import CreateStaffUser

    return CreateStaffUser(
        username=username, display_name=name, organisation_id=organisation_id, password=PASSWORD, roles=roles
    )


def _rp(world: World) -> OidcClient:
    rp = OidcClient(client_authn_method=CLIENT_AUTHN_METHOD)
    rp.provider_config(world.base)
    rp.store_registration_info(  # type: ignore[no-untyped-call]
        RegistrationResponse(  # type: ignore[no-untyped-call]
            client_id=world.client_id,
            client_secret=world.secret,
            redirect_uris=[REDIRECT],
            post_logout_redirect_uris=[LOGGED_OUT],
        )
    )
    rp.redirect_uris = [REDIRECT]
    return rp


@dataclass
class Started:
    rp: OidcClient
    state: str
    nonce: str
    verifier: str
    url: str


def _start(world: World, scope: str = "openid profile org offline_access") -> Started:
    rp = _rp(world)
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    pkce, verifier = rp.add_code_challenge()  # type: ignore[no-untyped-call]
    request = rp.construct_AuthorizationRequest(  # type: ignore[no-untyped-call]
        request_args={
            "client_id": world.client_id,
            "response_type": "code",
            "scope": scope.split(),
            "nonce": nonce,
            "redirect_uri": REDIRECT,
            "state": state,
            **pkce,
        }
    )
    return Started(rp, state, nonce, verifier, request.request(rp.authorization_endpoint))


def _browser(world: World) -> httpx.Client:
    return httpx.Client(base_url=world.base, follow_redirects=False, timeout=20)


def _consent(browser: httpx.Client, page: httpx.Response, decision: str = "allow") -> httpx.Response:
    fields = dict(HIDDEN.findall(page.text))
    fields["decision"] = decision
    return browser.post("/oidc/authorize", data=fields)


def _login_and_consent(world: World, browser: httpx.Client, started: Started) -> str:
    """The browser's part: to the login page, both factors, the consent screen; returns the callback URL."""
    first = browser.get(started.url)
    assert first.status_code == 303
    assert first.headers["location"].startswith("/login?next=")
    next_path = parse_qs(urlsplit(first.headers["location"]).query)["next"][0]
    done = sign_in(browser, "wangfang", PASSWORD, next_path)
    assert done.status_code == 303, done.text[:500]
    assert done.headers["location"] == next_path
    consent = browser.get(next_path)
    assert consent.status_code == 200, consent.text[:1000]
    assert "合肥市不动产登记系统" in consent.text
    assert "合肥市政务服务管理局" in consent.text
    assert "确认您的身份" in consent.text  # each scope in plain words
    # Browsers apply the form's CSP to the redirect after it: the system's own origin is allowed.
    assert "form-action 'self' https://rp.example.gov.cn;" in consent.headers["content-security-policy"]
    back = _consent(browser, consent)
    assert back.status_code == 303
    location = back.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return str(location)


def _code_exchange(started: Started, callback: str, verifier: str | None = None) -> Any:
    response = started.rp.parse_response(
        AuthorizationResponse, info=urlsplit(callback).query, sformat="urlencoded"
    )
    assert response["state"] == started.state
    return started.rp.do_access_token_request(  # type: ignore[no-untyped-call]
        state=started.state,
        request_args={
            "code": response["code"],
            "code_verifier": verifier or started.verifier,
            "redirect_uri": REDIRECT,
        },
        authn_method="client_secret_basic",
    )


def test_full_flow_with_an_independent_client(world: World) -> None:
    started = _start(world)
    with _browser(world) as browser:
        callback = _login_and_consent(world, browser, started)
        tokens = _code_exchange(started, callback)

        # pyoidc verified the ID token's ES256 signature against /oidc/jwks, iss, aud, exp and the nonce.
        id_token = tokens["id_token"]
        assert id_token["iss"] == world.base
        assert id_token["aud"] == [world.client_id]
        assert id_token["nonce"] == started.nonce
        assert id_token["acct_type"] == "staff"
        assert id_token["acr"] == "registered"
        assert set(id_token["amr"]) >= {"pwd", "otp"}
        assert id_token["name"] == "王芳"
        assert "auth_time" in id_token
        assert "at_hash" in id_token
        header = tokens["id_token"].jws_header
        assert header["alg"] == "ES256"
        assert header["kid"]

        info = started.rp.do_user_info_request(state=started.state)  # type: ignore[no-untyped-call]
        assert "error" not in info, info.to_dict()
        assert info["sub"] == id_token["sub"]
        assert info["acct_type"] == "staff"
        assert info["assurance_level"] == "registered"
        assert info["organisation_name"] == "合肥市政务服务管理局"
        assert info["division_code"] == "340100"
        assert info["roles"] == [
            {"role": "clerk", "organisation_id": info["organisation_id"], "division_code": "340100"}
        ]
        assert "phone_number" not in info  # not allowed at registration, not asked

        # The refresh token rotates; the old one, used again, kills the whole family.
        old_refresh = tokens["refresh_token"]
        refreshed = started.rp.do_access_token_refresh(state=started.state)
        assert refreshed["access_token"] != tokens["access_token"]
        assert refreshed["refresh_token"] != old_refresh
        reuse = httpx.post(
            f"{world.base}/oidc/token",
            data={"grant_type": "refresh_token", "refresh_token": old_refresh},
            auth=(world.client_id, world.secret),
        )
        assert reuse.status_code == 400
        assert reuse.json()["error"] == "invalid_grant"
        assert _introspect(world, refreshed["access_token"])["active"] is False

        # A second sign-in needs no consent: it was remembered for these scopes.
        again = _start(world)
        answer = browser.get(again.url)
        assert answer.status_code == 302
        assert answer.headers["location"].startswith(REDIRECT + "?code=")


def _introspect(world: World, token: str) -> dict[str, Any]:
    reply = httpx.post(
        f"{world.base}/oidc/introspect", data={"token": token}, auth=(world.client_id, world.secret)
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def test_wrong_pkce_verifier_is_refused(world: World) -> None:
    started = _start(world, "openid")
    with _browser(world) as browser:
        callback = _login_and_consent(world, browser, started)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    wrong = secrets.token_urlsafe(48)
    reply = httpx.post(
        f"{world.base}/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": wrong,
        },
        auth=(world.client_id, world.secret),
    )
    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"
    missing = httpx.post(
        f"{world.base}/oidc/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=(world.client_id, world.secret),
    )
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    # The right verifier still works: a failed guess does not let an attacker burn the code.
    good = httpx.post(
        f"{world.base}/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": started.verifier,
        },
        auth=(world.client_id, world.secret),
    )
    assert good.status_code == 200
    assert "id_token" in good.json()


def test_authorisation_request_without_pkce_is_sent_back_with_an_error(world: World) -> None:
    query = urlencode(
        {"client_id": world.client_id, "response_type": "code", "scope": "openid", "redirect_uri": REDIRECT}
    )
    reply = httpx.get(f"{world.base}/oidc/authorize?{query}&state=s1", follow_redirects=False)
    assert reply.status_code == 302
    back = parse_qs(urlsplit(reply.headers["location"]).query)
    assert back["error"] == ["invalid_request"]
    assert back["state"] == ["s1"]


def test_replayed_code_is_refused_and_its_tokens_revoked(world: World) -> None:
    started = _start(world)
    with _browser(world) as browser:
        callback = _login_and_consent(world, browser, started)
    tokens = _code_exchange(started, callback)
    assert _introspect(world, tokens["access_token"])["active"] is True
    code = parse_qs(urlsplit(callback).query)["code"][0]
    replay = httpx.post(
        f"{world.base}/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": started.verifier,
        },
        auth=(world.client_id, world.secret),
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert _introspect(world, tokens["access_token"])["active"] is False
    assert _introspect(world, tokens["refresh_token"])["active"] is False
    userinfo = httpx.get(
        f"{world.base}/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.status_code == 401
    assert "invalid_token" in userinfo.headers["www-authenticate"]
    with world.platform.uow() as uow:
        actions = set(uow.session.execute(select(audit_entry.c.action)).scalars())
    assert "identity.oidc.code.replayed" in actions


def test_foreign_redirect_uri_gets_an_error_page_not_a_redirect(world: World) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "client_id": world.client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": "https://evil.example.com/steal",
            "state": "x",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    reply = httpx.get(f"{world.base}/oidc/authorize?{query}", follow_redirects=False)
    assert reply.status_code == 400
    assert "location" not in reply.headers
    assert 'href="https://evil' not in reply.text
    assert "refresh" not in reply.text
    assert 'data-testid="oidc-error"' in reply.text
    # A prefix of a registered address is foreign too: matching is exact.
    sneaky = query.replace(
        "https%3A%2F%2Fevil.example.com%2Fsteal", "https%3A%2F%2Frp.example.gov.cn%2Fcallback2"
    )
    assert httpx.get(f"{world.base}/oidc/authorize?{sneaky}", follow_redirects=False).status_code == 400


def test_logout_ends_the_web_session_and_its_tokens(world: World) -> None:
    started = _start(world)
    with _browser(world) as browser:
        callback = _login_and_consent(world, browser, started)
        tokens = _code_exchange(started, callback)
        assert browser.get("/account/apps").status_code == 200
        query = urlencode(
            {
                "id_token_hint": tokens["id_token"].jwt,
                "post_logout_redirect_uri": LOGGED_OUT,
                "state": "bye-1",
            }
        )
        reply = browser.get(f"/oidc/logout?{query}")
        assert reply.status_code == 302
        assert reply.headers["location"] == f"{LOGGED_OUT}?state=bye-1"
        # The web session is over: the account pages ask to sign in again.
        after = browser.get("/account/apps")
        assert after.status_code == 303
        assert after.headers["location"].startswith("/login")
    with world.platform.uow() as uow:
        ended = uow.session.execute(select(login_session.c.ended_reason)).scalars().all()
        revoked = uow.session.execute(select(oidc_token.c.revoked_reason)).scalars().all()
    assert ended == ["oidc_logout"]
    assert revoked == ["logout"]
    assert _introspect(world, tokens["access_token"])["active"] is False
    refresh = httpx.post(
        f"{world.base}/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(world.client_id, world.secret),
    )
    assert refresh.status_code == 400


def test_logout_with_an_unregistered_return_address_does_not_redirect(world: World) -> None:
    started = _start(world, "openid")
    with _browser(world) as browser:
        callback = _login_and_consent(world, browser, started)
        tokens = _code_exchange(started, callback)
        query = urlencode(
            {"id_token_hint": tokens["id_token"].jwt, "post_logout_redirect_uri": "https://evil.example.com/"}
        )
        reply = browser.get(f"/oidc/logout?{query}")
    assert reply.status_code == 200
    assert 'data-testid="logged-out"' in reply.text


def test_denied_consent_goes_back_with_access_denied(world: World) -> None:
    started = _start(world, "openid")
    with _browser(world) as browser:
        first = browser.get(started.url)
        next_path = parse_qs(urlsplit(first.headers["location"]).query)["next"][0]
        sign_in(browser, "wangfang", PASSWORD, next_path)
        back = _consent(browser, browser.get(next_path), decision="deny")
        # The consent form is CSRF-protected like every form.
        forged = browser.post("/oidc/authorize", data={"decision": "allow", "client_id": world.client_id})
    assert back.status_code == 303
    assert parse_qs(urlsplit(back.headers["location"]).query)["error"] == ["access_denied"]
    assert forged.status_code == 403


def test_public_client_must_use_pkce_and_no_secret(world: World) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "client_id": world.public_client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": "http://127.0.0.1:9/app",
            "state": "p",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    with _browser(world) as browser:
        first = browser.get(f"/oidc/authorize?{query}")
        next_path = parse_qs(urlsplit(first.headers["location"]).query)["next"][0]
        sign_in(browser, "wangfang", PASSWORD, next_path)
        back = _consent(browser, browser.get(next_path))
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    reply = httpx.post(
        f"{world.base}/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:9/app",
            "client_id": world.public_client_id,
            "code_verifier": verifier,
        },
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "refresh_token" not in body  # offline_access was not allowed for this client
    # A public client cannot introspect (it has no secret to authenticate with).
    denied = httpx.post(
        f"{world.base}/oidc/introspect",
        data={"token": body["access_token"], "client_id": world.public_client_id},
    )
    assert denied.status_code in (400, 401)


def test_discovery_and_jwks(world: World) -> None:
    config = httpx.get(f"{world.base}/.well-known/openid-configuration").json()
    assert config["issuer"] == world.base
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["response_types_supported"] == ["code"]
    assert config["end_session_endpoint"] == f"{world.base}/oidc/logout"
    keys = httpx.get(config["jwks_uri"]).json()["keys"]
    assert keys
    assert all(k["kty"] == "EC" and k["alg"] == "ES256" and "d" not in k for k in keys)


def test_withdrawing_consent_on_the_account_page_ends_the_systems_access(world: World) -> None:
    started = _start(world)
    with _browser(world) as browser:
        callback = _login_and_consent(world, browser, started)
        tokens = _code_exchange(started, callback)
        page = browser.get("/account/apps")
        assert "合肥市不动产登记系统" in page.text
        revoked = browser.post(
            f"/account/apps/{world.client_id}/revoke", data={"csrf_token": csrf(page.text)}
        )
        assert revoked.status_code == 303
        assert "合肥市不动产登记系统" not in browser.get("/account/apps").text
        again = browser.get(_start(world).url)
    assert _introspect(world, tokens["access_token"])["active"] is False
    assert again.status_code == 200  # consent is asked again


def test_authorization_request_may_be_a_form_post(world: World) -> None:
    started = _start(world, "openid")
    params = parse_qs(urlsplit(started.url).query)
    form = {k: v[0] for k, v in params.items()}
    with _browser(world) as browser:
        first = browser.post("/oidc/authorize", data=form)  # no CSRF token: it is not our consent form
        assert first.status_code == 303
        next_path = parse_qs(urlsplit(first.headers["location"]).query)["next"][0]
        sign_in(browser, "wangfang", PASSWORD, next_path)
        consent = browser.post("/oidc/authorize", data=form)
    assert consent.status_code == 200
    assert 'name="decision" value="allow"' in consent.text
