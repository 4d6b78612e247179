"""OIDC provider services without HTTP: key rotation, consent, client ownership rules, token life.

The protocol calls go through the same provider the web layer uses, with hand-made ``HttpCall`` requests.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select

from wanshi.bootstrap import Platform
from wanshi.identity.api import CreateStaffUser
from wanshi.identity.domain.oidc import (
    KeyState,
    Scope,
    Subject,
    claims_for,
    redirect_uri_problem,
)
from wanshi.identity.services.oidc import ClientQuery, OidcService, RegisterClient, oidc_config
from wanshi.identity.services.oidc_provider import (
    ConsentNeeded,
    Headers,
    HttpCall,
    LoginNeeded,
    OidcProvider,
    Redirect,
    Refused,
    build_provider,
)
from wanshi.identity.tables.oidc import oidc_key
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind, Assurance, Role, RoleGrant
from wanshi.kernel.errors import PermissionDenied, ValidationFailed
from wanshi.org import api as org

ISSUER = "http://localhost"
REDIRECT = "https://rp.example.gov.cn/cb"
PASSWORD = "Anhui#2026pass"


@pytest.fixture
def frozen() -> Iterator[list[datetime]]:
    """A clock the test moves by hand: now[0]."""
    now = [datetime(2026, 11, 1, 2, 0, tzinfo=UTC)]
    previous = clock.set_clock(lambda: now[0])
    yield now
    clock.set_clock(previous)


@pytest.fixture
def units(platform: Platform) -> dict[str, org.Organisation]:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    made = {}
    for key, name, division in [
        ("hefei", "合肥市政务服务管理局", "340100"),
        ("yaohai", "瑶海区市场监督管理局", "340102"),
        ("wuhu", "芜湖市数据资源局", "340200"),
    ]:
        with platform.uow() as uow:
            made[key] = org.create_organisation(
                uow, org.CreateOrganisation(name=name, division_code=division), SYSTEM
            )
    return made


def _admin(unit: org.Organisation, role: Role = Role.ORG_ADMIN) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        username=f"{role.value}-{unit.id}",
        organisation_id=unit.id,
        division_code=unit.division_code,
        grants=(RoleGrant(role, unit.id, unit.division_code),),
    )


def _service(platform: Platform) -> OidcService:
    return OidcService(oidc_config(platform.settings), platform.sealer)


def _register(platform: Platform, unit: org.Organisation, actor: Actor, **changes: Any) -> Any:
    values: dict[str, Any] = {
        "organisation_id": unit.id,
        "name": "不动产登记系统",
        "redirect_uris": (REDIRECT,),
        "scopes": ("openid", "profile", "org", "offline_access"),
        **changes,
    }
    with platform.uow() as uow:
        return _service(platform).register_client(uow, RegisterClient.model_validate(values), actor)


# --- client registration and its rules ------------------------------------------------------------------
def test_org_admin_registers_for_own_organisation_only(
    platform: Platform, units: dict[str, org.Organisation]
) -> None:
    admin = _admin(units["yaohai"])
    issued = _register(platform, units["yaohai"], admin)
    assert issued.secret
    assert issued.client.client_id.startswith("ws-")
    assert issued.client.allowed_scopes == {Scope.OPENID, Scope.PROFILE, Scope.ORG, Scope.OFFLINE_ACCESS}
    with pytest.raises(PermissionDenied):
        _register(platform, units["wuhu"], admin)
    with pytest.raises(PermissionDenied):
        _register(platform, units["yaohai"], _admin(units["yaohai"], Role.CLERK))
    with platform.uow() as uow:
        rows = uow.session.execute(select(audit_entry.c.action, audit_entry.c.outcome)).all()
    assert ("identity.oidc.client.register", "success") in rows
    assert ("identity.oidc.client.register", "denied") in rows


def test_secret_is_stored_as_a_digest_and_rotation_replaces_it(
    platform: Platform, units: dict[str, org.Organisation]
) -> None:
    admin = _admin(units["hefei"])
    issued = _register(platform, units["hefei"], admin)
    with platform.uow() as uow:
        stored = uow.session.execute(select(oidc_key)).all()  # no key yet: none is made before it is needed
        from wanshi.identity.tables.oidc import oidc_client

        digest = uow.session.execute(select(oidc_client.c.secret_digest)).scalar_one()
    assert stored == []
    assert issued.secret not in digest
    assert len(digest) == 64
    with platform.uow() as uow:
        rotated = _service(platform).rotate_client_secret(uow, issued.client.client_id, admin)
    assert rotated.secret
    assert rotated.secret != issued.secret


def test_data_bureau_sees_and_disables_but_cannot_take_a_secret(
    platform: Platform, units: dict[str, org.Organisation]
) -> None:
    mine = _register(platform, units["yaohai"], _admin(units["yaohai"]))
    _register(platform, units["wuhu"], _admin(units["wuhu"]), name="芜湖的系统")
    bureau = Actor(
        kind=ActorKind.STAFF,
        username="hefei-bureau",
        grants=(RoleGrant(Role.SYS_ADMIN, units["hefei"].id, "340100"),),
    )
    service = _service(platform)
    with platform.uow() as uow:
        seen, total = service.list_clients(uow, ClientQuery(), bureau)
    assert total == 1
    assert seen[0].client_id == mine.client.client_id
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        service.rotate_client_secret(uow, mine.client.client_id, bureau)
    with platform.uow() as uow:
        disabled = service.disable_client(uow, mine.client.client_id, bureau)
    assert disabled.active is False
    assert disabled.disabled_at is not None
    # Another organisation's administrator sees nothing of it.
    with platform.uow() as uow:
        others, _ = service.list_clients(uow, ClientQuery(), _admin(units["wuhu"]))
    assert [c.name for c in others] == ["芜湖的系统"]
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        service.get_client(uow, mine.client.client_id, _admin(units["wuhu"]))


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://rp.example.gov.cn/cb", True),
        ("http://127.0.0.1:8080/cb", True),
        ("http://localhost/cb", True),
        ("http://rp.example.gov.cn/cb", False),
        ("https://rp.example.gov.cn/cb#frag", False),
        ("https://user:pw@rp.example.gov.cn/cb", False),
        ("javascript:alert(1)", False),
        ("/relative", False),
    ],
)
def test_redirect_uri_rules(
    platform: Platform, units: dict[str, org.Organisation], uri: str, ok: bool
) -> None:
    assert (redirect_uri_problem(uri) is None) is ok
    if not ok:
        with pytest.raises(ValidationFailed) as refused:
            _register(platform, units["hefei"], SYSTEM, redirect_uris=(uri,))
        assert refused.value.details["field"] == "redirect_uris"


# --- signing keys ---------------------------------------------------------------------------------------
def test_key_rotation_publishes_next_current_and_retiring(platform: Platform, frozen: list[datetime]) -> None:
    service = _service(platform)
    config = service.config
    with platform.uow() as uow:
        first = service.rotate_keys(uow, SYSTEM)
    with platform.uow() as uow:
        assert service.rotate_keys(uow, SYSTEM) is None  # not due
        old_key = service.signing_key(uow)
    assert old_key.kid == first
    signed_by_old = jwt.encode({"alg": "ES256", "kid": old_key.kid}, {"sub": "x"}, old_key, ["ES256"])

    frozen[0] += config.key_rotation - config.key_overlap  # due: the job schedules the successor
    with platform.uow() as uow:
        service.maintain(uow)
        uow.commit()
    with platform.uow() as uow:
        states = {times.kid: state for times, state in service.key_overview(uow, SYSTEM)}
        assert service.signing_key(uow).kid == first  # the successor is published, not yet signing
    assert sorted(states.values()) == [KeyState.CURRENT, KeyState.NEXT]
    second = next(k for k, s in states.items() if s is KeyState.NEXT)

    frozen[0] += config.key_overlap + timedelta(minutes=1)
    with platform.uow() as uow:
        service.maintain(uow)
        uow.commit()
    with platform.uow() as uow:
        assert service.signing_key(uow).kid == second
        published = service.key_set(uow)
        private = dict(uow.session.execute(select(oidc_key.c.kid, oidc_key.c.private_sealed)).all())
    assert private[first] is None  # no longer signs: its private half is gone
    # Retired from signing but still published: what it signed still verifies.
    assert jwt.decode(signed_by_old, published, algorithms=["ES256"]).claims["sub"] == "x"

    frozen[0] += config.key_overlap + timedelta(minutes=1)
    with platform.uow() as uow:
        published = service.key_set(uow)
        kids = [k["kid"] for k in service.published_keys(uow)]
    assert first not in kids
    assert second in kids
    with pytest.raises(JoseError):
        jwt.decode(signed_by_old, published, algorithms=["ES256"])


def test_forced_rotation_needs_the_system_or_a_province_administrator(
    platform: Platform, units: dict[str, org.Organisation]
) -> None:
    service = _service(platform)
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        service.rotate_keys(uow, _admin(units["hefei"], Role.SYS_ADMIN), force=True)
    province = Actor(kind=ActorKind.STAFF, username="p", grants=(RoleGrant(Role.SYS_ADMIN, 1, "340000"),))
    with platform.uow() as uow:
        assert service.rotate_keys(uow, province, force=True) is not None
    with platform.uow() as uow:
        assert service.rotate_keys(uow, province, force=True) is not None  # scheduled successor
    with platform.uow() as uow:
        assert service.rotate_keys(uow, province, force=True) is None  # one successor at a time


# --- the protocol in process: consent, code lifetime, session binding ------------------------------------
def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _get(path: str, params: dict[str, str]) -> HttpCall:
    query = list(params.items())
    return HttpCall("GET", f"{ISSUER}{path}?{urlencode(query)}", Headers([]), query)


def _post(path: str, form: dict[str, str], headers: list[tuple[str, str]] | None = None) -> HttpCall:
    return HttpCall(
        "POST",
        f"{ISSUER}{path}",
        Headers([("content-type", "application/x-www-form-urlencoded"), *(headers or [])]),
        [],
        list(form.items()),
    )


def _basic(client_id: str, secret: str) -> tuple[str, str]:
    return ("authorization", "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode())


class Flow:
    def __init__(self, platform: Platform, unit: org.Organisation, scopes: str) -> None:
        self.platform = platform
        self.provider: OidcProvider = build_provider(platform.settings, platform.sealer, platform.identity)
        issued = _register(platform, unit, SYSTEM, scopes=tuple(scopes.split()))
        self.client_id, self.secret = issued.client.client_id, issued.secret
        with platform.uow() as uow:
            staff = platform.identity.create_staff_user(
                uow,
                CreateStaffUser(
                    username="liming",
                    display_name="李明",
                    organisation_id=unit.id,
                    password=PASSWORD,
                    roles=(Role.CLERK,),
                ),
                SYSTEM,
            )
        self.user_id = staff.id
        self.actor = self.sign_in()

    def sign_in(self) -> Actor:
        with self.platform.uow() as uow:
            started = self.platform.identity.sessions.start(
                uow, self.user_id, ("pwd", "otp", "mfa"), source_address="", user_agent="t", device_token=None
            )
            uow.commit()
        with self.platform.uow() as uow:
            actor = self.platform.identity.sessions.session_actor(uow, started.session_id)
        assert actor is not None
        return actor

    def authorize(self, scope: str, decision: bool | None = None, **extra: str) -> tuple[Any, str]:
        verifier, challenge = _pkce()
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": scope,
            "redirect_uri": REDIRECT,
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        with self.platform.uow() as uow:
            if decision is None:
                step = self.provider.authorize(
                    uow, _get("/oidc/authorize", params), self.actor, ISSUER, decision=None
                )
            else:
                step = self.provider.authorize(
                    uow, _post("/oidc/authorize", params), self.actor, ISSUER, decision=decision
                )
        return step, verifier

    def code(self, scope: str) -> tuple[str, str]:
        step, verifier = self.authorize(scope, decision=True)
        assert isinstance(step, Redirect), step
        return parse_qs(urlsplit(step.location).query)["code"][0], verifier

    def token(self, form: dict[str, str]) -> Any:
        with self.platform.uow() as uow:
            return self.provider.token(
                uow, _post("/oidc/token", form, [_basic(self.client_id, self.secret or "")]), ISSUER
            )

    def exchange(self, code: str, verifier: str) -> Any:
        return self.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            }
        )

    def userinfo(self, access_token: str) -> Any:
        call = HttpCall(
            "GET", f"{ISSUER}/oidc/userinfo", Headers([("authorization", f"Bearer {access_token}")]), []
        )
        with self.platform.uow() as uow:
            return self.provider.userinfo(uow, call, ISSUER)


@pytest.fixture
def flow(platform: Platform, units: dict[str, org.Organisation]) -> Flow:
    return Flow(platform, units["hefei"], "openid profile org offline_access")


def test_consent_is_asked_once_per_scopes_and_can_be_withdrawn(flow: Flow) -> None:
    step, _ = flow.authorize("openid profile")
    assert isinstance(step, ConsentNeeded)
    assert step.scopes == [Scope.OPENID, Scope.PROFILE]
    assert step.organisation_name == "合肥市政务服务管理局"
    code, verifier = flow.code("openid profile")
    tokens = flow.exchange(code, verifier).body
    step, _ = flow.authorize("openid profile")
    assert isinstance(step, Redirect)
    assert "code=" in step.location
    step, _ = flow.authorize("openid profile org")
    assert isinstance(step, ConsentNeeded)
    assert Scope.ORG in step.scopes
    step, _ = flow.authorize("openid profile", prompt="consent")
    assert isinstance(step, ConsentNeeded)
    step, _ = flow.authorize("openid profile org", prompt="none")
    assert isinstance(step, Redirect)
    assert "error=consent_required" in step.location

    service = flow.provider.oidc
    with flow.platform.uow() as uow:
        consents = service.list_consents(uow, flow.actor)
    assert [c.client_id for c in consents] == [flow.client_id]
    assert flow.userinfo(tokens["access_token"]).status == 200
    with flow.platform.uow() as uow:
        service.revoke_consent(uow, flow.client_id, flow.actor)
    assert flow.userinfo(tokens["access_token"]).status == 401  # withdrawing ends the system's access
    step, _ = flow.authorize("openid profile")
    assert isinstance(step, ConsentNeeded)


def test_code_lives_sixty_seconds(flow: Flow, frozen: list[datetime]) -> None:
    code, verifier = flow.code("openid")
    frozen[0] += timedelta(seconds=61)
    answer = flow.exchange(code, verifier)
    assert answer.status == 400
    assert answer.body["error"] == "invalid_grant"


def test_ending_the_login_session_kills_its_tokens(flow: Flow) -> None:
    code, verifier = flow.code("openid offline_access")
    tokens = flow.exchange(code, verifier).body
    assert flow.userinfo(tokens["access_token"]).status == 200
    assert flow.actor.session_id is not None
    with flow.platform.uow() as uow:
        flow.platform.identity.sessions.end(uow, flow.actor.session_id, flow.actor, "logout")
    assert flow.userinfo(tokens["access_token"]).status == 401
    refreshed = flow.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status == 400


def test_userinfo_claims_follow_scopes_and_registration(
    flow: Flow, units: dict[str, org.Organisation]
) -> None:
    code, verifier = flow.code("openid org phone idcard")  # phone and idcard were not allowed: dropped
    answer = flow.exchange(code, verifier)
    assert answer.body["scope"] == "openid org"
    info = flow.userinfo(answer.body["access_token"]).body
    assert info["acct_type"] == "staff"
    assert info["organisation_id"] == units["hefei"].id
    assert "name" not in info
    assert "phone_number" not in info
    assert "id_number" not in info


def test_claims_for_people_and_enterprises() -> None:
    citizen = Subject(
        public_id="p1",
        kind=ActorKind.CITIZEN,
        display_name="张三",
        assurance=Assurance.REAL_NAME,
        phone="13800000000",
        id_number="340102199001011234",
    )
    assert claims_for(citizen, frozenset({Scope.OPENID})) == {
        "sub": "p1",
        "acct_type": "natural_person",
        "assurance_level": "real_name",
    }
    full = claims_for(citizen, frozenset({Scope.OPENID, Scope.PHONE, Scope.IDCARD, Scope.ORG}))
    assert full["phone_number"] == "13800000000"
    assert full["id_number"] == "340102199001011234"
    assert "roles" not in full  # org is for staff only
    agent = Subject(
        public_id="p1",
        kind=ActorKind.ENTERPRISE,
        display_name="张三",
        assurance=None,
        legal_person_id=42,
        delegated_scopes=frozenset({"tax", "licence"}),
        enterprise_extra={"credit_code": "91340100MA2XXXXX0X"},
    )
    claims = claims_for(agent, frozenset({Scope.OPENID, Scope.ENTERPRISE}))
    assert claims["acct_type"] == "legal_person"
    assert claims["assurance_level"] == "registered"
    assert claims["enterprise"] == {
        "legal_person_id": 42,
        "delegated_scopes": ["licence", "tax"],
        "credit_code": "91340100MA2XXXXX0X",
    }


def test_prompt_login_and_max_age_ask_for_a_fresh_login(flow: Flow, frozen: list[datetime]) -> None:
    flow.actor = flow.sign_in()  # a session started at the frozen time
    flow.code("openid")  # consent given, so only the login question is left
    step, _ = flow.authorize("openid", prompt="login consent")
    assert isinstance(step, LoginNeeded)
    assert step.again
    assert ("prompt", "consent") in step.params  # login dropped, or the next visit would loop
    assert ("client_id", flow.client_id) in step.params
    frozen[0] += timedelta(minutes=10)
    step, _ = flow.authorize("openid", max_age="300")
    assert isinstance(step, LoginNeeded)
    step, _ = flow.authorize("openid", max_age="3600")
    assert isinstance(step, Redirect)


def _introspect(flow: Flow, token: str, secret: str | None = None, **extra: str) -> Any:
    call = _post(
        "/oidc/introspect", {"token": token, **extra}, [_basic(flow.client_id, secret or flow.secret or "")]
    )
    with flow.platform.uow() as uow:
        return flow.provider.introspect(uow, call, ISSUER)


def _revoke(flow: Flow, token: str) -> Any:
    call = _post("/oidc/revoke", {"token": token}, [_basic(flow.client_id, flow.secret or "")])
    with flow.platform.uow() as uow:
        return flow.provider.revoke(uow, call, ISSUER)


def test_introspection_and_revocation(flow: Flow) -> None:
    code, verifier = flow.code("openid offline_access")
    tokens = flow.exchange(code, verifier).body
    active = _introspect(flow, tokens["access_token"])
    assert active.status == 200
    assert active.body["active"] is True
    assert active.body["client_id"] == flow.client_id
    assert active.body["acct_type"] == "staff"
    assert _introspect(flow, tokens["access_token"], secret="wrong").status == 401
    refresh = _introspect(flow, tokens["refresh_token"], token_type_hint="refresh_token")
    assert refresh.body["active"] is True
    assert refresh.body["token_type"] == "refresh_token"
    assert _introspect(flow, "not-a-token").body == {"active": False}

    assert _revoke(flow, tokens["access_token"]).status == 200
    assert _introspect(flow, tokens["access_token"]).body == {"active": False}
    assert flow.userinfo(tokens["access_token"]).status == 401
    refreshed = flow.token({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
    assert refreshed.status == 200  # revoking the access token leaves its refresh token
    assert _revoke(flow, refreshed.body["refresh_token"]).status == 200
    # A refresh token takes its whole family with it, including the access token issued beside it.
    assert _introspect(flow, refreshed.body["access_token"]).body == {"active": False}


def test_disabling_a_client_kills_its_tokens(flow: Flow) -> None:
    code, verifier = flow.code("openid")
    tokens = flow.exchange(code, verifier).body
    with flow.platform.uow() as uow:
        flow.provider.oidc.disable_client(uow, flow.client_id, SYSTEM)
    assert flow.userinfo(tokens["access_token"]).status == 401
    step, _ = flow.authorize("openid")
    assert isinstance(step, Refused)  # an unknown or disabled client is not sent anything


def test_maintenance_job_is_registered_and_rotates(platform: Platform) -> None:
    from wanshi.identity.services.oidc import MAINTENANCE_JOB

    assert MAINTENANCE_JOB in platform.jobs.handlers
    assert MAINTENANCE_JOB in platform.jobs.schedules
    with platform.uow() as uow:
        _service(platform).maintain(uow)
        uow.commit()
    with platform.uow() as uow:
        assert len(_service(platform).published_keys(uow)) == 1
