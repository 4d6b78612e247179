"""Tables of the OpenID Connect provider: relying systems (clients), signing keys, authorisation codes,
tokens and people's consents.

Secrets are never stored in the clear: client secrets, codes, access and refresh tokens as SHA-256 digests
(they are random with full entropy), private signing keys sealed with the data key (wanshi.infra.crypto).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

oidc_client = Table(
    "identity_oidc_client",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("client_id", String(40), nullable=False),
    Column("name", String(80), nullable=False),
    Column("description", String(300), nullable=False, server_default=""),
    Column("organisation_id", BigId, ForeignKey("org_organisation.id"), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("client_type", String(12), nullable=False),  # confidential | public
    Column("secret_digest", String(64), nullable=True),
    Column("redirect_uris", JSON, nullable=False),
    Column("post_logout_redirect_uris", JSON, nullable=False),
    Column("allowed_scopes", String(200), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("secret_rotated_at", DateTime(timezone=True), nullable=True),
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    Column("disabled_by", String(120), nullable=True),
    UniqueConstraint("client_id"),
    Index("ix_identity_oidc_client_division_code", "division_code"),
    Index("ix_identity_oidc_client_organisation_id", "organisation_id"),
)

# A key is published from created_at, signs from activates_at until retires_at, and stays published
# (verifiable) until published_until; its private half is wiped once it no longer signs.
oidc_key = Table(
    "identity_oidc_key",
    metadata,
    Column("kid", String(64), primary_key=True),  # the JWK thumbprint (RFC 7638)
    Column("alg", String(10), nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("private_sealed", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("activates_at", DateTime(timezone=True), nullable=False),
    Column("retires_at", DateTime(timezone=True), nullable=True),
    Column("published_until", DateTime(timezone=True), nullable=True),
)

oidc_code = Table(
    "identity_oidc_code",
    metadata,
    Column("code_digest", String(64), primary_key=True),
    Column("client_pk", BigId, ForeignKey("identity_oidc_client.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(64), nullable=False),
    Column("redirect_uri", Text, nullable=False),
    Column("scope", String(200), nullable=False),
    Column("nonce", String(255), nullable=True),
    Column("code_challenge", String(128), nullable=False),
    Column("code_challenge_method", String(10), nullable=False),
    Column("auth_time", DateTime(timezone=True), nullable=False),
    Column("acr", String(20), nullable=False),
    Column("amr", String(60), nullable=False),
    Column("legal_person_id", BigId, nullable=True),
    Column("delegated_scopes", String(300), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Index("ix_identity_oidc_code_client_nonce", "client_pk", "nonce"),
    Index("ix_identity_oidc_code_expires_at", "expires_at"),
)

oidc_token = Table(
    "identity_oidc_token",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("access_digest", String(64), nullable=False),
    Column("refresh_digest", String(64), nullable=True),
    Column("client_pk", BigId, ForeignKey("identity_oidc_client.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(64), nullable=False),
    # The code it was issued from (a replayed code revokes these) and the refresh family it belongs to
    # (a reused, already rotated refresh token revokes the whole family).
    Column("code_digest", String(64), nullable=True),
    Column("family", String(32), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("legal_person_id", BigId, nullable=True),
    Column("delegated_scopes", String(300), nullable=False, server_default=""),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("access_expires_at", DateTime(timezone=True), nullable=False),
    Column("refresh_expires_at", DateTime(timezone=True), nullable=True),
    Column("refresh_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_reason", String(30), nullable=True),
    UniqueConstraint("access_digest"),
    UniqueConstraint("refresh_digest"),
    Index("ix_identity_oidc_token_session_id", "session_id"),
    Index("ix_identity_oidc_token_family", "family"),
    Index("ix_identity_oidc_token_code_digest", "code_digest"),
    Index("ix_identity_oidc_token_user_client", "user_id", "client_pk"),
)

# What a person allowed a client; a later request within these scopes is not asked again.
oidc_consent = Table(
    "identity_oidc_consent",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=False),
    Column("client_pk", BigId, ForeignKey("identity_oidc_client.id", ondelete="CASCADE"), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("user_id", "client_pk"),
)
