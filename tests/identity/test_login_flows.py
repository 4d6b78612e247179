"""People's accounts and every way of logging in, through the services and the real pages.

Registration checks the name against the population registry (a generated dataset in the analytical store,
indexed as in production); SMS codes are read from the sandbox gateway after the worker delivered them,
as a phone would receive them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from signin import OPERATOR, csrf, last_sms_code, signed_in  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.datahub.datagen.legal_person import LegalPersonOptions, generate_legal_persons
from wanshi.datahub.datagen.population import PopulationOptions, generate_population
from wanshi.datahub.datagen.writers import write_to_store
from wanshi.datahub.registry import api as registry
from wanshi.identity import api as identity
from wanshi.identity.services.oidc import OidcService, RegisterClient, oidc_config
from wanshi.identity.services.upkeep import purge_login_leftovers
from wanshi.identity.tables import login_session, user
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, ActorKind, Assurance, Role
from wanshi.kernel.errors import (
    Conflict,
    NotAuthenticated,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)
from wanshi.kernel.identifiers import generate_resident_id
from wanshi.notify import api as notify
from wanshi.org import api as org
from wanshi.web.app import create_app

PASSWORD = "Qiao#Anhui2026"
CTX = identity.LoginContext(source_address="10.1.2.3", user_agent="pytest-phone", device_token=None)


@pytest.fixture
def people(platform: Platform) -> list[dict[str, Any]]:
    """A population registry of 60 generated people, indexed as the registry serves it."""
    options = PopulationOptions(rows=60, seed=11, chunk_size=60)
    write_to_store(generate_population(options), platform.datastore, "population", "t")
    entities = LegalPersonOptions(rows=20, seed=11, chunk_size=20, persons=options)
    write_to_store(generate_legal_persons(entities), platform.datastore, "legal_person", "t")
    with platform.uow() as uow:
        registry.reindex(uow, registry.Registry.build(platform.settings, platform.datastore), SYSTEM)
    rows = platform.datastore.query(
        "SELECT * FROM population WHERE defect IS NULL AND duplicate_of IS NULL ORDER BY record_id"
    ).to_pylist()
    return list(rows)


def last_code(platform: Platform) -> str:
    return str(last_sms_code(platform))


def register(platform: Platform, person: dict[str, Any], phone: str, **changes: str) -> identity.Done:
    with platform.uow() as uow:
        sent = platform.identity.accounts.send_registration_code(uow, phone, CTX)
    fields = {
        "name": person["name"],
        "id_number": person["id_number"],
        "phone": phone,
        "password": PASSWORD,
        "challenge": sent.challenge,
        "code": last_code(platform),
        **changes,
    }
    with platform.uow() as uow:
        return platform.identity.accounts.register_person(uow, identity.RegisterPerson(**fields), CTX)


def _active(people: list[dict[str, Any]]) -> dict[str, Any]:
    return people[0]


# --- registration and levels of assurance ---------------------------------------------------------
def test_registration_verifies_the_real_name_and_seals_personal_data(
    platform: Platform, people: list[dict[str, Any]]
) -> None:
    person = _active(people)
    done = register(platform, person, "13800138001")
    assert done.actor.kind is ActorKind.CITIZEN
    assert done.actor.assurance is Assurance.REAL_NAME
    assert done.actor.auth_methods == ("sms", "pwd", "mfa")
    with platform.engine.connect() as conn:
        row = conn.execute(select(user).where(user.c.id == done.actor.user_id)).one()
        stored = " ".join(str(v) for v in row)
    # Neither the ID number nor the phone number is anywhere in the row in the clear.
    assert person["id_number"] not in stored
    assert "13800138001" not in stored
    assert row.id_number_masked == f"{person['id_number'][:6]}********{person['id_number'][-4:]}"
    with platform.uow() as uow:
        claims = platform.identity.accounts.subject_claims(uow, done.actor.user_id or 0)
    assert (claims.id_number, claims.phone) == (person["id_number"], "13800138001")
    # The person logs in with the ID number, the phone or the generated username alike.
    for identifier in (person["id_number"], "138 0013 8001", done.actor.username):
        with platform.uow() as uow:
            assert platform.identity.login.with_password(uow, identifier, PASSWORD, CTX)


def test_a_name_that_is_not_the_numbers_is_refused(platform: Platform, people: list[dict[str, Any]]) -> None:
    person = _active(people)
    with pytest.raises(ValidationFailed) as refused:
        register(platform, person, "13800138002", name="张冒名")
    assert refused.value.error_code == "real_name_name_mismatch"
    with platform.engine.connect() as conn:
        assert conn.execute(select(user.c.id).where(user.c.kind == "citizen")).first() is None


def test_a_number_the_registry_does_not_hold_stays_at_registered(
    platform: Platform, people: list[dict[str, Any]]
) -> None:
    stranger = {"name": "陌生人", "id_number": generate_resident_id("340102", date(1990, 1, 1), 999)}
    done = register(platform, stranger, "13800138003")
    assert done.actor.assurance is Assurance.REGISTERED
    with pytest.raises(Conflict) as twice:
        register(platform, stranger, "13800138004")
    assert twice.value.error_code == "id_number_taken"


def test_a_counter_clerk_raises_the_level_in_person(
    platform: Platform, people: list[dict[str, Any]], clerk: Any
) -> None:
    person = _active(people)
    citizen = register(platform, person, "13800138005").actor
    cmd = identity.VerifyInPerson(id_number=person["id_number"], name=person["name"])
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        platform.identity.accounts.verify_in_person(uow, cmd, citizen)
    with platform.uow() as uow:
        account = platform.identity.accounts.verify_in_person(uow, cmd, clerk)
    assert account.assurance is Assurance.IN_PERSON


@pytest.fixture
def clerk(platform: Platform) -> Any:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    with platform.uow() as uow:
        unit = org.create_organisation(
            uow,
            org.CreateOrganisation(
                name="瑶海区数据资源管理局", division_code="340102", code="11340102MB0000001D"
            ),
            SYSTEM,
        )
    with platform.uow() as uow:
        platform.identity.create_staff_user(
            uow,
            identity.CreateStaffUser(
                username="counter1",
                display_name="窗口一",
                organisation_id=unit.id,
                password=PASSWORD,
                roles=(Role.CLERK,),
            ),
            SYSTEM,
        )
    with platform.uow() as uow:
        return platform.identity.authenticate(uow, "counter1", PASSWORD)


# --- SMS codes -------------------------------------------------------------------------------------
def test_sms_login_codes_are_single_use_limited_and_throttled(
    platform: Platform, people: list[dict[str, Any]]
) -> None:
    register(platform, _active(people), "13800138006")
    later = clock.now() + timedelta(minutes=2)
    previous = clock.set_clock(lambda: later)
    try:
        with platform.uow() as uow:
            sent = platform.identity.login.send_login_sms(uow, "13800138006", CTX)
        code = last_code(platform)
        wrong = "000000" if code != "000000" else "111111"
        with platform.uow() as uow, pytest.raises(NotAuthenticated) as bad:
            platform.identity.login.with_sms(uow, sent.challenge, wrong, CTX)
        assert bad.value.error_code == "otp_wrong"
        with platform.uow() as uow:
            done = platform.identity.login.with_sms(uow, sent.challenge, code, CTX)
        assert isinstance(done, identity.Done)
        assert done.actor.auth_methods == ("sms",)
        with platform.uow() as uow, pytest.raises(NotAuthenticated) as replay:
            platform.identity.login.with_sms(uow, sent.challenge, code, CTX)
        assert replay.value.error_code == "otp_expired"
        # Another code to the same number within a minute is refused.
        with platform.uow() as uow, pytest.raises(TooManyRequests) as soon:
            platform.identity.login.send_login_sms(uow, "13800138006", CTX)
        assert soon.value.error_code == "otp_resend_too_soon"
    finally:
        clock.set_clock(previous)


def test_an_unknown_number_gets_the_same_answer_and_no_message(platform: Platform) -> None:
    with platform.uow() as uow:
        sent = platform.identity.login.send_login_sms(uow, "13900000000", CTX)
    assert sent.challenge
    platform.worker().run_until_idle()
    with platform.uow() as uow:
        assert notify.list_sandbox_messages(uow, OPERATOR, channel=notify.Channel.SMS) == []


def test_five_wrong_codes_void_the_challenge(platform: Platform, people: list[dict[str, Any]]) -> None:
    register(platform, _active(people), "13800138007")
    later = clock.now() + timedelta(minutes=2)
    previous = clock.set_clock(lambda: later)
    try:
        with platform.uow() as uow:
            sent = platform.identity.login.send_login_sms(uow, "13800138007", CTX)
        code = last_code(platform)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(platform.settings.otp_max_attempts):
            with platform.uow() as uow, pytest.raises(NotAuthenticated):
                platform.identity.login.with_sms(uow, sent.challenge, wrong, CTX)
        with platform.uow() as uow, pytest.raises(NotAuthenticated) as void:
            platform.identity.login.with_sms(uow, sent.challenge, code, CTX)
        assert void.value.error_code == "otp_too_many_attempts"
    finally:
        clock.set_clock(previous)


# --- staff: two factors, TOTP, lockout -------------------------------------------------------------
def test_staff_bind_totp_on_first_login_and_each_code_is_good_once(platform: Platform, clerk: Any) -> None:
    with platform.uow() as uow:
        owed = platform.identity.login.with_password(uow, "counter1", PASSWORD, CTX)
    assert isinstance(owed, identity.SecondFactorOwed)
    assert owed.must_enrol
    assert not owed.totp
    secret = pyotp.random_base32(32)
    code = pyotp.TOTP(secret).at(clock.now())
    with platform.uow() as uow:
        done = platform.identity.login.enrol_totp_and_finish(uow, owed, secret, code, CTX)
    assert done.actor.auth_methods == ("pwd", "otp", "mfa")
    with platform.uow() as uow:
        owed = platform.identity.login.with_password(uow, "counter1", PASSWORD, CTX)
    assert isinstance(owed, identity.SecondFactorOwed)
    assert owed.totp
    assert not owed.must_enrol
    with platform.uow() as uow, pytest.raises(NotAuthenticated) as replay:
        platform.identity.login.second_factor_totp(uow, owed, code, CTX)
    assert replay.value.error_code == "totp_wrong"
    step = int(clock.now().timestamp()) // 30 + 1
    with platform.uow() as uow:
        assert platform.identity.login.second_factor_totp(uow, owed, pyotp.TOTP(secret).at(step * 30), CTX)


def test_wrong_second_factors_lock_the_account(platform: Platform, clerk: Any) -> None:
    with platform.uow() as uow:
        owed = platform.identity.login.with_password(uow, "counter1", PASSWORD, CTX)
    assert isinstance(owed, identity.SecondFactorOwed)
    secret = pyotp.random_base32(32)
    for _ in range(platform.settings.login_max_failures):
        with platform.uow() as uow, pytest.raises((NotAuthenticated, ValidationFailed)):
            platform.identity.login.enrol_totp_and_finish(uow, owed, secret, "000000", CTX)
    with platform.uow() as uow, pytest.raises(NotAuthenticated) as locked:
        platform.identity.login.with_password(uow, "counter1", PASSWORD, CTX)
    assert locked.value.error_code == "account_locked"
    with platform.engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit_entry.c.action).order_by(audit_entry.c.seq))]
    assert actions.count("identity.second_factor") == platform.settings.login_max_failures
    assert "identity.account.locked" in actions


# --- sessions --------------------------------------------------------------------------------------
def test_sessions_end_on_logout_idle_absolute_timeout_and_password_change(
    platform: Platform, people: list[dict[str, Any]]
) -> None:
    done = register(platform, _active(people), "13800138008")
    sessions = platform.identity.sessions
    with platform.uow() as uow:
        assert sessions.actor_for_token(uow, done.session.token) is not None
    idle = clock.now() + timedelta(minutes=platform.settings.session_idle_minutes + 1)
    previous = clock.set_clock(lambda: idle)
    try:
        with platform.uow() as uow:
            assert sessions.actor_for_token(uow, done.session.token) is None
    finally:
        clock.set_clock(previous)
    with platform.uow() as uow:
        step = platform.identity.login.with_password(uow, "13800138008", PASSWORD, CTX)
    assert isinstance(step, identity.Done)
    with platform.uow() as uow:
        other = platform.identity.login.with_password(uow, "13800138008", PASSWORD, CTX)
    assert isinstance(other, identity.Done)
    cmd = identity.SetPassword(
        user_id=step.actor.user_id or 0, new_password="Another#Pass2027", current_password=PASSWORD
    )
    with platform.uow() as uow:
        platform.identity.set_password(uow, cmd, step.actor)
    with platform.uow() as uow:
        # The session that changed the password lives on; every other one ended with it.
        assert sessions.actor_for_token(uow, step.session.token) is not None
        assert sessions.actor_for_token(uow, other.session.token) is None
    with platform.engine.connect() as conn:
        reasons = {r.ended_reason for r in conn.execute(select(login_session.c.ended_reason))}
    assert {"timeout", "password_changed"} <= reasons


def test_a_second_browser_is_a_new_device_and_is_told(
    platform: Platform, people: list[dict[str, Any]]
) -> None:
    first = register(platform, _active(people), "13800138009")
    again = identity.LoginContext("10.1.2.3", "pytest-phone", first.session.device_token)
    with platform.uow() as uow:
        platform.identity.login.with_password(uow, "13800138009", PASSWORD, again)
    elsewhere = identity.LoginContext("10.9.9.9", "another-browser", None)
    with platform.uow() as uow:
        platform.identity.login.with_password(uow, "13800138009", PASSWORD, elsewhere)
    with platform.engine.connect() as conn:
        new_devices = conn.execute(
            select(audit_entry).where(audit_entry.c.action == "identity.login.new_device")
        ).all()
    assert len(new_devices) == 1
    with platform.uow() as uow:
        inbox = notify.list_inbox(uow, first.actor)
    assert [m.title for m in inbox] == ["新设备登录提醒"]


# --- through the pages -----------------------------------------------------------------------------
@pytest.fixture
def app_client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as client:
        yield client


def test_scan_to_login_end_to_end(platform: Platform, people: list[dict[str, Any]]) -> None:
    register(platform, _active(people), "13800138010")
    app = create_app(platform)
    with TestClient(app) as desktop, TestClient(app) as phone, TestClient(app) as onlooker:
        page = desktop.get("/login/qr")
        assert page.status_code == 200
        assert '<meta http-equiv="refresh"' in page.text
        assert "<svg" in page.text
        approve_url = re.search(r"/login/qr/approve\?t=([\w-]+)", page.text)
        assert approve_url
        token = approve_url.group(1)
        # Not approved yet: the desktop keeps waiting.
        assert "扫码登录" in desktop.get("/login/qr/check").text
        signed_in(phone, "13800138010", PASSWORD)
        ask = phone.get(f"/login/qr/approve?t={token}")
        assert "pytest" in ask.text or "testclient" in ask.text
        decided = phone.post(
            "/login/qr/approve", data={"t": token, "decision": "approve", "csrf_token": csrf(ask.text)}
        )
        assert decided.status_code == 200
        # Someone who saw the QR code but does not hold the desktop's poll secret gets nothing.
        onlooker.get("/login/qr")
        assert onlooker.get("/login/qr/check", follow_redirects=False).status_code in (200, 303)
        assert onlooker.get("/account", follow_redirects=False).status_code == 303
        finished = desktop.get("/login/qr/check", follow_redirects=False)
        assert finished.status_code == 303
        account = desktop.get("/account")
        assert account.status_code == 200
        assert "13800138010"[:3] in account.text
        # The code is spent: approving it again is refused.
        again = phone.get(f"/login/qr/approve?t={token}")
        assert "该二维码已处理" in again.text
        replay = phone.post(
            "/login/qr/approve", data={"t": token, "decision": "approve", "csrf_token": csrf(again.text)}
        )
        assert replay.status_code == 422
        assert "该二维码已处理" in replay.text


def test_register_and_sms_login_pages(
    platform: Platform, people: list[dict[str, Any]], app_client: TestClient
) -> None:
    person = _active(people)
    form = app_client.get("/register")
    sent = app_client.post(
        "/register/send-code", data={"phone": "13800138011", "csrf_token": csrf(form.text)}
    )
    assert sent.status_code == 200
    code = last_code(platform)
    done = app_client.post(
        "/register",
        data={
            "phone": "13800138011",
            "code": code,
            "name": person["name"],
            "id_number": person["id_number"],
            "password": PASSWORD,
            "csrf_token": csrf(sent.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = app_client.get("/account")
    assert "实名用户" in page.text
    assert person["id_number"] not in page.text
    out = app_client.post("/logout", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert app_client.get("/account", follow_redirects=False).status_code == 303
    api = app_client.get("/api/v1/account")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "not_authenticated"


def test_a_weak_password_is_refused_in_chinese(platform: Platform, people: list[dict[str, Any]]) -> None:
    with pytest.raises(ValidationFailed) as weak:
        register(platform, _active(people), "13800138012", password="abc")
    assert weak.value.error_code == "weak_password"
    assert "密码长度至少" in weak.value.message


def test_many_failures_from_one_address_are_throttled_across_accounts(platform: Platform, clerk: Any) -> None:
    """Password spraying: one wrong password per account stays below each lockout, but not below this."""
    limit = platform.settings.login_source_max_failures
    for n in range(limit):
        with platform.uow() as uow, pytest.raises(NotAuthenticated):
            platform.identity.login.with_password(uow, f"nobody{n}", "wrong", CTX)
    with platform.uow() as uow, pytest.raises(TooManyRequests) as throttled:
        platform.identity.login.with_password(uow, "counter1", PASSWORD, CTX)
    assert throttled.value.error_code == "login_throttled"
    # Another address is not held up, and the window passes.
    elsewhere = identity.LoginContext("10.7.7.7", "pytest", None)
    with platform.uow() as uow:
        assert platform.identity.login.with_password(uow, "counter1", PASSWORD, elsewhere)
    later = clock.now() + timedelta(minutes=16)
    previous = clock.set_clock(lambda: later)
    try:
        with platform.uow() as uow:
            assert platform.identity.login.with_password(uow, "counter1", PASSWORD, CTX)
    finally:
        clock.set_clock(previous)


def test_upkeep_purges_spent_codes_and_old_sessions_only(
    platform: Platform, people: list[dict[str, Any]]
) -> None:
    done = register(platform, _active(people), "13800138013")
    with platform.uow() as uow:
        platform.identity.login.start_qr(uow, CTX)
    later = clock.now() + timedelta(days=31)
    previous = clock.set_clock(lambda: later)
    try:
        with platform.uow() as uow:
            fresh = platform.identity.login.with_password(uow, "13800138013", PASSWORD, CTX)
        with platform.uow() as uow:
            removed = purge_login_leftovers(uow)
            uow.commit()
    finally:
        clock.set_clock(previous)
    assert removed >= 3  # the registration code, the QR code, the first (long expired) session
    with platform.engine.connect() as conn:
        left = {r.id for r in conn.execute(select(login_session.c.id))}
    assert isinstance(fresh, identity.Done)
    assert left == {fresh.session.session_id}
    assert done.session.session_id not in left


def test_a_reset_by_the_administrator_also_unbinds_the_totp_app(
    platform: Platform, clerk: Any, people: list[dict[str, Any]]
) -> None:
    with platform.uow() as uow:
        owed = platform.identity.login.with_password(uow, "counter1", PASSWORD, CTX)
    assert isinstance(owed, identity.SecondFactorOwed)
    secret = pyotp.random_base32(32)
    with platform.uow() as uow:
        platform.identity.login.enrol_totp_and_finish(uow, owed, secret, pyotp.TOTP(secret).now(), CTX)
    reset = identity.SetPassword(user_id=clerk.user_id, new_password="Reset#Pass20261")
    with platform.uow() as uow:
        platform.identity.set_password(uow, reset, SYSTEM)
    with platform.uow() as uow:
        again = platform.identity.login.with_password(uow, "counter1", "Reset#Pass20261", CTX)
    assert isinstance(again, identity.SecondFactorOwed)
    assert again.must_enrol
    # A person's password is theirs to recover; an administrator cannot set it.
    citizen = register(platform, _active(people), "13800138014").actor
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        platform.identity.set_password(
            uow, identity.SetPassword(user_id=citizen.user_id or 0, new_password="Reset#Pass20262"), SYSTEM
        )


def test_recovery_needs_the_phone_and_the_id_number_and_signs_out_everywhere(
    platform: Platform, people: list[dict[str, Any]]
) -> None:
    person = _active(people)
    first = register(platform, person, "13800138015")
    later = clock.now() + timedelta(minutes=2)
    previous = clock.set_clock(lambda: later)
    try:
        with platform.uow() as uow:
            sent = platform.identity.accounts.send_recovery_code(uow, "13800138015", CTX)
        code = last_code(platform)
        other = people[1]["id_number"]
        wrong = identity.RecoverPassword(
            id_number=other, challenge=sent.challenge, code=code, new_password="Found#Again2026"
        )
        with platform.uow() as uow, pytest.raises(ValidationFailed) as refused:
            platform.identity.accounts.recover_password(uow, wrong)
        assert refused.value.error_code == "recovery_mismatch"
    finally:
        clock.set_clock(previous)
    later = clock.now() + timedelta(minutes=4)
    previous = clock.set_clock(lambda: later)
    try:
        with platform.uow() as uow:
            sent = platform.identity.accounts.send_recovery_code(uow, "13800138015", CTX)
        right = identity.RecoverPassword(
            id_number=person["id_number"],
            challenge=sent.challenge,
            code=last_code(platform),
            new_password="Found#Again2026",
        )
        with platform.uow() as uow:
            platform.identity.accounts.recover_password(uow, right)
        with platform.uow() as uow:
            assert platform.identity.sessions.actor_for_token(uow, first.session.token) is None
            assert platform.identity.login.with_password(uow, "13800138015", "Found#Again2026", CTX)
    finally:
        clock.set_clock(previous)


def test_login_pages_for_a_registered_system_allow_its_address_in_form_action(
    platform: Platform, clerk: Any, app_client: TestClient
) -> None:
    """Browsers apply form-action to the redirects after the login form: login -> authorize -> the system."""
    service = OidcService(oidc_config(platform.settings), platform.sealer)
    with platform.uow() as uow:
        issued = service.register_client(
            uow,
            RegisterClient(
                organisation_id=clerk.organisation_id,
                name="不动产登记系统",
                redirect_uris=("https://bdc.example/cb",),
            ),
            SYSTEM,
        )
    authorize = urlencode({"client_id": issued.client.client_id, "redirect_uri": "https://bdc.example/cb"})
    page = app_client.get("/login", params={"next": f"/oidc/authorize?{authorize}"})
    assert "form-action 'self' https://bdc.example;" in page.headers["content-security-policy"]
    # An address the system did not register, or no system at all, gets the plain policy.
    foreign = urlencode({"client_id": issued.client.client_id, "redirect_uri": "https://evil.example/cb"})
    for next_path in (f"/oidc/authorize?{foreign}", "/account"):
        page = app_client.get("/login", params={"next": next_path})
        assert "form-action 'self';" in page.headers["content-security-policy"]
