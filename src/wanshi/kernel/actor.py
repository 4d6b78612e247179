"""Who is acting: a staff member with role grants scoped to organisation and division, or the system."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ActorKind(StrEnum):
    ANONYMOUS = "anonymous"
    STAFF = "staff"
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    SYSTEM = "system"


class Role(StrEnum):
    # 等保 三员分立: system, security and audit administration are separate duties.
    SYS_ADMIN = "sys_admin"
    SECURITY_ADMIN = "security_admin"
    AUDIT_ADMIN = "audit_admin"
    ORG_ADMIN = "org_admin"
    CLERK = "clerk"
    SUPERVISOR = "supervisor"


SEPARATED_DUTIES = frozenset({Role.SYS_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


class Assurance(StrEnum):
    """Level of assurance of a person's identity, carried as a claim (acr) to every relying system."""

    REGISTERED = "registered"  # an account with a confirmed phone number, identity not checked
    REAL_NAME = "real_name"  # name and ID number matched in the population registry (实名核验)
    IN_PERSON = "in_person"  # identity document checked face to face at a counter (临柜核验)

    @property
    def rank(self) -> int:
        return _ASSURANCE_ORDER.index(self)


_ASSURANCE_ORDER = (Assurance.REGISTERED, Assurance.REAL_NAME, Assurance.IN_PERSON)


def division_prefix(code: str) -> str:
    """The code prefix covering a division and everything under it (340000 -> 34, 340100 -> 3401)."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def division_covers(scope_code: str, code: str) -> bool:
    return code.startswith(division_prefix(scope_code))


@dataclass(frozen=True)
class RoleGrant:
    role: Role
    organisation_id: int
    division_code: str


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    user_id: int | None = None
    username: str = ""
    display_name: str = ""
    organisation_id: int | None = None
    division_code: str | None = None
    grants: tuple[RoleGrant, ...] = field(default_factory=tuple)
    assurance: Assurance | None = None
    # The server-side login session behind a web or OIDC request; None for the system and API keys.
    session_id: str | None = None
    # How this session was authenticated (OIDC "amr" values: pwd, otp, sms, qr, mfa).
    auth_methods: tuple[str, ...] = ()
    # A person acting for an enterprise (法人办事): the legal person and the scopes they hold for it.
    legal_person_id: int | None = None
    delegated_scopes: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return self.username or self.kind.value

    def has_role(self, role: Role) -> bool:
        return any(g.role == role for g in self.grants)

    def divisions_for(self, *roles: Role) -> tuple[str, ...]:
        """Division codes in which this actor holds any of the roles."""
        return tuple(sorted({g.division_code for g in self.grants if g.role in roles}))

    def can_in_division(self, code: str, *roles: Role) -> bool:
        return any(division_covers(d, code) for d in self.divisions_for(*roles))

    def organisations_for(self, *roles: Role) -> frozenset[int]:
        return frozenset(g.organisation_id for g in self.grants if g.role in roles)


# The roles of a department's own staff, who provide its data and handle its work.
PROVIDER_ROLES = (Role.CLERK, Role.SUPERVISOR, Role.ORG_ADMIN)


def provider_organisations(actor: Actor) -> frozenset[int]:
    """The organisations for which the actor works as a department's own staff."""
    return actor.organisations_for(*PROVIDER_ROLES) if actor.kind is ActorKind.STAFF else frozenset()


def data_bureau_divisions(actor: Actor) -> tuple[str, ...]:
    """Division codes in which a staff member acts as the data bureau (数据资源局): a system administrator
    granted at the province or at a city. A county grant (no trailing 00) is not a bureau: counties have none
    of their own. The system itself is not covered here; each policy says what it may do."""
    if actor.kind is not ActorKind.STAFF:
        return ()
    return tuple(d for d in actor.divisions_for(Role.SYS_ADMIN) if d.endswith("00"))


SYSTEM = Actor(kind=ActorKind.SYSTEM, username="system", display_name="系统")
ANONYMOUS = Actor(kind=ActorKind.ANONYMOUS)
