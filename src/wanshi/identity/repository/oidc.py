"""Persistence of the OpenID Connect provider: clients, keys, codes, tokens, consents. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from wanshi.identity.domain.oidc import ClientType, Consent, KeyTimes, OidcClient, parse_scopes
from wanshi.identity.tables import login_session, user
from wanshi.identity.tables.oidc import oidc_client, oidc_code, oidc_consent, oidc_key, oidc_token
from wanshi.kernel import clock
from wanshi.kernel.actor import division_prefix


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


# --- clients ---------------------------------------------------------------------------------------------
def client_from_row(row: Any) -> OidcClient:
    return OidcClient(
        id=int(row.id),
        client_id=row.client_id,
        name=row.name,
        description=row.description,
        organisation_id=int(row.organisation_id),
        division_code=row.division_code,
        client_type=ClientType(row.client_type),
        redirect_uris=tuple(row.redirect_uris),
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris),
        allowed_scopes=parse_scopes(row.allowed_scopes),
        active=bool(row.active),
        created_by=row.created_by,
        created_at=clock.as_utc(row.created_at),
        secret_rotated_at=clock.as_utc(row.secret_rotated_at) if row.secret_rotated_at else None,
        disabled_at=clock.as_utc(row.disabled_at) if row.disabled_at else None,
    )


def add_client(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(oidc_client).values(**values).returning(oidc_client.c.id)).scalar_one())


def client_row(session: Session, *, pk: int | None = None, client_id: str | None = None) -> Any:
    where = oidc_client.c.id == pk if pk is not None else oidc_client.c.client_id == client_id
    return session.execute(select(oidc_client).where(where)).first()


def update_client(session: Session, pk: int, values: dict[str, Any]) -> None:
    session.execute(update(oidc_client).where(oidc_client.c.id == pk).values(**values))


def list_clients(
    session: Session,
    scopes: tuple[frozenset[int], tuple[str, ...]] | None,
    *,
    limit: int,
    offset: int,
) -> tuple[list[OidcClient], int]:
    stmt = select(oidc_client)
    if scopes is not None:
        organisations, divisions = scopes
        conditions: list[ColumnElement[bool]] = [oidc_client.c.organisation_id.in_(sorted(organisations))]
        conditions += [oidc_client.c.division_code.startswith(division_prefix(d)) for d in divisions]
        stmt = stmt.where(or_(*conditions))
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    rows = session.execute(stmt.order_by(oidc_client.c.id.desc()).limit(limit).offset(offset)).all()
    return [client_from_row(r) for r in rows], total


# --- signing keys ----------------------------------------------------------------------------------------
def key_times(row: Any) -> KeyTimes:
    return KeyTimes(
        kid=row.kid,
        created_at=clock.as_utc(row.created_at),
        activates_at=clock.as_utc(row.activates_at),
        retires_at=clock.as_utc(row.retires_at) if row.retires_at else None,
        published_until=clock.as_utc(row.published_until) if row.published_until else None,
    )


def all_keys(session: Session) -> list[Any]:
    return list(session.execute(select(oidc_key).order_by(oidc_key.c.activates_at)).all())


def add_key(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(oidc_key).values(**values))


def update_key(session: Session, kid: str, values: dict[str, Any]) -> None:
    session.execute(update(oidc_key).where(oidc_key.c.kid == kid).values(**values))


# --- authorisation codes ---------------------------------------------------------------------------------
def add_code(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(oidc_code).values(**values))


def get_code(session: Session, digest: str) -> Any:
    return session.execute(select(oidc_code).where(oidc_code.c.code_digest == digest)).first()


def use_code(session: Session, digest: str, now: datetime) -> bool:
    """Compare-and-set: of two requests racing with one code, one wins."""
    result = session.execute(
        update(oidc_code)
        .where(oidc_code.c.code_digest == digest, oidc_code.c.used_at.is_(None))
        .values(used_at=now)
    )
    return _rowcount(result) == 1


def nonce_used(session: Session, client_pk: int, nonce: str) -> bool:
    found = session.execute(
        select(oidc_code.c.code_digest).where(oidc_code.c.client_pk == client_pk, oidc_code.c.nonce == nonce)
    ).first()
    return found is not None


def purge_codes(session: Session, before: datetime) -> int:
    return _rowcount(session.execute(delete(oidc_code).where(oidc_code.c.expires_at < before)))


# --- tokens ----------------------------------------------------------------------------------------------
def add_token(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(oidc_token).values(**values).returning(oidc_token.c.id)).scalar_one())


_TOKEN_VIEW = (
    *(
        oidc_token.c[name]
        for name in (
            "id",
            "client_pk",
            "user_id",
            "session_id",
            "family",
            "scope",
            "legal_person_id",
            "delegated_scopes",
            "issued_at",
            "access_expires_at",
            "refresh_expires_at",
            "refresh_used_at",
            "revoked_at",
        )
    ),
    oidc_client.c.client_id.label("client_client_id"),
    oidc_client.c.active.label("client_active"),
    oidc_client.c.client_type.label("client_type"),
    oidc_client.c.secret_digest.label("client_secret_digest"),
    login_session.c.ended_at.label("session_ended_at"),
    login_session.c.expires_at.label("session_expires_at"),
    user.c.active.label("user_active"),
    user.c.kind.label("user_kind"),
    user.c.public_id.label("user_public_id"),
    user.c.display_name.label("user_display_name"),
    user.c.assurance.label("user_assurance"),
    user.c.organisation_id.label("user_organisation_id"),
    user.c.division_code.label("user_division_code"),
)


def _token_view() -> Any:
    """The token with what decides whether it is live (client, login session, account) in one query:
    userinfo and introspection run this once per request."""
    return (
        select(*_TOKEN_VIEW)
        .join(oidc_client, oidc_client.c.id == oidc_token.c.client_pk)
        .join(user, user.c.id == oidc_token.c.user_id)
        .outerjoin(login_session, login_session.c.id == oidc_token.c.session_id)
    )


# Built once: the statement's cache key is then computed once, not per request.
_BY_ACCESS = _token_view().where(oidc_token.c.access_digest == bindparam("digest"))
_BY_REFRESH = _token_view().where(oidc_token.c.refresh_digest == bindparam("digest"))


def token_statement() -> Any:
    """The access-token look-up, for measuring it (bench/identity.py)."""
    return _BY_ACCESS


# Through the session's connection (Core), not Session.execute: the ORM's statement handling is a large part
# of the cost of the hot path, and these rows are plain tuples anyway.
def token_by_access(session: Session, digest: str) -> Any:
    return session.connection().execute(_BY_ACCESS, {"digest": digest}).first()


def token_by_refresh(session: Session, digest: str) -> Any:
    return session.connection().execute(_BY_REFRESH, {"digest": digest}).first()


def use_refresh(session: Session, token_id: int, now: datetime) -> bool:
    """Compare-and-set, so one refresh token rotates once."""
    result = session.execute(
        update(oidc_token)
        .where(oidc_token.c.id == token_id, oidc_token.c.refresh_used_at.is_(None))
        .values(refresh_used_at=now)
    )
    return _rowcount(result) == 1


def revoke_tokens(session: Session, now: datetime, reason: str, **where: Any) -> int:
    """Revoke the live tokens matching every given column (code_digest, family, session_id, id, user_id
    with client_pk)."""
    conditions = [oidc_token.c[name] == value for name, value in where.items()]
    result = session.execute(
        update(oidc_token)
        .where(*conditions, oidc_token.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return _rowcount(result)


def expire_access(session: Session, token_id: int, now: datetime) -> int:
    result = session.execute(
        update(oidc_token)
        .where(oidc_token.c.id == token_id, oidc_token.c.access_expires_at > now)
        .values(access_expires_at=now)
    )
    return _rowcount(result)


def purge_tokens(session: Session, before: datetime) -> int:
    """Tokens whose access and refresh lifetimes are both over: nothing can use or introspect them."""
    result = session.execute(
        delete(oidc_token).where(
            oidc_token.c.access_expires_at < before,
            or_(oidc_token.c.refresh_expires_at.is_(None), oidc_token.c.refresh_expires_at < before),
        )
    )
    return _rowcount(result)


# --- consents --------------------------------------------------------------------------------------------
def consent_row(session: Session, user_id: int, client_pk: int) -> Any:
    return session.execute(
        select(oidc_consent).where(oidc_consent.c.user_id == user_id, oidc_consent.c.client_pk == client_pk)
    ).first()


def save_consent(session: Session, user_id: int, client_pk: int, scopes: str, now: datetime) -> None:
    if consent_row(session, user_id, client_pk) is None:
        session.execute(
            insert(oidc_consent).values(user_id=user_id, client_pk=client_pk, scopes=scopes, granted_at=now)
        )
    else:
        session.execute(
            update(oidc_consent)
            .where(oidc_consent.c.user_id == user_id, oidc_consent.c.client_pk == client_pk)
            .values(scopes=scopes, granted_at=now, revoked_at=None)
        )


def revoke_consent(session: Session, user_id: int, client_pk: int, now: datetime) -> bool:
    result = session.execute(
        update(oidc_consent)
        .where(
            oidc_consent.c.user_id == user_id,
            oidc_consent.c.client_pk == client_pk,
            oidc_consent.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return _rowcount(result) == 1


def live_consents(session: Session, user_id: int) -> list[Consent]:
    rows = session.execute(
        select(
            oidc_consent.c.scopes,
            oidc_consent.c.granted_at,
            oidc_client.c.client_id,
            oidc_client.c.name,
            oidc_client.c.organisation_id,
        )
        .join(oidc_client, oidc_client.c.id == oidc_consent.c.client_pk)
        .where(oidc_consent.c.user_id == user_id, oidc_consent.c.revoked_at.is_(None))
        .order_by(oidc_consent.c.granted_at.desc())
    ).all()
    return [
        Consent(
            client_id=r.client_id,
            client_name=r.name,
            organisation_id=int(r.organisation_id),
            scopes=parse_scopes(r.scopes),
            granted_at=clock.as_utc(r.granted_at),
        )
        for r in rows
    ]
