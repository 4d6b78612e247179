"""Rules of the OpenID Connect provider: scopes and what each discloses, redirect URIs, client kinds,
signing-key lifecycle and the claims about a person. Pure Python.

Only the authorization code flow with PKCE (S256) exists here: no implicit flow, no plain PKCE.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from wanshi.kernel.actor import ActorKind, Assurance, RoleGrant

ALGORITHM = "ES256"
CODE_LIFETIME = timedelta(seconds=60)
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 500


class ClientType(StrEnum):
    CONFIDENTIAL = "confidential"  # a server-side system that keeps a secret
    PUBLIC = "public"  # a browser or mobile app: no secret, PKCE alone protects the code


class Scope(StrEnum):
    OPENID = "openid"
    PROFILE = "profile"
    ORG = "org"
    ENTERPRISE = "enterprise"
    PHONE = "phone"
    IDCARD = "idcard"
    OFFLINE_ACCESS = "offline_access"


# What the person is told on the consent screen, in plain words (message ids for gettext).
SCOPE_WORDS: dict[Scope, str] = {
    Scope.OPENID: "确认您的身份：平台唯一标识、账号类型和实名认证等级",
    Scope.PROFILE: "您的姓名",
    Scope.ORG: "您的工作单位、所属行政区划和岗位角色（仅工作人员）",
    Scope.ENTERPRISE: "您当前代表办事的企业及其授予您的权限",
    Scope.PHONE: "您的手机号码",
    Scope.IDCARD: "您的身份证号码",
    Scope.OFFLINE_ACCESS: "在您离开该系统后继续保持授权（直至您退出登录或撤销授权）",
}
# Personal data a client gets only when its registration allows it and the person agrees each time it is new.
SENSITIVE_SCOPES = frozenset({Scope.PHONE, Scope.IDCARD})


class AccountType(StrEnum):
    NATURAL_PERSON = "natural_person"
    LEGAL_PERSON = "legal_person"
    STAFF = "staff"


def account_type(kind: ActorKind) -> AccountType:
    if kind is ActorKind.STAFF:
        return AccountType.STAFF
    if kind is ActorKind.ENTERPRISE:
        return AccountType.LEGAL_PERSON
    return AccountType.NATURAL_PERSON


def parse_scopes(text: str) -> frozenset[Scope]:
    """The known scopes of a space-separated list; unknown ones are dropped (RFC 6749 section 3.3)."""
    known = {s.value for s in Scope}
    return frozenset(Scope(s) for s in text.split() if s in known)


def scope_text(scopes: frozenset[Scope] | set[Scope]) -> str:
    """A canonical order, so equal sets give equal strings."""
    order = list(Scope)
    return " ".join(s.value for s in sorted(scopes, key=order.index))


def redirect_uri_problem(uri: str) -> str | None:
    """Why a redirect URI may not be registered, or None.

    HTTPS only, except plain HTTP to this machine (RFC 8252 section 7.3, for developers' own machines);
    no fragment (RFC 6749 section 3.1.2) and no user name or password in it.
    """
    if len(uri) > MAX_URI_LENGTH:
        return f"地址过长（最多 {MAX_URI_LENGTH} 个字符）"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "不是有效的网址"
    if not parts.hostname or parts.scheme not in ("https", "http"):
        return "须为完整的 https:// 网址"
    if parts.fragment or "#" in uri:
        return "不得包含 # 片段"
    if parts.username is not None or parts.password is not None:
        return "不得包含用户名或密码"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return "须使用 https（仅本机调试地址可用 http）"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- signing keys ----------------------------------------------------------------------------------------
class KeyState(StrEnum):
    NEXT = "next"  # published so relying systems cache it, not yet signing
    CURRENT = "current"  # signs new ID tokens
    RETIRING = "retiring"  # no longer signs; still published so tokens it signed verify
    RETIRED = "retired"  # withdrawn from the key set


@dataclass(frozen=True)
class KeyTimes:
    kid: str
    created_at: datetime
    activates_at: datetime
    retires_at: datetime | None
    published_until: datetime | None

    def state(self, now: datetime) -> KeyState:
        if now < self.activates_at:
            return KeyState.NEXT
        if self.retires_at is None or now < self.retires_at:
            return KeyState.CURRENT
        if self.published_until is None or now < self.published_until:
            return KeyState.RETIRING
        return KeyState.RETIRED


@dataclass(frozen=True)
class RotationPlan:
    """What one run of the rotation does: the new key's activation, and when the current key retires."""

    activates_at: datetime
    current_retires_at: datetime | None
    current_published_until: datetime | None


def plan_rotation(
    keys: list[KeyTimes], now: datetime, *, rotation: timedelta, overlap: timedelta, force: bool
) -> RotationPlan | None:
    """None when nothing is due. The first key signs at once; a successor is published ``overlap`` ahead of
    taking over, so every relying system has fetched it first, and the old key stays published for
    ``overlap`` after it stops signing, so every ID token it signed still verifies until it has expired."""
    states = {k.kid: k.state(now) for k in keys}
    current = [k for k in keys if states[k.kid] is KeyState.CURRENT]
    if not current:
        return RotationPlan(now, None, None)
    if any(s is KeyState.NEXT for s in states.values()):
        return None
    newest = max(current, key=lambda k: k.activates_at)
    if not force and now < newest.activates_at + rotation - overlap:
        return None
    activates = now + overlap
    return RotationPlan(activates, activates, activates + overlap)


# --- claims ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subject:
    """Everything the provider may say about a person; what it does say depends on the scopes."""

    public_id: str
    kind: ActorKind
    display_name: str
    assurance: Assurance | None
    organisation_id: int | None = None
    organisation_name: str | None = None
    division_code: str | None = None
    grants: tuple[RoleGrant, ...] = ()
    legal_person_id: int | None = None
    delegated_scopes: frozenset[str] = frozenset()
    # Filled by an extension (credit code, name of the enterprise) when the enterprise context provides it.
    enterprise_extra: dict[str, Any] = field(default_factory=dict)
    phone: str | None = None
    id_number: str | None = None


def assurance_level(subject: Subject) -> str:
    return (subject.assurance or Assurance.REGISTERED).value


def claims_for(subject: Subject, scopes: frozenset[Scope]) -> dict[str, Any]:
    """The userinfo claims (also put in the ID token) for these granted scopes."""
    claims: dict[str, Any] = {
        "sub": subject.public_id,
        "acct_type": account_type(subject.kind).value,
        "assurance_level": assurance_level(subject),
    }
    if Scope.PROFILE in scopes:
        claims["name"] = subject.display_name
    if Scope.ORG in scopes and subject.kind is ActorKind.STAFF:
        claims["organisation_id"] = subject.organisation_id
        claims["organisation_name"] = subject.organisation_name
        claims["division_code"] = subject.division_code
        claims["roles"] = [
            {"role": g.role.value, "organisation_id": g.organisation_id, "division_code": g.division_code}
            for g in subject.grants
        ]
    if Scope.ENTERPRISE in scopes and subject.legal_person_id is not None:
        claims["enterprise"] = {
            "legal_person_id": subject.legal_person_id,
            "delegated_scopes": sorted(subject.delegated_scopes),
            **subject.enterprise_extra,
        }
    if Scope.PHONE in scopes and subject.phone:
        claims["phone_number"] = subject.phone
        # Numbers are registered with an SMS code: holding the number was proven.
        claims["phone_number_verified"] = True
    if Scope.IDCARD in scopes and subject.id_number:
        claims["id_number"] = subject.id_number
    return claims


# --- relying systems and consents ------------------------------------------------------------------------
@dataclass(frozen=True)
class OidcClient:
    id: int
    client_id: str
    name: str
    description: str
    organisation_id: int
    division_code: str
    client_type: ClientType
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    allowed_scopes: frozenset[Scope]
    active: bool
    created_by: str
    created_at: datetime
    secret_rotated_at: datetime | None
    disabled_at: datetime | None

    @property
    def scope_list(self) -> list[Scope]:
        return [Scope(s) for s in scope_text(self.allowed_scopes).split()]


@dataclass(frozen=True)
class Consent:
    client_id: str
    client_name: str
    organisation_id: int
    scopes: frozenset[Scope]
    granted_at: datetime

    @property
    def scope_list(self) -> list[Scope]:
        return [Scope(s) for s in scope_text(self.scopes).split()]
