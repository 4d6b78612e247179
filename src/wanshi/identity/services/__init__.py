"""Identity use cases for staff: accounts, role grants, passwords and login with lockout."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from wanshi.identity import policies, repository
from wanshi.identity.domain import StaffUser, password_problems, separated_duty_conflict
from wanshi.identity.domain.login import OtpRules, SessionTimes, mask_phone
from wanshi.identity.gateways import RealNameRegistry
from wanshi.identity.passwords import Passwords
from wanshi.identity.repository import login as login_repo
from wanshi.identity.services.accounts import Accounts
from wanshi.identity.services.enterprise import Enterprises
from wanshi.identity.services.factors import PHONE_CONTEXT, Factors
from wanshi.identity.services.login import Login
from wanshi.identity.services.sessions import Sessions
from wanshi.infra.crypto import Sealer
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind, Role
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed
from wanshi.org import api as org

ROLE_NAMES = {
    Role.SYS_ADMIN: "系统管理员",
    Role.SECURITY_ADMIN: "安全管理员",
    Role.AUDIT_ADMIN: "审计管理员",
    Role.ORG_ADMIN: "单位管理员",
    Role.CLERK: "业务经办人员",
    Role.SUPERVISOR: "监督人员",
}


@dataclass(frozen=True)
class IdentityRules:
    max_failures: int
    lockout: timedelta
    session: SessionTimes
    otp: OtpRules
    qr_ttl: timedelta
    show_sandbox_codes: bool
    source_limit: int
    delegation_max_days: int


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class CreateStaffUser(Command):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    display_name: str = Field(min_length=1, max_length=60)
    organisation_id: int
    password: str | None = Field(default=None, repr=False)
    roles: tuple[Role, ...] = ()
    # For the SMS second factor; staff without one bind a TOTP app at their first login.
    phone: str | None = Field(default=None, max_length=20)


class GrantRole(Command):
    user_id: int
    role: Role
    organisation_id: int | None = None


class SetPassword(Command):
    user_id: int
    new_password: str = Field(repr=False)
    current_password: str | None = Field(default=None, repr=False)


class StaffUserSpec(Command):
    """A pack's description of a staff account: its organisation by division and name, its roles."""

    username: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    display_name: str = Field(min_length=1, max_length=60)
    division_code: str = Field(pattern=r"^\d{6}$")
    organisation: str
    roles: tuple[Role, ...] = ()
    phone: str | None = Field(default=None, max_length=20)


class StaffQuery(Command):
    q: str = ""
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


class IdentityService:
    """The identity use cases, grouped: staff administration here; login, sessions, factors and people's
    accounts in their own modules. Built once from settings (bootstrap); functions take the unit of work."""

    def __init__(
        self,
        passwords: Passwords,
        sealer: Sealer,
        rules: IdentityRules,
        registry: RealNameRegistry | None = None,
    ) -> None:
        self.passwords = passwords
        self.sealer = sealer
        self.sessions = Sessions(rules.session)
        self.factors = Factors(sealer, rules.otp, show_sandbox_codes=rules.show_sandbox_codes)
        self.login = Login(
            passwords,
            sealer,
            self.sessions,
            self.factors,
            max_failures=rules.max_failures,
            lockout=rules.lockout,
            qr_ttl=rules.qr_ttl,
            source_limit=rules.source_limit,
        )
        self.accounts = Accounts(passwords, sealer, self.factors, self.sessions, self.login, registry)
        self.enterprises = Enterprises(self.accounts, max_days=rules.delegation_max_days)

    def _phone_columns(self, raw: str) -> dict[str, str]:
        phone = self.factors.parse_phone(raw)
        return {
            "phone_digest": self.factors.phone_digest(phone),
            "phone_sealed": self.sealer.seal(phone, context=PHONE_CONTEXT),
            "phone_masked": mask_phone(phone),
        }

    def create_staff_user(self, uow: UnitOfWork, cmd: CreateStaffUser, actor: Actor) -> StaffUser:
        organisation = org.get_organisation(uow, cmd.organisation_id, _SEE_ALL)
        uow.authorize(
            policies.can_create_staff(actor, organisation.id, organisation.division_code),
            actor,
            "identity.user.create",
            object_type="user",
        )
        if repository.get_user_row(uow.session, username=cmd.username) is not None:
            raise Conflict(f"用户名 {cmd.username} 已被使用", field="username")
        password_hash = None
        if cmd.password is not None:
            _check_password(cmd.password, cmd.username)
            password_hash = self.passwords.hash(cmd.password)
        user_id = _add_staff(uow, cmd.username, cmd.display_name, organisation, password_hash, actor)
        if cmd.phone:
            repository.update_user(uow.session, user_id, self._phone_columns(cmd.phone))
        for role in cmd.roles:
            self._grant(uow, user_id, role, organisation, actor)
        uow.commit()
        return _staff_or_404(uow, user_id)

    def grant_role(self, uow: UnitOfWork, cmd: GrantRole, actor: Actor) -> StaffUser:
        target = _staff_or_404(uow, cmd.user_id)
        organisation = org.get_organisation(uow, cmd.organisation_id or target.organisation_id, _SEE_ALL)
        self._grant(uow, target.id, cmd.role, organisation, actor)
        uow.commit()
        return _staff_or_404(uow, target.id)

    def _grant(
        self, uow: UnitOfWork, user_id: int, role: Role, organisation: org.Organisation, actor: Actor
    ) -> None:
        uow.authorize(
            policies.can_grant(actor, role, organisation.id, organisation.division_code),
            actor,
            "identity.role.grant",
            object_type="user",
            object_id=user_id,
        )
        current = _staff_or_404(uow, user_id)
        held = {g.role for g in current.grants}
        clash = separated_duty_conflict(held, role)
        if clash is not None:
            raise ValidationFailed(
                f"三员分立：同一账号不能同时担任{ROLE_NAMES[clash]}和{ROLE_NAMES[role]}",
                code="separated_duties",
            )
        if any(g.role == role and g.organisation_id == organisation.id for g in current.grants):
            return
        repository.add_grant(
            uow.session,
            {
                "user_id": user_id,
                "role": role.value,
                "organisation_id": organisation.id,
                "division_code": organisation.division_code,
                "granted_by": actor.label,
                "granted_at": clock.now(),
            },
        )
        uow.audit(
            actor,
            "identity.role.grant",
            object_type="user",
            object_id=user_id,
            tenant=organisation.division_code,
            detail={"role": role.value, "organisation_id": organisation.id},
        )

    def upsert_staff_users(
        self, uow: UnitOfWork, specs: list[StaffUserSpec], actor: Actor
    ) -> tuple[int, int, int]:
        """Create missing accounts and add missing roles; never removes what an administrator added since."""
        created = updated = unchanged = 0
        for spec in specs:
            organisation = org.find_organisation(uow, spec.division_code, spec.organisation)
            row = repository.get_user_row(uow.session, username=spec.username)
            if row is None:
                uow.authorize(
                    policies.can_create_staff(actor, organisation.id, organisation.division_code),
                    actor,
                    "identity.user.create",
                    object_type="user",
                )
                user_id = _add_staff(uow, spec.username, spec.display_name, organisation, None, actor)
                created += 1
            else:
                user_id = int(row.id)
            phone_missing = spec.phone is not None and (row is None or row.phone_digest is None)
            if spec.phone is not None and phone_missing:
                repository.update_user(uow.session, user_id, self._phone_columns(spec.phone))
            held = {(g.role, g.organisation_id) for g in _staff_or_404(uow, user_id).grants}
            missing = [r for r in spec.roles if (r, organisation.id) not in held]
            for role in missing:
                self._grant(uow, user_id, role, organisation, actor)
            if row is not None:
                if missing or phone_missing:
                    updated += 1
                else:
                    unchanged += 1
        uow.commit()
        return created, updated, unchanged

    def set_initial_passwords(
        self, uow: UnitOfWork, usernames: list[str], password: str, actor: Actor
    ) -> int:
        """Give accounts that have no password yet this one (the demo's shared password); returns how many."""
        changed = 0
        for username in usernames:
            row = repository.get_user_row(uow.session, username=username)
            if row is None or row.password_hash is not None:
                continue
            uow.authorize(
                policies.can_manage_account(actor, int(row.organisation_id), row.division_code),
                actor,
                "identity.password.reset",
                object_type="user",
                object_id=row.id,
            )
            now = clock.now()
            repository.update_user(
                uow.session,
                row.id,
                {
                    "password_hash": self.passwords.hash(password),
                    "password_changed_at": now,
                    "updated_at": now,
                },
            )
            uow.audit(actor, "identity.password.reset", object_type="user", object_id=row.id)
            changed += 1
        uow.commit()
        return changed

    def revoke_role(self, uow: UnitOfWork, cmd: GrantRole, actor: Actor) -> StaffUser:
        target = _staff_or_404(uow, cmd.user_id)
        organisation = org.get_organisation(uow, cmd.organisation_id or target.organisation_id, _SEE_ALL)
        uow.authorize(
            policies.can_grant(actor, cmd.role, organisation.id, organisation.division_code),
            actor,
            "identity.role.revoke",
            object_type="user",
            object_id=target.id,
        )
        if repository.remove_grant(uow.session, target.id, cmd.role, organisation.id):
            uow.audit(
                actor,
                "identity.role.revoke",
                object_type="user",
                object_id=target.id,
                tenant=organisation.division_code,
                detail={"role": cmd.role.value, "organisation_id": organisation.id},
            )
        uow.commit()
        return _staff_or_404(uow, target.id)

    def set_password(self, uow: UnitOfWork, cmd: SetPassword, actor: Actor) -> None:
        row = repository.get_user_row(uow.session, user_id=cmd.user_id)
        if row is None:
            raise NotFound("账号不存在")
        own = actor.user_id == row.id
        if own:
            if not self.passwords.verify(row.password_hash, cmd.current_password or ""):
                raise ValidationFailed("当前密码不正确", field="current_password", code="wrong_password")
        else:
            # People recover their own password (SMS and ID number); administrators reset staff only.
            staff = row.organisation_id is not None
            uow.authorize(
                staff and policies.can_manage_account(actor, int(row.organisation_id), row.division_code),
                actor,
                "identity.password.reset",
                object_type="user",
                object_id=row.id,
            )
        _check_password(cmd.new_password, row.username)
        now = clock.now()
        values: dict[str, object] = {
            "password_hash": self.passwords.hash(cmd.new_password),
            "password_changed_at": now,
            "updated_at": now,
            "failed_login_count": 0,
            "locked_until": None,
        }
        if not own:
            # A reset means the old credentials are not trusted, the TOTP app included (a lost phone is the
            # usual reason): the next sign-in binds a new one.
            values.update(totp_sealed=None, totp_enabled_at=None, totp_last_step=None)
        repository.update_user(uow.session, row.id, values)
        # A changed password ends every other session: whoever knew the old one is out at once.
        ended = self.sessions.end_all(
            uow,
            int(row.id),
            "password_changed" if own else "password_reset",
            keep=actor.session_id if own else None,
        )
        uow.audit(
            actor,
            "identity.password.change" if own else "identity.password.reset",
            object_type="user",
            object_id=row.id,
            detail={"sessions_ended": ended},
        )
        uow.commit()

    def authenticate(self, uow: UnitOfWork, identifier: str, password: str) -> Actor:
        """The password factor alone (scripts, benchmarks): no session is started."""
        account = self.login.check_password(uow, identifier, password)
        uow.commit()
        return account.to_actor()

    def list_staff(self, uow: UnitOfWork, query: StaffQuery, actor: Actor) -> tuple[list[StaffUser], int]:
        uow.authorize(policies.can_view_staff(actor), actor, "identity.user.list")
        return repository.list_staff(
            uow.session,
            scopes=policies.staff_scopes(actor),
            q=query.q,
            limit=query.limit,
            offset=query.offset,
        )


_SEE_ALL = Actor(kind=ActorKind.SYSTEM, username="identity")


def _add_staff(
    uow: UnitOfWork,
    username: str,
    display_name: str,
    organisation: org.Organisation,
    password_hash: str | None,
    actor: Actor,
) -> int:
    now = clock.now()
    user_id = repository.add_user(
        uow.session,
        {
            "username": username,
            "display_name": display_name,
            "kind": ActorKind.STAFF.value,
            "public_id": uuid.uuid4().hex,
            "password_hash": password_hash,
            "organisation_id": organisation.id,
            "division_code": organisation.division_code,
            "active": True,
            "password_changed_at": now if password_hash else None,
            "created_at": now,
            "updated_at": now,
        },
    )
    uow.audit(
        actor,
        "identity.user.create",
        object_type="user",
        object_id=user_id,
        tenant=organisation.division_code,
        detail={"username": username, "organisation_id": organisation.id},
    )
    return user_id


def _check_password(password: str, username: str) -> None:
    problems = password_problems(password, username)
    if problems:
        raise ValidationFailed("；".join(problems), field="password", code="weak_password")


def _staff_or_404(uow: UnitOfWork, user_id: int) -> StaffUser:
    found = repository.get_staff(uow.session, user_id)
    if found is None:
        raise NotFound("账号不存在")
    return found


def load_actor(uow: UnitOfWork, user_id: int) -> Actor | None:
    """The actor of an account, person or staff, without a session: None when it is gone or disabled."""
    row = repository.get_user_row(uow.session, user_id=user_id)
    if row is None or not row.active:
        return None
    return login_repo.account_from_row(uow.session, row).to_actor()


def staff_user_ids(uow: UnitOfWork, organisation_ids: Sequence[int], roles: Sequence[Role]) -> list[int]:
    """Whom to tell about work for these organisations: a lookup for services, not a listing for people."""
    return repository.staff_user_ids(uow.session, organisation_ids, roles)
