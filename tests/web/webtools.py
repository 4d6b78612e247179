"""Helpers for web tests (imported by name: the test folders are not packages)."""

from __future__ import annotations

import re

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)
