"""Tables of the identity context: accounts, role grants, login sessions, devices and login challenges.

Personal data is never stored in the clear: ``*_digest`` (keyed HMAC, for exact look-up), ``*_sealed``
(AES-GCM, to give the value back) and ``*_masked`` (to show); see wanshi.infra.crypto.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

user = Table(
    "identity_user",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("display_name", String(60), nullable=False),
    Column("kind", String(20), nullable=False),
    # The stable, non-guessable subject given to relying systems (OIDC "sub"); never the row id.
    Column("public_id", String(32), nullable=True),
    Column("id_number_digest", String(64), nullable=True),
    Column("id_number_sealed", Text, nullable=True),
    Column("id_number_masked", String(24), nullable=True),
    Column("phone_digest", String(64), nullable=True),
    Column("phone_sealed", Text, nullable=True),
    Column("phone_masked", String(16), nullable=True),
    Column("assurance", String(20), nullable=True),
    Column("assured_at", DateTime(timezone=True), nullable=True),
    Column("totp_sealed", Text, nullable=True),
    Column("totp_enabled_at", DateTime(timezone=True), nullable=True),
    # The last TOTP time step accepted: a code is good once (RFC 6238 section 5.2).
    Column("totp_last_step", Integer, nullable=True),
    Column("password_hash", String(255), nullable=True),
    Column("organisation_id", BigId, ForeignKey("org_organisation.id"), nullable=True),
    Column("division_code", String(6), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("failed_login_count", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("username"),
    UniqueConstraint("public_id"),
    UniqueConstraint("id_number_digest"),
    UniqueConstraint("phone_digest"),
    Index("ix_identity_user_division_code", "division_code"),
)

role_grant = Table(
    "identity_role_grant",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(30), nullable=False),
    Column("organisation_id", BigId, ForeignKey("org_organisation.id"), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("granted_by", String(120), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "role", "organisation_id"),
)


login_session = Table(
    "identity_session",
    metadata,
    # The SHA-256 of the random token in the browser's cookie: a stolen table gives no usable session.
    Column("id", String(64), primary_key=True),
    Column("user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=False),
    Column("legal_person_id", BigId, nullable=True),
    Column("auth_methods", String(60), nullable=False),
    Column("device_id", BigId, nullable=True),
    Column("source_address", String(64), nullable=False, server_default=""),
    Column("user_agent", String(200), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("ended_reason", String(30), nullable=True),
    Index("ix_identity_session_user_id", "user_id"),
)

device = Table(
    "identity_device",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=False),
    Column("device_digest", String(64), nullable=False),
    Column("user_agent", String(200), nullable=False, server_default=""),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "device_digest"),
)

# One-time codes sent by SMS (login, registration, recovery, a staff member's second factor).
otp_challenge = Table(
    "identity_otp_challenge",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("purpose", String(20), nullable=False),
    Column("phone_digest", String(64), nullable=False),
    Column("user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=True),
    Column("code_digest", String(64), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("source_address", String(64), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("consumed_at", DateTime(timezone=True), nullable=True),
    Index("ix_identity_otp_challenge_phone", "phone_digest", "created_at"),
    Index("ix_identity_otp_challenge_source", "source_address", "created_at"),
)

# Scan-to-login (扫码登录): a desktop shows a code, a signed-in phone approves it.
qr_login = Table(
    "identity_qr_login",
    metadata,
    Column("id", String(64), primary_key=True),  # digest of the token in the QR code
    Column("poll_digest", String(64), nullable=False),  # digest of the secret only the desktop holds
    Column("status", String(12), nullable=False),
    Column("user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=True),
    Column("desktop_address", String(64), nullable=False, server_default=""),
    Column("desktop_agent", String(200), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
)

# Failed sign-ins by source address, for throttling password spraying across many accounts (the per-account
# lockout cannot see it). Rows older than a day are purged.
login_failure = Table(
    "identity_login_failure",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_address", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_identity_login_failure_source", "source_address", "created_at"),
)
