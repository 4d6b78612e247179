"""Rules of logging in: factors, one-time codes, scan-to-login and sessions. Pure Python.

等保 2.0 level 3 (STANDARDS.md): identification and authentication with two or more factors for
administrators, login-failure handling (lockout), session timeout. What a factor proves is carried as the
OIDC ``amr`` values of the session: ``pwd`` (password), ``otp`` (TOTP app), ``sms`` (code to a phone),
``qr`` (approved from a signed-in phone), ``mfa`` (two of them).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import pyotp

from wanshi.kernel.actor import ActorKind

MOBILE = re.compile(r"^1[3-9]\d{9}$")
OTP_DIGITS = 6
TOTP_PERIOD_SECONDS = 30
# One step either side absorbs clock drift of the phone (RFC 6238 section 5.2 recommends at most one).
TOTP_WINDOW = 1


class Factor(StrEnum):
    PASSWORD = "pwd"  # noqa: S105 - the OIDC amr value for a password, not a password
    TOTP = "otp"
    SMS = "sms"
    QR = "qr"


class OtpPurpose(StrEnum):
    LOGIN = "login"
    SECOND_FACTOR = "second"
    REGISTER = "register"
    RECOVER = "recover"


class QrStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    CONSUMED = "consumed"


def normalise_phone(raw: str) -> str | None:
    """A mainland mobile number, with an optional +86 / 86 prefix and spaces or dashes removed."""
    digits = re.sub(r"[\s-]", "", raw.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if MOBILE.match(digits) else None


def mask_id_number(id_number: str) -> str:
    """Division of registration and the last four digits stay visible, as on a 政务服务 receipt."""
    return f"{id_number[:6]}********{id_number[-4:]}" if len(id_number) >= 10 else "****"


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def new_otp_code() -> str:
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def new_token() -> str:
    """A bearer secret: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_totp_secret() -> str:
    return pyotp.random_base32(32)


def totp_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=OTP_DIGITS, interval=TOTP_PERIOD_SECONDS).provisioning_uri(
        name=account, issuer_name=issuer
    )


def totp_step(secret: str, code: str, at: datetime, last_step: int | None) -> int | None:
    """The time step the code belongs to, if it is valid now and newer than the last one accepted."""
    code = code.strip()
    if not (len(code) == OTP_DIGITS and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=OTP_DIGITS, interval=TOTP_PERIOD_SECONDS)
    current = int(at.timestamp()) // TOTP_PERIOD_SECONDS
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def needs_second_factor(kind: ActorKind, totp_enabled: bool) -> bool:
    """Staff always (等保 level 3: administrators and operators); a person when they turned TOTP on."""
    return kind is ActorKind.STAFF or totp_enabled


def session_methods(*factors: Factor) -> tuple[str, ...]:
    distinct = tuple(dict.fromkeys(f.value for f in factors))
    return (*distinct, "mfa") if len(distinct) >= 2 else distinct


@dataclass(frozen=True)
class SessionTimes:
    idle: timedelta
    absolute: timedelta

    def expired(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at > self.idle or now - created_at > self.absolute


@dataclass(frozen=True)
class OtpRules:
    ttl: timedelta
    max_attempts: int
    per_phone_per_hour: int
    per_source_per_hour: int
    resend_after: timedelta


@dataclass(frozen=True)
class PendingLogin:
    """A password that was right, waiting for the second factor; lives in the signed cookie for minutes."""

    user_id: int
    factor: Factor
    started_at: datetime
