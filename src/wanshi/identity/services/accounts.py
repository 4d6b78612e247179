"""Accounts of natural persons: registration with real-name verification, levels of assurance, verification
in person at a counter, password recovery, and a person's own account settings (TOTP, sessions).

Levels (carried as the ``acr`` claim): registered (phone confirmed by SMS) -> real_name (name and ID number
matched in the population registry) -> in_person (document checked at a counter by a clerk).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wanshi.identity import policies
from wanshi.identity.domain import Account, password_problems
from wanshi.identity.domain.login import Factor, OtpPurpose, mask_id_number, mask_phone
from wanshi.identity.gateways import RealNameRegistry
from wanshi.identity.passwords import Passwords
from wanshi.identity.repository import add_user, get_user_row, update_user
from wanshi.identity.repository import login as repo
from wanshi.identity.services.factors import PHONE_CONTEXT, Factors, SentCode
from wanshi.identity.services.login import ID_CONTEXT, Done, Login, LoginContext
from wanshi.identity.services.sessions import Sessions
from wanshi.infra.crypto import Sealer
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind, Assurance
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed
from wanshi.kernel.identifiers import InvalidResidentId, validate_resident_id


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RegisterPerson(Command):
    name: str = Field(min_length=2, max_length=30)
    id_number: str = Field(max_length=20)
    phone: str = Field(max_length=20)
    password: str = Field(max_length=256, repr=False)
    challenge: str = Field(max_length=100, repr=False)
    code: str = Field(max_length=10, repr=False)


class RecoverPassword(Command):
    id_number: str = Field(max_length=20)
    challenge: str = Field(max_length=100, repr=False)
    code: str = Field(max_length=10, repr=False)
    new_password: str = Field(max_length=256, repr=False)


class VerifyInPerson(Command):
    id_number: str = Field(max_length=20)
    name: str = Field(min_length=2, max_length=30)


@dataclass(frozen=True)
class SubjectClaims:
    """What relying systems may receive about a subject, when their scopes allow it (OIDC)."""

    public_id: str
    phone: str | None
    id_number: str | None


class Accounts:
    def __init__(
        self,
        passwords: Passwords,
        sealer: Sealer,
        factors: Factors,
        sessions: Sessions,
        login: Login,
        registry: RealNameRegistry | None,
    ) -> None:
        self.passwords = passwords
        self.sealer = sealer
        self.factors = factors
        self.sessions = sessions
        self.login = login
        self.registry = registry

    # --- registration ---------------------------------------------------------------------------------
    def send_registration_code(self, uow: UnitOfWork, raw_phone: str, ctx: LoginContext) -> SentCode:
        phone = self.factors.parse_phone(raw_phone)
        if repo.user_row_by(uow.session, "phone_digest", self.factors.phone_digest(phone)) is not None:
            raise Conflict("该手机号码已注册，请直接登录或找回密码", field="phone", code="phone_taken")
        return self.factors.send_code(
            uow, OtpPurpose.REGISTER, phone, user_id=None, source_address=ctx.source_address, deliver=True
        )

    def register_person(self, uow: UnitOfWork, cmd: RegisterPerson, ctx: LoginContext) -> Done:
        phone = self.factors.parse_phone(cmd.phone)
        id_number = _resident_id(cmd.id_number)
        problems = password_problems(cmd.password, "")
        if id_number[-6:] in cmd.password or phone[-6:] in cmd.password:
            problems.append("密码不得包含身份证号或手机号码的片段")
        if problems:
            raise ValidationFailed("；".join(problems), field="password", code="weak_password")
        passed = self.factors.check_code(uow, cmd.challenge, cmd.code, OtpPurpose.REGISTER)
        phone_digest = self.factors.phone_digest(phone)
        if passed.phone_digest != phone_digest:
            raise ValidationFailed(
                "验证码与手机号码不匹配，请重新获取", field="code", code="otp_phone_mismatch"
            )
        id_digest = self.sealer.digest(id_number, context=ID_CONTEXT)
        if repo.user_row_by(uow.session, "id_number_digest", id_digest) is not None:
            raise Conflict(
                "该身份证号已注册，请直接登录或找回密码", field="id_number", code="id_number_taken"
            )
        if repo.user_row_by(uow.session, "phone_digest", phone_digest) is not None:
            raise Conflict("该手机号码已注册，请直接登录或找回密码", field="phone", code="phone_taken")
        assurance = self._real_name(uow, id_number, cmd.name)
        now = clock.now()
        public_id = uuid.uuid4().hex
        user_id = add_user(
            uow.session,
            {
                "username": f"p{public_id[:11]}",
                "display_name": cmd.name,
                "kind": ActorKind.CITIZEN.value,
                "public_id": public_id,
                "password_hash": self.passwords.hash(cmd.password),
                "id_number_digest": id_digest,
                "id_number_sealed": self.sealer.seal(id_number, context=ID_CONTEXT),
                "id_number_masked": mask_id_number(id_number),
                "phone_digest": phone_digest,
                "phone_sealed": self.sealer.seal(phone, context=PHONE_CONTEXT),
                "phone_masked": mask_phone(phone),
                "assurance": assurance.value,
                "assured_at": now,
                "active": True,
                "password_changed_at": now,
                "created_at": now,
                "updated_at": now,
            },
        )
        account = repo.account_from_row(uow.session, get_user_row(uow.session, user_id=user_id))
        uow.audit(
            account.to_actor(),
            "identity.user.register",
            object_type="user",
            object_id=user_id,
            detail={"assurance": assurance.value},
        )
        return self.login.finish(uow, account, (Factor.SMS, Factor.PASSWORD), ctx)

    def _real_name(self, uow: UnitOfWork, id_number: str, name: str) -> Assurance:
        """Refuses a name that the registry says does not belong to the number; no answer leaves L1."""
        if self.registry is None:
            return Assurance.REGISTERED
        answer = self.registry.verify_person(uow, id_number, name)
        if answer.verdict == "mismatch":
            raise ValidationFailed(answer.message, field="name", code=f"real_name_{answer.code}")
        return Assurance.REAL_NAME if answer.verdict == "match" else Assurance.REGISTERED

    def retry_real_name(self, uow: UnitOfWork, actor: Actor) -> Account:
        """A person registered while the registry could not answer asks again from their account page."""
        uow.authorize(policies.can_manage_own_account(actor), actor, "identity.assurance.real_name")
        row = self._own_row(uow, actor)
        current = Assurance(row.assurance) if row.assurance else Assurance.REGISTERED
        if row.id_number_sealed is None or current.rank >= Assurance.REAL_NAME.rank:
            return repo.account_from_row(uow.session, row)
        id_number = self.sealer.unseal(row.id_number_sealed, context=ID_CONTEXT)
        assurance = self._real_name(uow, id_number, row.display_name)
        if assurance is Assurance.REAL_NAME:
            self._raise_assurance(uow, row, assurance, actor)
        uow.commit()
        return repo.account_from_row(uow.session, get_user_row(uow.session, user_id=int(row.id)))

    def verify_in_person(self, uow: UnitOfWork, cmd: VerifyInPerson, actor: Actor) -> Account:
        uow.authorize(policies.can_verify_in_person(actor), actor, "identity.assurance.in_person")
        id_number = _resident_id(cmd.id_number)
        row = repo.user_row_by(
            uow.session, "id_number_digest", self.sealer.digest(id_number, context=ID_CONTEXT)
        )
        if row is None:
            raise NotFound("该身份证号尚未注册账号，请先指导群众注册", code="account_not_registered")
        if row.display_name != cmd.name:
            raise ValidationFailed("姓名与账号登记的不一致", field="name", code="name_mismatch")
        self._raise_assurance(uow, row, Assurance.IN_PERSON, actor)
        uow.commit()
        return repo.account_from_row(uow.session, get_user_row(uow.session, user_id=int(row.id)))

    def _raise_assurance(self, uow: UnitOfWork, row: Any, level: Assurance, actor: Actor) -> None:
        update_user(uow.session, row.id, {"assurance": level.value, "assured_at": clock.now()})
        uow.audit(
            actor,
            "identity.assurance.raise",
            object_type="user",
            object_id=row.id,
            tenant=actor.division_code or "",
            detail={"from": row.assurance, "to": level.value},
        )

    # --- recovery -------------------------------------------------------------------------------------
    def send_recovery_code(self, uow: UnitOfWork, raw_phone: str, ctx: LoginContext) -> SentCode:
        return self.login.send_code_to_person(uow, OtpPurpose.RECOVER, raw_phone, ctx)

    def recover_password(self, uow: UnitOfWork, cmd: RecoverPassword) -> None:
        """Phone (the code) and ID number together; staff recover through their security administrator."""
        passed = self.factors.check_code(uow, cmd.challenge, cmd.code, OtpPurpose.RECOVER)
        row = get_user_row(uow.session, user_id=passed.user_id) if passed.user_id is not None else None
        id_number = _resident_id(cmd.id_number)
        if row is None or row.id_number_digest != self.sealer.digest(id_number, context=ID_CONTEXT):
            uow.commit()
            raise ValidationFailed(
                "身份证号与该手机号码登记的账号不符", field="id_number", code="recovery_mismatch"
            )
        problems = password_problems(cmd.new_password, "")
        if problems:
            raise ValidationFailed("；".join(problems), field="new_password", code="weak_password")
        now = clock.now()
        update_user(
            uow.session,
            row.id,
            {
                "password_hash": self.passwords.hash(cmd.new_password),
                "password_changed_at": now,
                "failed_login_count": 0,
                "locked_until": None,
                "updated_at": now,
            },
        )
        ended = self.sessions.end_all(uow, int(row.id), "password_recovered")
        actor = repo.account_from_row(uow.session, row).to_actor()
        uow.audit(
            actor, "identity.password.recover", object_type="user", object_id=row.id, detail={"ended": ended}
        )
        uow.commit()

    # --- one's own account ----------------------------------------------------------------------------
    def my_account(self, uow: UnitOfWork, actor: Actor) -> Account:
        uow.authorize(policies.can_manage_own_account(actor), actor, "identity.account.view")
        return repo.account_from_row(uow.session, self._own_row(uow, actor))

    def enrol_totp(self, uow: UnitOfWork, actor: Actor, secret: str, code: str) -> None:
        uow.authorize(policies.can_manage_own_account(actor), actor, "identity.totp.enrol")
        row = self._own_row(uow, actor)
        if row.totp_enabled_at is not None:
            raise Conflict("已绑定动态口令", code="totp_already_enrolled")
        self.factors.enrol_totp(uow, int(row.id), secret, code, actor)
        uow.commit()

    def remove_totp(self, uow: UnitOfWork, actor: Actor, code: str) -> None:
        """Needs a current code; staff keep it unless a phone can carry their second factor."""
        uow.authorize(policies.can_manage_own_account(actor), actor, "identity.totp.remove")
        row = self._own_row(uow, actor)
        if row.totp_enabled_at is None:
            raise NotFound("尚未绑定动态口令")
        if row.kind == ActorKind.STAFF.value and row.phone_sealed is None:
            raise ValidationFailed(
                "工作人员须保留第二种登录方式，请先登记手机号码", code="second_factor_required"
            )
        if not self.factors.check_totp(uow, row, code):
            raise ValidationFailed("动态口令不正确", field="code", code="totp_wrong")
        update_user(
            uow.session, row.id, {"totp_sealed": None, "totp_enabled_at": None, "totp_last_step": None}
        )
        uow.audit(actor, "identity.totp.remove", object_type="user", object_id=row.id)
        uow.commit()

    def subject_claims(self, uow: UnitOfWork, user_id: int) -> SubjectClaims:
        """For the OIDC provider, which decides by the client's scopes what it may hand on."""
        row = get_user_row(uow.session, user_id=user_id)
        if row is None:
            raise NotFound("账号不存在")
        return SubjectClaims(
            public_id=row.public_id or "",
            phone=self.sealer.unseal(row.phone_sealed, context=PHONE_CONTEXT) if row.phone_sealed else None,
            id_number=(
                self.sealer.unseal(row.id_number_sealed, context=ID_CONTEXT) if row.id_number_sealed else None
            ),
        )

    @staticmethod
    def _own_row(uow: UnitOfWork, actor: Actor) -> Any:
        row = get_user_row(uow.session, user_id=actor.user_id) if actor.user_id is not None else None
        if row is None:
            raise NotFound("账号不存在")
        return row


def _resident_id(raw: str) -> str:
    try:
        return validate_resident_id(raw.strip().upper()).value
    except InvalidResidentId as exc:
        raise ValidationFailed(f"身份证号码无效：{exc}", field="id_number", code="invalid_id_number") from exc
