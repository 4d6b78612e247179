"""Logging in, factor by factor, for every kind of account, and scan-to-login (扫码登录).

A login use case either finishes (a server-side session is started) or says which second factor is still
owed. Failures of any factor count towards the lockout (等保: 登录失败处理). Every outcome is audited:
``identity.login`` (success, failure, locked), ``identity.second_factor``, ``identity.account.locked``,
``identity.login.new_device``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from wanshi.identity import policies
from wanshi.identity.domain import Account
from wanshi.identity.domain.login import Factor, OtpPurpose, QrStatus, new_token, session_methods
from wanshi.identity.passwords import Passwords
from wanshi.identity.repository import get_user_row, update_user
from wanshi.identity.repository import login as repo
from wanshi.identity.services.factors import Factors, SentCode
from wanshi.identity.services.sessions import Sessions, StartedSession, notify_new_device
from wanshi.infra.crypto import Sealer, token_digest
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import ANONYMOUS, Actor, ActorKind
from wanshi.kernel.errors import NotAuthenticated, NotFound, TooManyRequests, ValidationFailed
from wanshi.kernel.identifiers import InvalidResidentId, validate_resident_id

ID_CONTEXT = "id_number"
THROTTLE_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginContext:
    source_address: str
    user_agent: str
    device_token: str | None


@dataclass(frozen=True)
class Done:
    actor: Actor
    session: StartedSession


@dataclass(frozen=True)
class SecondFactorOwed:
    user_id: int
    first: Factor
    totp: bool  # the account has TOTP on
    sms: bool  # the account has a phone number
    must_enrol: bool  # staff with neither: bind a TOTP app now (首次登录绑定)


LoginStep = Done | SecondFactorOwed


@dataclass(frozen=True)
class QrStart:
    token: str  # in the QR code
    poll_secret: str  # kept by the desktop browser only


@dataclass(frozen=True)
class QrRequest:
    """What the approving phone is shown."""

    status: QrStatus
    desktop_address: str
    desktop_agent: str
    created_at: Any


class Login:
    def __init__(
        self,
        passwords: Passwords,
        sealer: Sealer,
        sessions: Sessions,
        factors: Factors,
        *,
        max_failures: int,
        lockout: timedelta,
        qr_ttl: timedelta,
        source_limit: int,
    ) -> None:
        self.passwords = passwords
        self.sealer = sealer
        self.sessions = sessions
        self.factors = factors
        self.max_failures = max_failures
        self.lockout = lockout
        self.qr_ttl = qr_ttl
        self.source_limit = source_limit

    # --- who is it --------------------------------------------------------------------------------------
    def find_row(self, uow: UnitOfWork, identifier: str) -> Any:
        """A username, a mobile number or a resident ID number."""
        text = identifier.strip()
        try:
            phone = self.factors.parse_phone(text)
        except ValidationFailed:
            phone = None
        if phone is not None:
            return repo.user_row_by(uow.session, "phone_digest", self.factors.phone_digest(phone))
        try:
            id_number = validate_resident_id(text).value
        except InvalidResidentId:
            return repo.user_row_by(uow.session, "username", text.lower())
        return repo.user_row_by(
            uow.session, "id_number_digest", self.sealer.digest(id_number, context=ID_CONTEXT)
        )

    # --- the password ------------------------------------------------------------------------------------
    def check_password(self, uow: UnitOfWork, identifier: str, password: str, source: str = "") -> Account:
        """The password factor alone, with lockout; commits the failure count either way.

        ``source``: the client's address, for throttling many failures from one place across accounts;
        empty for local callers (scripts, benchmarks)."""
        self._throttle(uow, identifier, source)
        row = self.find_row(uow, identifier)
        if self._locked(row):
            self.passwords.verify(None, password)  # same time as a real check
            uow.audit(
                _named(identifier),
                "identity.login",
                outcome="locked",
                object_type="user",
                object_id=row.id,
                tenant=row.division_code or "",
            )
            uow.commit()
            raise NotAuthenticated("登录失败次数过多，账号已临时锁定，请稍后再试", code="account_locked")
        if row is None or not row.active or not self.passwords.verify(row.password_hash, password):
            self._fail(uow, row, identifier, "identity.login", Factor.PASSWORD, source)
            raise NotAuthenticated("账号或密码错误", code="bad_credentials")
        if self.passwords.needs_rehash(row.password_hash):
            update_user(uow.session, row.id, {"password_hash": self.passwords.hash(password)})
        return repo.account_from_row(uow.session, row)

    def with_password(self, uow: UnitOfWork, identifier: str, password: str, ctx: LoginContext) -> LoginStep:
        account = self.check_password(uow, identifier, password, ctx.source_address)
        if account.kind is ActorKind.STAFF or account.totp_enabled:
            uow.commit()
            return SecondFactorOwed(
                account.id,
                Factor.PASSWORD,
                totp=account.totp_enabled,
                sms=account.phone_masked is not None,
                must_enrol=account.kind is ActorKind.STAFF
                and not account.totp_enabled
                and account.phone_masked is None,
            )
        return self.finish(uow, account, (Factor.PASSWORD,), ctx)

    # --- second factors ----------------------------------------------------------------------------------
    def second_factor_totp(
        self, uow: UnitOfWork, owed: SecondFactorOwed, code: str, ctx: LoginContext
    ) -> Done:
        row = self._live_row(uow, owed.user_id)
        if not self.factors.check_totp(uow, row, code):
            self._fail(uow, row, row.username, "identity.second_factor", Factor.TOTP, ctx.source_address)
            raise NotAuthenticated("动态口令不正确或已使用", code="totp_wrong")
        return self.finish(uow, repo.account_from_row(uow.session, row), (owed.first, Factor.TOTP), ctx)

    def enrol_totp_and_finish(
        self, uow: UnitOfWork, owed: SecondFactorOwed, secret: str, code: str, ctx: LoginContext
    ) -> Done:
        """First login of staff without any second factor: binding the app is the second factor."""
        row = self._live_row(uow, owed.user_id)
        if row.totp_enabled_at is not None:
            raise ValidationFailed("已绑定动态口令，请输入动态口令", code="totp_already_enrolled")
        account = repo.account_from_row(uow.session, row)
        try:
            self.factors.enrol_totp(uow, account.id, secret, code, account.to_actor())
        except ValidationFailed:
            self._fail(uow, row, row.username, "identity.second_factor", Factor.TOTP, ctx.source_address)
            raise
        return self.finish(uow, account, (owed.first, Factor.TOTP), ctx)

    def send_second_factor_sms(self, uow: UnitOfWork, owed: SecondFactorOwed, ctx: LoginContext) -> SentCode:
        row = self._live_row(uow, owed.user_id)
        if row.phone_sealed is None:
            raise ValidationFailed("账号未登记手机号码", code="no_phone")
        phone = self.sealer.unseal(row.phone_sealed, context="phone")
        return self.factors.send_code(
            uow,
            OtpPurpose.SECOND_FACTOR,
            phone,
            user_id=int(row.id),
            source_address=ctx.source_address,
            deliver=True,
        )

    def second_factor_sms(
        self, uow: UnitOfWork, owed: SecondFactorOwed, challenge: str, code: str, ctx: LoginContext
    ) -> Done:
        row = self._live_row(uow, owed.user_id)
        try:
            passed = self.factors.check_code(uow, challenge, code, OtpPurpose.SECOND_FACTOR)
        except NotAuthenticated:
            self._fail(uow, row, row.username, "identity.second_factor", Factor.SMS, ctx.source_address)
            raise
        if passed.user_id != int(row.id):
            raise NotAuthenticated("验证码已失效，请重新获取", code="otp_expired")
        return self.finish(uow, repo.account_from_row(uow.session, row), (owed.first, Factor.SMS), ctx)

    # --- SMS code alone (people only) -------------------------------------------------------------------
    def send_login_sms(self, uow: UnitOfWork, raw_phone: str, ctx: LoginContext) -> SentCode:
        return self.send_code_to_person(uow, OtpPurpose.LOGIN, raw_phone, ctx)

    def send_code_to_person(
        self, uow: UnitOfWork, purpose: OtpPurpose, raw_phone: str, ctx: LoginContext
    ) -> SentCode:
        """A code to a person's registered number; to any other number nothing, with the same answer."""
        phone = self.factors.parse_phone(raw_phone)
        row = repo.user_row_by(uow.session, "phone_digest", self.factors.phone_digest(phone))
        usable = row is not None and row.active and row.kind == ActorKind.CITIZEN.value
        return self.factors.send_code(
            uow,
            purpose,
            phone,
            user_id=int(row.id) if usable else None,
            source_address=ctx.source_address,
            deliver=usable,
        )

    def with_sms(self, uow: UnitOfWork, challenge: str, code: str, ctx: LoginContext) -> LoginStep:
        passed = self.factors.check_code(uow, challenge, code, OtpPurpose.LOGIN)
        if passed.user_id is None:
            raise NotAuthenticated("验证码不正确", code="otp_wrong")
        row = self._live_row(uow, passed.user_id)
        if self._locked(row):
            raise NotAuthenticated("登录失败次数过多，账号已临时锁定，请稍后再试", code="account_locked")
        account = repo.account_from_row(uow.session, row)
        if account.totp_enabled:
            uow.commit()
            return SecondFactorOwed(account.id, Factor.SMS, totp=True, sms=False, must_enrol=False)
        return self.finish(uow, account, (Factor.SMS,), ctx)

    # --- scan to log in ----------------------------------------------------------------------------------
    def start_qr(self, uow: UnitOfWork, ctx: LoginContext) -> QrStart:
        token, poll = new_token(), new_token()
        now = clock.now()
        repo.add_qr(
            uow.session,
            {
                "id": token_digest(token),
                "poll_digest": token_digest(poll),
                "status": QrStatus.PENDING.value,
                "desktop_address": ctx.source_address[:64],
                "desktop_agent": ctx.user_agent[:200],
                "created_at": now,
                "expires_at": now + self.qr_ttl,
            },
        )
        uow.commit()
        return QrStart(token, poll)

    def view_qr(self, uow: UnitOfWork, token: str, actor: Actor) -> QrRequest:
        uow.authorize(policies.can_approve_qr(actor), actor, "identity.qr.view")
        row = self._live_qr(uow, token)
        return QrRequest(QrStatus(row.status), row.desktop_address, row.desktop_agent, row.created_at)

    def decide_qr(self, uow: UnitOfWork, token: str, approve: bool, actor: Actor) -> None:
        """The phone's answer. Staff may approve only from a session that itself passed two factors."""
        uow.authorize(policies.can_approve_qr(actor), actor, "identity.qr.decide")
        row = self._live_qr(uow, token)
        status = QrStatus.APPROVED if approve else QrStatus.DENIED
        moved = repo.decide_qr(
            uow.session,
            row.id,
            QrStatus.PENDING.value,
            {"status": status.value, "user_id": actor.user_id, "decided_at": clock.now()},
        )
        if not moved:
            raise ValidationFailed("该二维码已处理", code="qr_already_decided")
        uow.audit(
            actor,
            "identity.qr.decide",
            object_type="user",
            object_id=actor.user_id or "",
            outcome="success" if approve else "denied_by_user",
            detail={"desktop_address": row.desktop_address},
        )
        uow.commit()

    def poll_qr(self, uow: UnitOfWork, token: str, poll_secret: str, ctx: LoginContext) -> QrStatus | Done:
        """The desktop asks; only the browser that holds the poll secret can take the session."""
        row = repo.get_qr(uow.session, token_digest(token))
        if row is None or row.poll_digest != token_digest(poll_secret):
            raise NotFound("二维码不存在或已失效")
        if clock.as_utc(row.expires_at) <= clock.now() and row.status == QrStatus.PENDING.value:
            raise NotAuthenticated("二维码已过期，请刷新", code="qr_expired")
        status = QrStatus(row.status)
        if status is not QrStatus.APPROVED:
            return status
        if not repo.decide_qr(
            uow.session, row.id, QrStatus.APPROVED.value, {"status": QrStatus.CONSUMED.value}
        ):
            raise NotAuthenticated("二维码已使用", code="qr_consumed")
        account_row = self._live_row(uow, int(row.user_id))
        account = repo.account_from_row(uow.session, account_row)
        factors: tuple[Factor, ...] = (Factor.QR,)
        if account.kind is ActorKind.STAFF:
            # The approving session passed two factors (policy); the desktop inherits that strength.
            factors = (Factor.QR, Factor.TOTP)
        return self.finish(uow, account, factors, ctx)

    # --- shared steps -------------------------------------------------------------------------------------
    def finish(
        self, uow: UnitOfWork, account: Account, factors: tuple[Factor, ...], ctx: LoginContext
    ) -> Done:
        methods = session_methods(*factors)
        started = self.sessions.start(
            uow,
            account.id,
            methods,
            source_address=ctx.source_address,
            user_agent=ctx.user_agent,
            device_token=ctx.device_token,
        )
        now = clock.now()
        update_user(
            uow.session, account.id, {"failed_login_count": 0, "locked_until": None, "last_login_at": now}
        )
        actor = account.to_actor(session_id=started.session_id, auth_methods=methods)
        uow.audit(
            actor,
            "identity.login",
            object_type="user",
            object_id=account.id,
            tenant=account.division_code or "",
            detail={"method": " ".join(methods)},
        )
        if started.new_device:
            uow.audit(
                actor,
                "identity.login.new_device",
                object_type="user",
                object_id=account.id,
                tenant=account.division_code or "",
                detail={"user_agent": ctx.user_agent[:80]},
            )
            notify_new_device(uow, account.id, ctx.user_agent, ctx.source_address)
        uow.commit()
        return Done(actor, started)

    def _throttle(self, uow: UnitOfWork, identifier: str, source: str) -> None:
        if not source:
            return
        since = clock.now() - THROTTLE_WINDOW
        if repo.login_failures_since(uow.session, source, since) >= self.source_limit:
            uow.audit(_named(identifier), "identity.login", outcome="throttled", detail={"source": source})
            uow.commit()
            raise TooManyRequests("该网络地址登录失败次数过多，请 15 分钟后再试", code="login_throttled")

    def _fail(
        self, uow: UnitOfWork, row: Any, identifier: str, action: str, factor: Factor, source: str
    ) -> None:
        if source:
            repo.add_login_failure(uow.session, source, clock.now())
        if row is not None:
            failures = int(row.failed_login_count) + 1
            values: dict[str, object] = {"failed_login_count": failures}
            if failures >= self.max_failures:
                values.update(failed_login_count=0, locked_until=clock.now() + self.lockout)
                uow.audit(
                    _named(identifier),
                    "identity.account.locked",
                    object_type="user",
                    object_id=row.id,
                    tenant=row.division_code or "",
                    detail={"failures": failures},
                )
            update_user(uow.session, row.id, values)
        uow.audit(
            _named(identifier),
            action,
            outcome="failure",
            object_type="user",
            object_id=row.id if row is not None else "",
            tenant=(row.division_code or "") if row is not None else "",
            detail={"method": factor.value},
        )
        uow.commit()

    @staticmethod
    def _locked(row: Any) -> bool:
        return (
            row is not None and row.locked_until is not None and clock.as_utc(row.locked_until) > clock.now()
        )

    def _live_row(self, uow: UnitOfWork, user_id: int) -> Any:
        row = get_user_row(uow.session, user_id=user_id)
        if row is None or not row.active:
            raise NotAuthenticated("账号不可用", code="account_unavailable")
        if self._locked(row):
            raise NotAuthenticated("登录失败次数过多，账号已临时锁定，请稍后再试", code="account_locked")
        return row

    @staticmethod
    def _live_qr(uow: UnitOfWork, token: str) -> Any:
        row = repo.get_qr(uow.session, token_digest(token))
        if row is None or clock.as_utc(row.expires_at) <= clock.now():
            raise NotFound("二维码不存在或已过期，请在电脑上刷新")
        return row


def _named(identifier: str) -> Actor:
    """Who tried, as typed: masked if it is a phone or ID number (audit rows must not hold personal data)."""
    text = identifier.strip()[:64]
    masked = text
    if len(text) >= 11 and text[:-1].isdigit():
        masked = f"{text[:3]}****{text[-4:]}"
    return Actor(kind=ANONYMOUS.kind, username=masked)
