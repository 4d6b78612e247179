"""Accounts and the password policy (等保 2.0 level 3 identification rules). Pure Python."""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime

from wanshi.kernel.actor import SEPARATED_DUTIES, Actor, ActorKind, Assurance, Role, RoleGrant

MIN_PASSWORD_LENGTH = 10
PASSWORD_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def password_problems(password: str, username: str) -> list[str]:
    """Length of at least 10, three of four character classes, and not containing the username."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码长度至少 {MIN_PASSWORD_LENGTH} 位")
    classes = sum(any(c in cls for c in password) for cls in PASSWORD_CLASSES)
    classes += any(not c.isalnum() for c in password)
    if classes < 3:
        problems.append("密码须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("密码不得包含用户名")
    return problems


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    display_name: str
    organisation_id: int
    division_code: str
    active: bool
    locked_until: datetime | None
    grants: tuple[RoleGrant, ...]

    def to_actor(self) -> Actor:
        return Actor(
            kind=ActorKind.STAFF,
            user_id=self.id,
            username=self.username,
            display_name=self.display_name,
            organisation_id=self.organisation_id,
            division_code=self.division_code,
            grants=self.grants,
        )


@dataclass(frozen=True)
class Account:
    """Any account, person or staff, as the login and account pages see it. Personal data only masked."""

    id: int
    kind: ActorKind
    username: str
    display_name: str
    public_id: str
    active: bool
    locked_until: datetime | None
    assurance: Assurance | None
    id_number_masked: str | None
    phone_masked: str | None
    totp_enabled: bool
    organisation_id: int | None
    division_code: str | None
    grants: tuple[RoleGrant, ...]

    def to_actor(
        self,
        *,
        session_id: str | None = None,
        auth_methods: tuple[str, ...] = (),
        legal_person_id: int | None = None,
        delegated_scopes: frozenset[str] = frozenset(),
    ) -> Actor:
        acting_for = legal_person_id is not None and self.kind is ActorKind.CITIZEN
        return Actor(
            kind=ActorKind.ENTERPRISE if acting_for else self.kind,
            user_id=self.id,
            username=self.username,
            display_name=self.display_name,
            organisation_id=self.organisation_id,
            division_code=self.division_code,
            grants=self.grants,
            assurance=self.assurance,
            session_id=session_id,
            auth_methods=auth_methods,
            legal_person_id=legal_person_id if acting_for else None,
            delegated_scopes=delegated_scopes if acting_for else frozenset(),
        )


def separated_duty_conflict(existing: set[Role], new: Role) -> Role | None:
    """三员分立: nobody holds two of the system, security and audit administrator roles."""
    if new not in SEPARATED_DUTIES:
        return None
    clash = (existing & SEPARATED_DUTIES) - {new}
    return next(iter(sorted(clash)), None)
