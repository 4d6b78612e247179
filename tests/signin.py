"""Signing in through the real login pages, second factor included, as a person would.

Staff must pass two factors. The first login of a staff account binds a TOTP app: the helper reads the
secret from the enrolment page (as a person scans it) and answers with codes computed like an app does.
Each TOTP time step is accepted once per account, so a second login of the same account within the same
30 seconds uses the next step (inside the allowed drift), and waits only if both are used up.
"""

from __future__ import annotations

import re
import time
from typing import Any, Protocol

import pyotp

from wanshi.kernel import clock
from wanshi.kernel.actor import Actor, ActorKind, Role, RoleGrant
from wanshi.notify import api as notify

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TOTP_SECRET = re.compile(r'data-totp-secret="([A-Z2-7]+)"')
SMS_CODE = re.compile(r"验证码为 (\d{6})")
PERIOD = 30
# Who reads the sandbox outbox in tests: a system administrator (the phone's side of the exchange).
OPERATOR = Actor(
    kind=ActorKind.STAFF, user_id=1, username="ops", grants=(RoleGrant(Role.SYS_ADMIN, 1, "340000"),)
)

# username -> (secret, last step used); tests empty the database between them, and a fresh enrolment
# page brings a fresh secret, which replaces the entry.
_apps: dict[str, tuple[str, int]] = {}


class Reply(Protocol):
    status_code: int
    text: str
    headers: object


class Client(Protocol):
    def get(self, url: str, **kwargs: object) -> Reply: ...

    def post(self, url: str, **kwargs: object) -> Reply: ...


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


def totp_code(username: str) -> str:
    """By the platform's clock, which a test may have frozen (the server checks codes against it)."""
    secret, last = _apps[username]
    current = int(clock.now().timestamp()) // PERIOD
    step = max(current, last + 1)
    if step > current + 1:
        time.sleep((step - 1) * PERIOD - clock.now().timestamp() + 0.05)
        assert int(clock.now().timestamp()) // PERIOD >= step - 1, "the clock is frozen: no fresh TOTP step"
    _apps[username] = (secret, step)
    return pyotp.TOTP(secret).at(step * PERIOD)


def password_step(client: Client, username: str, password: str, next_path: str = "/") -> Reply:
    token = csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )


def sign_in(client: Client, username: str, password: str, next_path: str = "/") -> Reply:
    """Returns the final reply (303 to ``next_path`` when signed in)."""
    reply = password_step(client, username, password, next_path)
    location = str(getattr(reply, "headers", {}).get("location", ""))  # type: ignore[attr-defined]
    if reply.status_code != 303 or location != "/login/second-factor":
        return reply
    page = client.get("/login/second-factor")
    enrol = TOTP_SECRET.search(page.text)
    if enrol is not None:
        _apps[username] = (enrol.group(1), -1)
    elif 'name="method" value="totp"' not in page.text:
        # No TOTP app on this account (whatever an earlier test bound under the same name): the SMS code.
        return _by_sms(client, page.text)
    assert username in _apps, f"{username} has TOTP from elsewhere; enrol it through sign_in first"
    return client.post(
        "/login/second-factor",
        data={"code": totp_code(username), "method": "totp", "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )


def _by_sms(client: Client, page: str) -> Reply:
    """A staff member with a phone and no TOTP app: the code the sandbox gateway "sent" to the phone."""
    sent = client.post("/login/second-factor/sms", data={"csrf_token": csrf(page)})
    code = last_sms_code(client.app.state.platform)  # type: ignore[attr-defined]
    return client.post(
        "/login/second-factor",
        data={"code": code, "method": "sms", "csrf_token": csrf(sent.text)},
        follow_redirects=False,
    )


def last_sms_code(platform: Any) -> str:
    """The code in the latest SMS, once the worker has handed it to the sandbox gateway."""
    platform.worker().run_until_idle()
    with platform.uow() as uow:
        message = notify.list_sandbox_messages(uow, OPERATOR, channel=notify.Channel.SMS, limit=1)[0]
    code = SMS_CODE.search(message.body)
    assert code, message.body
    return code.group(1)


def signed_in(client: Client, username: str, password: str) -> None:
    reply = sign_in(client, username, password)
    assert reply.status_code == 303, reply.text[:2000]
