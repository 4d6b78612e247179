"""Server-side login sessions: one for the platform's own pages and for single sign-on (OIDC) alike.

The browser holds a random token (in the signed session cookie); the table holds its SHA-256 only.
A session ends on logout, idle timeout, absolute timeout, a password change or reset, or an administrator's
action; ending it is immediate everywhere, because every request looks the session up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wanshi.identity import policies
from wanshi.identity.domain.login import SessionTimes, new_token
from wanshi.identity.repository import enterprise as enterprise_repo
from wanshi.identity.repository import get_user_row
from wanshi.identity.repository import login as repo
from wanshi.infra.crypto import token_digest
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotFound
from wanshi.notify import api as notify

# Writing last_seen_at on every request would turn every page view into a write; a minute is precise enough
# for an idle timeout counted in tens of minutes.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class StartedSession:
    token: str  # for the cookie; never stored
    session_id: str
    new_device: bool
    device_token: str  # a long-lived cookie naming this browser, so a new device can be told apart


@dataclass(frozen=True)
class SessionCheck:
    session_id: str
    actor: Actor | None  # None: no live session
    changes: dict[str, Any]  # what is due to be written about the session (see Sessions.settle)


@dataclass(frozen=True)
class SessionView:
    session_id: str
    auth_methods: tuple[str, ...]
    source_address: str
    user_agent: str
    created_at: datetime
    last_seen_at: datetime


class Sessions:
    def __init__(self, times: SessionTimes) -> None:
        self.times = times

    def start(
        self,
        uow: UnitOfWork,
        user_id: int,
        methods: tuple[str, ...],
        *,
        source_address: str,
        user_agent: str,
        device_token: str | None,
    ) -> StartedSession:
        """Called by the login use cases, inside their unit of work, once every factor has passed."""
        now = clock.now()
        agent = user_agent[:200]
        device_token = device_token or new_token()
        digest = token_digest(device_token)
        known = repo.find_device(uow.session, user_id, digest)
        # The very first device of an account is not news; another one is.
        new_device = known is None and repo.has_devices(uow.session, user_id)
        if known is None:
            device_id = repo.add_device(
                uow.session,
                {
                    "user_id": user_id,
                    "device_digest": digest,
                    "user_agent": agent,
                    "first_seen_at": now,
                    "last_seen_at": now,
                },
            )
        else:
            device_id = int(known.id)
            repo.touch_device(uow.session, device_id, now)
        token = new_token()
        session_id = token_digest(token)
        repo.add_session(
            uow.session,
            {
                "id": session_id,
                "user_id": user_id,
                "auth_methods": " ".join(methods),
                "device_id": device_id,
                "source_address": source_address[:64],
                "user_agent": agent,
                "created_at": now,
                "last_seen_at": now,
                "expires_at": now + self.times.absolute,
            },
        )
        return StartedSession(token, session_id, new_device, device_token)

    def actor_for_token(self, uow: UnitOfWork, token: str) -> Actor | None:
        """The actor of a live session, refreshing its idle clock; None (the session ended) if it lapsed."""
        return self.settle(uow, self.peek(uow, token))

    def peek(self, uow: UnitOfWork, token: str) -> SessionCheck:
        """What the session behind a browser's token is now, read only (a reader unit of work will do);
        what should be written about it is returned for ``settle``."""
        return self._inspect(uow, token_digest(token), touch=True)

    def settle(self, uow: UnitOfWork, check: SessionCheck) -> Actor | None:
        """Write what ``peek`` found due (at most once a minute per session): an end, a touch, a lapsed
        delegation."""
        if check.changes:
            repo.update_session(uow.session, check.session_id, check.changes)
            uow.commit()
        return check.actor

    def session_actor(self, uow: UnitOfWork, session_id: str) -> Actor | None:
        """For single sign-on: is the session behind a token still live, and whose is it."""
        return self.settle(uow, self._inspect(uow, session_id, touch=False))

    def _inspect(self, uow: UnitOfWork, session_id: str, *, touch: bool) -> SessionCheck:
        row = repo.session_and_user(uow.session, session_id)
        if row is None or row.ended_at is not None or not row.active:
            return SessionCheck(session_id, None, {})
        now = clock.now()
        created, seen = clock.as_utc(row.session_created_at), clock.as_utc(row.last_seen_at)
        if self.times.expired(created, seen, now) or clock.as_utc(row.expires_at) <= now:
            return SessionCheck(session_id, None, {"ended_at": now, "ended_reason": "timeout"})
        changes: dict[str, Any] = {"last_seen_at": now} if touch and now - seen > TOUCH_EVERY else {}
        legal_person_id, scopes = _acting_for(uow, row, now)
        if row.legal_person_id is not None and legal_person_id is None:
            changes["legal_person_id"] = None
        account = repo.account_from_row(uow.session, row)
        actor = account.to_actor(
            session_id=session_id,
            auth_methods=tuple(row.auth_methods.split()),
            legal_person_id=legal_person_id,
            delegated_scopes=scopes,
        )
        return SessionCheck(session_id, actor, changes)

    def end(self, uow: UnitOfWork, session_id: str, actor: Actor, reason: str) -> None:
        row = repo.get_session(uow.session, session_id)
        if row is None:
            raise NotFound("会话不存在")
        uow.authorize(
            policies.can_end_session(actor, int(row.user_id), _division_of(uow, int(row.user_id))),
            actor,
            "identity.session.end",
            object_type="user",
            object_id=row.user_id,
        )
        if row.ended_at is None:
            repo.update_session(uow.session, session_id, {"ended_at": clock.now(), "ended_reason": reason})
            uow.audit(
                actor,
                "identity.session.end",
                object_type="user",
                object_id=row.user_id,
                detail={"reason": reason},
            )
        uow.commit()

    def end_all(self, uow: UnitOfWork, user_id: int, reason: str, *, keep: str | None = None) -> int:
        """In the caller's transaction (password change, reset, disable); the caller audits and commits."""
        return repo.end_sessions_of(uow.session, user_id, clock.now(), reason, keep)

    def list_own(self, uow: UnitOfWork, actor: Actor) -> list[SessionView]:
        uow.authorize(policies.can_list_own_sessions(actor), actor, "identity.session.list")
        assert actor.user_id is not None  # the policy admits only signed-in people
        return [
            SessionView(
                r.id,
                tuple(r.auth_methods.split()),
                r.source_address,
                r.user_agent,
                clock.as_utc(r.created_at),
                clock.as_utc(r.last_seen_at),
            )
            for r in repo.live_sessions_of(uow.session, actor.user_id, clock.now())
        ]


def _acting_for(uow: UnitOfWork, row: Any, now: datetime) -> tuple[int | None, frozenset[str]]:
    """The legal person a session is switched to and the scopes held for it now, looked up on every
    request so that a revoked or expired delegation stops at once; the session then reverts to the person."""
    if row.legal_person_id is None:
        return None, frozenset()
    scopes = enterprise_repo.acting_scopes(uow.session, int(row.id), int(row.legal_person_id), now)
    if scopes is None:
        return None, frozenset()
    return int(row.legal_person_id), scopes


def _division_of(uow: UnitOfWork, user_id: int) -> str | None:
    row = get_user_row(uow.session, user_id=user_id)
    return row.division_code if row is not None else None


def notify_new_device(uow: UnitOfWork, user_id: int, user_agent: str, source_address: str) -> None:
    """A person is told of every sign-in from a browser not seen before (in the inbox)."""
    notify.queue_notification(
        uow,
        notify.Notification(
            channels=frozenset({notify.Channel.INBOX}),
            recipient_user_id=user_id,
            title="新设备登录提醒",
            body=f"您的账号于 {clock.now().astimezone(clock.CHINA_TZ):%Y-%m-%d %H:%M} 在新设备上登录"
            f"（{user_agent[:60] or '未知浏览器'}，来源 {source_address or '未知'}）。"
            "如非本人操作，请立即修改密码。",
            category="security",
            link="/account",
        ),
    )
