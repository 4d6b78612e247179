"""Every piece of admin-area text has its English translation, and the pages render in English."""

from __future__ import annotations

import re
from collections.abc import Callable
from importlib import resources

from admin_world import PASSWORD, build_world  # type: ignore[import-not-found]
from fastapi.testclient import TestClient

from wanshi.audit import web as audit_web
from wanshi.bootstrap import Platform
from wanshi.identity.api import ROLE_NAMES
from wanshi.identity.web import staff as identity_web
from wanshi.kernel.actor import Actor, ActorKind, Role, RoleGrant
from wanshi.ops import web as ops_web
from wanshi.org import web as org_web
from wanshi.org.domain import LEVEL_NAMES
from wanshi.web.errors import PYDANTIC_MESSAGES
from wanshi.web.i18n import catalogue
from wanshi.web.web_registry import TEMPLATE_PACKAGES, visible_admin_sections

MSGID = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")

EVERY_ROLE = Actor(
    kind=ActorKind.STAFF, username="all", grants=tuple(RoleGrant(r, 1, "340000") for r in Role)
)


def _template_msgids() -> set[str]:
    """Every template of every context, not only the admin area's."""
    found = set()
    pending = [resources.files(package) / "templates" for package in TEMPLATE_PACKAGES]
    while pending:
        for path in pending.pop().iterdir():
            if path.is_dir():
                pending.append(path)
            elif path.name.endswith(".html"):
                for double, single in MSGID.findall(path.read_text(encoding="utf-8")):
                    found.add(double or single)
    return found


def _python_msgids() -> set[str]:
    texts: set[str] = set()
    for mapping in (
        org_web.KIND_NAMES,
        org_web.FIELD_LABELS,
        LEVEL_NAMES,
        identity_web.FIELD_LABELS,
        identity_web.DONE_MESSAGES,
        ROLE_NAMES,
        audit_web.OUTCOME_NAMES,
        audit_web.FIELD_LABELS,
        ops_web.STATE_NAMES,
        PYDANTIC_MESSAGES,
    ):
        texts.update(mapping.values())
    for section in visible_admin_sections(EVERY_ROLE):
        texts.update({section.label, section.description})
    texts.update(ops_web.interval_text(n)[0] for n in (86400, 3600, 60, 1))
    return texts


def test_every_admin_message_has_an_english_translation() -> None:
    english = catalogue("en")
    missing = sorted((_template_msgids() | _python_msgids()) - set(english))
    assert missing == []


def test_admin_pages_render_in_english(
    platform: Platform, client: TestClient, login: Callable[[str, str], None]
) -> None:
    build_world(platform)
    login("admin", PASSWORD)
    client.get("/lang/en?next=/admin")
    home = client.get("/admin").text
    assert "Organisations" in home
    assert "Background jobs" in home
    jobs = client.get("/admin/jobs").text
    assert "Dead letters" in jobs
    assert "组织机构" not in home
