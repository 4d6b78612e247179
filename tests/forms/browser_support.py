"""What the web tests of the forms and process centres share (imported by name: test folders are not
packages).

``form_fields`` reads a page's form as a browser would post it, so a test posts what a person could send and
not a hand-made dictionary. ``live_app`` runs the real app (``create_app`` over the test platform) on a free
port in a thread, for chromium; ``browser_sign_in`` signs a member of staff in through the login pages in that
browser, second factor included, as ``signin.sign_in`` does for a TestClient.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from playwright.sync_api import Page, expect

from signin import PERIOD, TOTP_SECRET, _apps, totp_code  # type: ignore[import-not-found]
from wanshi.bootstrap import Platform
from wanshi.web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
# Both the error summary and each field's own message name the field: "#f-<path with dots as dashes>".
FIELD_ERROR_ID = re.compile(r"^f-(.+)-error$")


class FormFields(HTMLParser):
    """The fields a browser would post from each form posting to the given action, as (name, value) pairs."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.forms: list[list[tuple[str, str]]] = []
        self.inside = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action and a.get("method", "").lower() == "post"
            if self.inside:
                self.forms.append([])
            return
        if not self.inside:
            return
        if tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
            return
        if "name" not in a or "disabled" in a:
            return
        fields = self.forms[-1]
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    fields.append((a["name"], a.get("value") or "on"))
            elif kind not in ("file", "submit", "button"):
                fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [v for v, _s in self._options[:1]]
            self.forms[-1].extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.forms[-1].append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def form_fields(html: str, action: str, nth: int = 0) -> list[tuple[str, str]]:
    """The ``nth`` form on the page that posts to ``action`` (a conflict box posts where the editor does)."""
    parser = FormFields(action)
    parser.feed(html)
    assert len(parser.forms) > nth, f"no form number {nth} posting to {action}"
    return parser.forms[nth]


def changed(fields: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    """The form as a person leaves it after typing ``values`` (replacing what was shown, adding the rest)."""
    out = [(name, values[name]) if name in values else (name, value) for name, value in fields]
    present = {name for name, _ in fields}
    return out + [(name, value) for name, value in values.items() if name not in present]


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def live_app(platform: Platform) -> Iterator[str]:
    """The platform's app on a free local port, with its real middleware and CSP; yields the base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def browser_sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Through the login form and the second-factor page, reading the TOTP secret from the enrolment page as
    a person scans it, and typing the code their app shows."""
    page.goto(f"{base_url}/login")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{base_url}/login/second-factor")
    secret = page.locator("[data-totp-secret]")
    if secret.count():
        found = TOTP_SECRET.search(secret.first.evaluate("e => e.outerHTML"))
        assert found
        _apps[username] = (found.group(1), -1)
    assert username in _apps, f"{username} has TOTP from elsewhere; enrol it here first"
    page.locator("input[name=method][value=totp] ~ .field input[name=code]").fill(totp_code(username))
    page.locator("form[action='/login/second-factor'] button[type=submit]").first.click()
    expect(page.locator("form[action='/logout']")).to_have_count(1, timeout=PERIOD * 1000)


def watch(page: Page) -> list[str]:
    """What went wrong in the page as it ran: script errors, console errors (a refused Content-Security-Policy
    shows there) and answers of 400 or more. A failed answer is listed by status and path, not through the
    console's "Failed to load resource", which names no address."""
    seen: list[str] = []
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    page.on(
        "console",
        lambda m: (
            seen.append(f"console: {m.text}")
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            seen.append(f"{r.status} {r.request.method} {urlsplit(r.url).path}") if r.status >= 400 else None
        ),
    )
    return seen


def shown_problems(page: Page) -> set[tuple[str, str]]:
    """(field path, message) of every field's own error message on the page, read as a person sees them."""
    found = set()
    for error in page.locator(".field-error").all():
        if not error.is_visible():
            continue
        match = FIELD_ERROR_ID.match(error.get_attribute("id") or "")
        assert match, "a field error names no field"
        path = match.group(1).replace("-", ".")
        message = error.inner_text().strip()
        found.add((path, re.sub(r"^错误：\s*", "", message)))
    return found


def summary_problems(page: Page) -> set[tuple[str, str]]:
    """(field path, message) of the error summary after a submission."""
    found = set()
    for link in page.locator(".error-summary li a").all():
        href = link.get_attribute("href") or ""
        assert href.startswith("#f-"), href
        found.add((href.removeprefix("#f-").replace("-", "."), link.inner_text().strip()))
    return found
