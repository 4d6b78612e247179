"""OpenID Connect: registering relying systems (统一开发平台), people's consents and the signing keys.

The protocol endpoints themselves are in ``oidc_provider``; this module holds what they and the developer
area share. Every use case authorises with its rule in ``policies.oidc`` and writes an audit entry.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc.jwk import ECKey, KeySet
from pydantic import BaseModel, ConfigDict, Field, field_validator

from wanshi.config import Settings
from wanshi.identity.domain.oidc import (
    ALGORITHM,
    ClientType,
    Consent,
    KeyState,
    KeyTimes,
    OidcClient,
    Scope,
    plan_rotation,
    redirect_uri_problem,
    scope_text,
)
from wanshi.identity.policies import oidc as policies
from wanshi.identity.repository import oidc as repo
from wanshi.infra.crypto import Sealer, token_digest
from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed
from wanshi.org import api as org

KEY_CONTEXT = "oidc_key:"
MAINTENANCE_JOB = "identity.oidc.maintenance"
MAINTENANCE_INTERVAL_SECONDS = 3600


@dataclass(frozen=True)
class OidcConfig:
    """From settings (see docs/configuration.md)."""

    public_url: str
    access_token_lifetime: timedelta
    refresh_token_lifetime: timedelta
    key_rotation: timedelta
    key_overlap: timedelta


def oidc_config(settings: Settings) -> OidcConfig:
    return OidcConfig(
        public_url=settings.public_url,
        access_token_lifetime=timedelta(seconds=settings.oidc_access_token_seconds),
        refresh_token_lifetime=timedelta(days=settings.oidc_refresh_token_days),
        key_rotation=timedelta(days=settings.oidc_key_rotation_days),
        key_overlap=timedelta(days=settings.oidc_key_overlap_days),
    )


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class RegisterClient(Command):
    organisation_id: int
    name: str = Field(min_length=2, max_length=80)
    description: str = Field(default="", max_length=300)
    client_type: ClientType = ClientType.CONFIDENTIAL
    redirect_uris: tuple[str, ...] = Field(min_length=1, max_length=10)
    post_logout_redirect_uris: tuple[str, ...] = Field(default=(), max_length=10)
    scopes: tuple[Scope, ...] = (Scope.OPENID, Scope.PROFILE)

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _uris(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(u.strip() for u in value if u.strip()))


class ClientQuery(Command):
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


@dataclass(frozen=True)
class IssuedClient:
    client: OidcClient
    secret: str | None  # shown once, to whoever registered or rotated it; None for a public client


class OidcService:
    def __init__(self, config: OidcConfig, sealer: Sealer) -> None:
        self.config = config
        self.sealer = sealer

    # --- relying systems -------------------------------------------------------------------------------
    def register_client(self, uow: UnitOfWork, cmd: RegisterClient, actor: Actor) -> IssuedClient:
        organisation = org.get_organisation(uow, cmd.organisation_id, _SEE_ALL)
        uow.authorize(
            policies.can_register_client(actor, organisation.id),
            actor,
            "identity.oidc.client.register",
            object_type="oidc_client",
        )
        if not cmd.redirect_uris:
            raise ValidationFailed(
                "至少登记一个回调地址", field="redirect_uris", code="redirect_uri_required"
            )
        for field in ("redirect_uris", "post_logout_redirect_uris"):
            for uri in getattr(cmd, field):
                problem = redirect_uri_problem(uri)
                if problem is not None:
                    raise ValidationFailed(f"{uri}：{problem}", field=field, code="invalid_redirect_uri")
        scopes = {*cmd.scopes, Scope.OPENID}
        secret = new_secret() if cmd.client_type is ClientType.CONFIDENTIAL else None
        now = clock.now()
        pk = repo.add_client(
            uow.session,
            {
                "client_id": f"ws-{secrets.token_hex(10)}",
                "name": cmd.name,
                "description": cmd.description,
                "organisation_id": organisation.id,
                "division_code": organisation.division_code,
                "client_type": cmd.client_type.value,
                "secret_digest": token_digest(secret) if secret else None,
                "redirect_uris": list(cmd.redirect_uris),
                "post_logout_redirect_uris": list(cmd.post_logout_redirect_uris),
                "allowed_scopes": scope_text(scopes),
                "active": True,
                "created_by": actor.label,
                "created_at": now,
                "secret_rotated_at": now if secret else None,
            },
        )
        client = _client_or_404(uow, pk=pk)
        uow.audit(
            actor,
            "identity.oidc.client.register",
            object_type="oidc_client",
            object_id=client.client_id,
            tenant=client.division_code,
            detail={
                "name": client.name,
                "organisation_id": client.organisation_id,
                "client_type": client.client_type.value,
                "scopes": scope_text(client.allowed_scopes),
                "redirect_uris": list(client.redirect_uris),
            },
        )
        uow.commit()
        return IssuedClient(client, secret)

    def list_clients(self, uow: UnitOfWork, query: ClientQuery, actor: Actor) -> tuple[list[OidcClient], int]:
        uow.authorize(policies.can_list_clients(actor), actor, "identity.oidc.client.list")
        return repo.list_clients(
            uow.session, policies.client_scopes(actor), limit=query.limit, offset=query.offset
        )

    def get_client(self, uow: UnitOfWork, client_id: str, actor: Actor) -> OidcClient:
        client = _client_or_404(uow, client_id=client_id)
        uow.authorize(
            policies.can_view_client(actor, client.organisation_id, client.division_code),
            actor,
            "identity.oidc.client.view",
            object_type="oidc_client",
            object_id=client.client_id,
        )
        return client

    def rotate_client_secret(self, uow: UnitOfWork, client_id: str, actor: Actor) -> IssuedClient:
        client = _client_or_404(uow, client_id=client_id)
        uow.authorize(
            policies.can_rotate_client_secret(actor, client.organisation_id),
            actor,
            "identity.oidc.client.rotate_secret",
            object_type="oidc_client",
            object_id=client.client_id,
        )
        if client.client_type is not ClientType.CONFIDENTIAL:
            raise Conflict("公开客户端没有密钥", code="public_client_has_no_secret")
        if not client.active:
            raise Conflict("该系统已停用", code="client_disabled")
        secret = new_secret()
        repo.update_client(
            uow.session, client.id, {"secret_digest": token_digest(secret), "secret_rotated_at": clock.now()}
        )
        uow.audit(
            actor,
            "identity.oidc.client.rotate_secret",
            object_type="oidc_client",
            object_id=client.client_id,
            tenant=client.division_code,
        )
        uow.commit()
        return IssuedClient(_client_or_404(uow, pk=client.id), secret)

    def disable_client(self, uow: UnitOfWork, client_id: str, actor: Actor) -> OidcClient:
        """Stops the system at once: no new sign-ins, and every token it holds stops working."""
        client = _client_or_404(uow, client_id=client_id)
        uow.authorize(
            policies.can_disable_client(actor, client.organisation_id, client.division_code),
            actor,
            "identity.oidc.client.disable",
            object_type="oidc_client",
            object_id=client.client_id,
        )
        if client.active:
            now = clock.now()
            repo.update_client(
                uow.session, client.id, {"active": False, "disabled_at": now, "disabled_by": actor.label}
            )
            revoked = repo.revoke_tokens(uow.session, now, "client_disabled", client_pk=client.id)
            uow.audit(
                actor,
                "identity.oidc.client.disable",
                object_type="oidc_client",
                object_id=client.client_id,
                tenant=client.division_code,
                detail={"tokens_revoked": revoked},
            )
        uow.commit()
        return _client_or_404(uow, pk=client.id)

    # --- consents --------------------------------------------------------------------------------------
    def list_consents(self, uow: UnitOfWork, actor: Actor) -> list[Consent]:
        uow.authorize(policies.can_list_own_consents(actor), actor, "identity.oidc.consent.list")
        assert actor.user_id is not None  # the policy admits only signed-in people
        return repo.live_consents(uow.session, actor.user_id)

    def revoke_consent(self, uow: UnitOfWork, client_id: str, actor: Actor) -> None:
        """Withdraws the consent and ends the system's access: its tokens for this person are revoked."""
        uow.authorize(policies.can_revoke_own_consent(actor), actor, "identity.oidc.consent.revoke")
        assert actor.user_id is not None
        client = _client_or_404(uow, client_id=client_id)
        now = clock.now()
        if not repo.revoke_consent(uow.session, actor.user_id, client.id, now):
            raise NotFound("没有对该系统的授权")
        revoked = repo.revoke_tokens(
            uow.session, now, "consent_revoked", user_id=actor.user_id, client_pk=client.id
        )
        uow.audit(
            actor,
            "identity.oidc.consent.revoke",
            object_type="oidc_client",
            object_id=client.client_id,
            detail={"tokens_revoked": revoked},
        )
        uow.commit()

    # --- signing keys ----------------------------------------------------------------------------------
    def rotate_keys(self, uow: UnitOfWork, actor: Actor, *, force: bool = False) -> str | None:
        """Adds the next key when rotation is due (or forced) and wipes private halves no longer needed.

        Returns the new key's id, or None when nothing was due. Runs hourly as a job; `wanshi oidc
        rotate-keys` runs it by hand.
        """
        uow.authorize(policies.can_rotate_keys(actor), actor, "identity.oidc.key.rotate")
        kid = self._rotate(uow, actor, force=force)
        uow.commit()
        return kid

    def _rotate(self, uow: UnitOfWork, actor: Actor, *, force: bool) -> str | None:
        now = clock.now()
        rows = repo.all_keys(uow.session)
        for row in rows:
            times = repo.key_times(row)
            if row.private_sealed is not None and times.state(now) in (KeyState.RETIRING, KeyState.RETIRED):
                repo.update_key(uow.session, row.kid, {"private_sealed": None})
        plan = plan_rotation(
            [repo.key_times(r) for r in rows],
            now,
            rotation=self.config.key_rotation,
            overlap=self.config.key_overlap,
            force=force,
        )
        if plan is None:
            return None
        for row in rows:
            if plan.current_retires_at is not None and repo.key_times(row).state(now) is KeyState.CURRENT:
                repo.update_key(
                    uow.session,
                    row.kid,
                    {"retires_at": plan.current_retires_at, "published_until": plan.current_published_until},
                )
        key = ECKey.generate_key("P-256", private=True)
        kid = key.thumbprint()
        public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": ALGORITHM}
        repo.add_key(
            uow.session,
            {
                "kid": kid,
                "alg": ALGORITHM,
                "public_jwk": public,
                "private_sealed": self.sealer.seal(
                    json.dumps(key.as_dict(private=True)), context=KEY_CONTEXT + kid
                ),
                "created_at": now,
                "activates_at": plan.activates_at,
            },
        )
        uow.audit(
            actor,
            "identity.oidc.key.rotate",
            object_type="oidc_key",
            object_id=kid,
            detail={"activates_at": plan.activates_at.isoformat(), "forced": force},
        )
        return kid

    def signing_key(self, uow: UnitOfWork) -> ECKey:
        """The current key with its private half; the first one is made on first use."""
        now = clock.now()
        found = self._current(uow, now)
        if found is None:
            # The very first key, inside the caller's transaction (a token request's), committed with it.
            self._rotate(uow, SYSTEM, force=False)
            found = self._current(uow, clock.now())
        if found is None or found.private_sealed is None:
            raise RuntimeError("no OIDC signing key can sign now")
        plain = self.sealer.unseal(found.private_sealed, context=KEY_CONTEXT + found.kid)
        key = ECKey.import_key(json.loads(plain), {"kid": found.kid, "alg": ALGORITHM, "use": "sig"})
        return key

    def _current(self, uow: UnitOfWork, now: Any) -> Any:
        current = [r for r in repo.all_keys(uow.session) if repo.key_times(r).state(now) is KeyState.CURRENT]
        return max(current, key=lambda r: clock.as_utc(r.activates_at)) if current else None

    def published_keys(self, uow: UnitOfWork) -> list[dict[str, Any]]:
        """Next, current and retiring keys: what /oidc/jwks publishes."""
        now = clock.now()
        return [
            dict(r.public_jwk)
            for r in repo.all_keys(uow.session)
            if repo.key_times(r).state(now) is not KeyState.RETIRED
        ]

    def key_set(self, uow: UnitOfWork) -> KeySet:
        return KeySet.import_key_set({"keys": self.published_keys(uow)})

    def key_overview(self, uow: UnitOfWork, actor: Actor) -> list[tuple[KeyTimes, KeyState]]:
        uow.authorize(policies.can_rotate_keys(actor), actor, "identity.oidc.key.list")
        now = clock.now()
        return [(t, t.state(now)) for t in (repo.key_times(r) for r in repo.all_keys(uow.session))]

    # --- housekeeping ----------------------------------------------------------------------------------
    def maintain(self, uow: UnitOfWork) -> None:
        """Rotate keys when due and drop codes and tokens nothing can use any more (the caller commits)."""
        now = clock.now()
        repo.purge_codes(uow.session, now - timedelta(days=1))
        repo.purge_tokens(uow.session, now - timedelta(days=1))
        self._rotate(uow, SYSTEM, force=False)


_SEE_ALL = Actor(kind=SYSTEM.kind, username="identity.oidc")


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_matches(stored_digest: str | None, given: str) -> bool:
    if not stored_digest or not given:
        return False
    return hmac.compare_digest(stored_digest, token_digest(given))


def _client_or_404(uow: UnitOfWork, *, pk: int | None = None, client_id: str | None = None) -> OidcClient:
    row = repo.client_row(uow.session, pk=pk, client_id=client_id)
    if row is None:
        raise NotFound("找不到该接入系统")
    return repo.client_from_row(row)


def return_origin(uow: UnitOfWork, next_path: str) -> str | None:
    """Where a sign-in that continues to ``next_path`` ends up, when that is an authorization request of an
    active system to one of its registered addresses: the login pages must allow that origin in their CSP
    form-action, because browsers apply it to every redirect that follows a form."""
    parts = urlsplit(next_path)
    if parts.path != "/oidc/authorize" or parts.netloc:
        return None
    query = parse_qs(parts.query)
    client_id, redirect_uri = query.get("client_id", [""])[0], query.get("redirect_uri", [""])[0]
    row = repo.client_row(uow.session, client_id=client_id) if client_id else None
    if row is None:
        return None
    client = repo.client_from_row(row)
    if not client.active or redirect_uri not in client.redirect_uris:
        return None
    target = urlsplit(redirect_uri)
    return f"{target.scheme}://{target.netloc}"


def register_jobs(registry: JobRegistry, settings: Settings, sealer: Sealer) -> None:
    """Hourly: key rotation when due, and the purge of spent codes and tokens."""
    service = OidcService(oidc_config(settings), sealer)

    def run(uow: UnitOfWork, _payload: dict[str, Any], _ctx: JobContext) -> None:
        service.maintain(uow)

    registry.handler(MAINTENANCE_JOB, run)
    registry.every(MAINTENANCE_JOB, MAINTENANCE_JOB, MAINTENANCE_INTERVAL_SECONDS)
