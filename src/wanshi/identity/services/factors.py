"""The factors beyond a password: SMS one-time codes (through the notification gateways) and TOTP.

SMS codes: six digits, five minutes, five tries, stored as a keyed digest bound to their challenge; sending is
throttled per phone number and per source address, and a code for an unknown number is never sent while
the answer looks the same (no account enumeration). TOTP: RFC 6238 with one step of drift, each step good
once; the secret is sealed at rest.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from wanshi.identity.domain.login import (
    OtpPurpose,
    OtpRules,
    new_otp_code,
    new_token,
    new_totp_secret,
    normalise_phone,
    totp_step,
)
from wanshi.identity.repository import login as repo
from wanshi.identity.repository import update_user
from wanshi.identity.tables import user
from wanshi.infra.crypto import Sealer, token_digest
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotAuthenticated, TooManyRequests, ValidationFailed
from wanshi.notify import api as notify

PHONE_CONTEXT = "phone"
TOTP_CONTEXT = "totp"
_PURPOSE_TEXT = {
    OtpPurpose.LOGIN: "登录",
    OtpPurpose.SECOND_FACTOR: "登录验证",
    OtpPurpose.REGISTER: "注册",
    OtpPurpose.RECOVER: "找回密码",
}


@dataclass(frozen=True)
class SentCode:
    challenge: str  # the token the browser keeps to name this challenge; never stored
    # The code itself, only where settings allow showing sandbox codes on screen (development, sandbox SMS).
    shown_code: str | None


@dataclass(frozen=True)
class PassedCode:
    user_id: int | None
    phone_digest: str


class Factors:
    def __init__(self, sealer: Sealer, rules: OtpRules, *, show_sandbox_codes: bool) -> None:
        self.sealer = sealer
        self.rules = rules
        self.show_sandbox_codes = show_sandbox_codes

    def phone_digest(self, phone: str) -> str:
        return self.sealer.digest(phone, context=PHONE_CONTEXT)

    def parse_phone(self, raw: str) -> str:
        phone = normalise_phone(raw)
        if phone is None:
            raise ValidationFailed("请输入有效的手机号码", field="phone", code="invalid_phone")
        return phone

    # --- SMS ----------------------------------------------------------------------------------------------
    def send_code(
        self,
        uow: UnitOfWork,
        purpose: OtpPurpose,
        phone: str,
        *,
        user_id: int | None,
        source_address: str,
        deliver: bool,
    ) -> SentCode:
        """``deliver`` False: record the challenge (throttling and the reply look the same), send nothing."""
        digest = self.phone_digest(phone)
        self._throttle(uow, digest, source_address)
        token, code, now = new_token(), new_otp_code(), clock.now()
        challenge_id = token_digest(token)
        repo.add_otp(
            uow.session,
            {
                "id": challenge_id,
                "purpose": purpose.value,
                "phone_digest": digest,
                "user_id": user_id,
                "code_digest": self.sealer.digest(code, context=challenge_id),
                "source_address": source_address[:64],
                "created_at": now,
                "expires_at": now + self.rules.ttl,
            },
        )
        if deliver:
            minutes = max(1, int(self.rules.ttl.total_seconds() // 60))
            notify.queue_notification(
                uow,
                notify.Notification(
                    channels=frozenset({notify.Channel.SMS}),
                    phone=phone,
                    title="验证码",
                    body=f"您的{_PURPOSE_TEXT[purpose]}验证码为 {code}，{minutes} 分钟内有效。请勿告诉他人。",
                    category="security",
                ),
            )
        uow.commit()
        return SentCode(token, code if deliver and self.show_sandbox_codes else None)

    def _throttle(self, uow: UnitOfWork, digest: str, source: str) -> None:
        now = clock.now()
        last = repo.last_otp_at(uow.session, digest)
        if last is not None and now - clock.as_utc(last) < self.rules.resend_after:
            wait = int((self.rules.resend_after - (now - clock.as_utc(last))).total_seconds()) + 1
            raise TooManyRequests(f"验证码已发送，请 {wait} 秒后再试", code="otp_resend_too_soon")
        hour_ago = now - timedelta(hours=1)
        if repo.otp_sent_since(uow.session, phone_digest=digest, source=None, since=hour_ago) >= (
            self.rules.per_phone_per_hour
        ):
            raise TooManyRequests("该手机号获取验证码过于频繁，请一小时后再试", code="otp_phone_limit")
        if repo.otp_sent_since(uow.session, phone_digest=None, source=source[:64], since=hour_ago) >= (
            self.rules.per_source_per_hour
        ):
            raise TooManyRequests("获取验证码过于频繁，请稍后再试", code="otp_source_limit")

    def check_code(self, uow: UnitOfWork, challenge: str, code: str, purpose: OtpPurpose) -> PassedCode:
        """Consumes the challenge when the code is right; counts the try when it is wrong."""
        challenge_id = token_digest(challenge)
        row = repo.get_otp(uow.session, challenge_id)
        now = clock.now()
        if (
            row is None
            or row.purpose != purpose.value
            or row.consumed_at is not None
            or clock.as_utc(row.expires_at) <= now
        ):
            raise NotAuthenticated("验证码已失效，请重新获取", code="otp_expired")
        if int(row.attempts) >= self.rules.max_attempts:
            raise NotAuthenticated("验证码错误次数过多，请重新获取", code="otp_too_many_attempts")
        expected = self.sealer.digest(code.strip(), context=challenge_id)
        if not hmac.compare_digest(expected, row.code_digest):
            repo.update_otp(uow.session, challenge_id, {"attempts": int(row.attempts) + 1})
            uow.commit()
            raise NotAuthenticated("验证码不正确", code="otp_wrong")
        if not repo.consume_otp(uow.session, challenge_id, now):
            raise NotAuthenticated("验证码已失效，请重新获取", code="otp_expired")
        return PassedCode(int(row.user_id) if row.user_id is not None else None, row.phone_digest)

    # --- TOTP ---------------------------------------------------------------------------------------------
    @staticmethod
    def new_totp_secret() -> str:
        return new_totp_secret()

    def enrol_totp(self, uow: UnitOfWork, user_id: int, secret: str, code: str, actor: Actor) -> None:
        """Turns TOTP on once the person shows a code from their app; the caller authorised and commits."""
        step = totp_step(secret, code, clock.now(), None)
        if step is None:
            raise ValidationFailed("动态口令不正确，请核对手机时间后重试", field="code", code="totp_wrong")
        update_user(
            uow.session,
            user_id,
            {
                "totp_sealed": self.sealer.seal(secret, context=TOTP_CONTEXT),
                "totp_enabled_at": clock.now(),
                "totp_last_step": step,
                "updated_at": clock.now(),
            },
        )
        uow.audit(actor, "identity.totp.enrol", object_type="user", object_id=user_id)

    def check_totp(self, uow: UnitOfWork, row: object, code: str) -> bool:
        """Accepts each time step once: the update only succeeds if no other request took the step first."""
        sealed = getattr(row, "totp_sealed", None)
        if sealed is None:
            return False
        secret = self.sealer.unseal(sealed, context=TOTP_CONTEXT)
        last = getattr(row, "totp_last_step", None)
        step = totp_step(secret, code, clock.now(), int(last) if last is not None else None)
        if step is None:
            return False
        user_id = int(getattr(row, "id"))  # noqa: B009 - a Row, typed loosely by SQLAlchemy
        guard = user.c.totp_last_step.is_(None) if last is None else user.c.totp_last_step == int(last)
        result = uow.session.execute(
            user.update().where(user.c.id == user_id, guard).values(totp_last_step=step)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]
