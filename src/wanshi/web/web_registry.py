"""What each context with a web face contributes: routers, template folders and admin-area sections.

The admin area (/admin) is shared: each context's web.py lists its `admin_sections`, and one layout
shows every section the actor's roles allow, so no context needs to know another's rules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute

from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotAuthenticated, PermissionDenied, WanshiError
from wanshi.web.errors import field_errors
from wanshi.web.templating import render

if TYPE_CHECKING:
    from wanshi.bootstrap import Platform

TEMPLATE_PACKAGES = [
    "wanshi.web",
    "wanshi.identity",
    "wanshi.datahub.registry",
    "wanshi.datahub.quality",
    "wanshi.items",
    "wanshi.forms",
    "wanshi.workflow",
]

# Each context with a web.py that exposes `routers: list[APIRouter]` adds its module here; a module that
# also exposes `admin_sections: list[AdminSection]` appears in the admin navigation.
WEB_MODULES: list[str] = [
    "wanshi.notify.web",
    "wanshi.workdays.web",
    "wanshi.org.web",
    "wanshi.identity.web.staff",
    "wanshi.identity.web.oidc",
    "wanshi.identity.web.developer",
    "wanshi.identity.web.login",
    "wanshi.identity.web.enterprise",
    "wanshi.identity.web.account",
    "wanshi.audit.web",
    "wanshi.ops.web",
    "wanshi.tickets.web",
    "wanshi.datahub.catalogue.web",
    "wanshi.datahub.ingest.web",
    "wanshi.datahub.registry.web",
    "wanshi.datahub.quality.web",
    "wanshi.items.web",
    "wanshi.items.admin_web",
    "wanshi.forms.web",
    "wanshi.forms.designer_web",
    "wanshi.workflow.web",
    "wanshi.workflow.admin_web",
]


def priority_routes() -> list[BaseRoute]:
    """Hot routes some modules expose as ``priority_routes``: matched right after the probes, before the
    routers (matching walks the routes in order, and the routers hold hundreds)."""
    routes: list[BaseRoute] = []
    for module in WEB_MODULES:
        routes.extend(getattr(importlib.import_module(module), "priority_routes", []))
    return routes


def context_routers() -> list[APIRouter]:
    routers: list[APIRouter] = []
    for module in WEB_MODULES:
        routers.extend(importlib.import_module(module).routers)
    return routers


@dataclass(frozen=True)
class Stat:
    label: str  # a message id
    value: int
    tone: str = ""  # "ok", "warn" or "bad": the colour of its bar


@dataclass(frozen=True)
class AdminSection:
    href: str
    label: str  # a message id
    order: int
    # The same rule the section's services authorise with, so the navigation never offers a refusal.
    allowed: Callable[[Actor], bool]
    description: str = ""  # a message id
    stats: Callable[[Platform, Actor], list[Stat]] | None = None
    chart: bool = False  # show the stats as a bar chart rather than as figures


def permitted(rule: Callable[[Actor], object]) -> Callable[[Actor], bool]:
    """A navigation predicate from a policy that raises PermissionDenied instead of answering."""

    def allowed(actor: Actor) -> bool:
        try:
            rule(actor)
        except (PermissionDenied, NotAuthenticated):
            return False
        return True

    return allowed


def visible_admin_sections(actor: Actor) -> list[AdminSection]:
    found: list[AdminSection] = []
    for module in WEB_MODULES:
        found.extend(getattr(importlib.import_module(module), "admin_sections", []))
    return sorted((s for s in found if s.allowed(actor)), key=lambda s: s.order)


def china_time(value: datetime | None) -> str:
    """Times are stored in UTC; people in the admin area read them in China time."""
    if value is None:
        return ""
    return clock.as_utc(value).astimezone(clock.CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def page_url(request: Request, page: int) -> str:
    """This page's URL with its filters kept and only the page number changed."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return f"{request.url.path}?{urlencode([*params, ('page', str(page))])}"


def form_problems(exc: ValidationError | WanshiError) -> tuple[dict[str, str], str]:
    """Messages per form field and one for the whole form, to show beside the fields a person filled in."""
    if isinstance(exc, ValidationError):
        fields: dict[str, str] = {}
        general = ""
        for problem in field_errors(list(exc.errors())):
            if problem["field"]:
                # "roles.0" is a problem with the roles field: the form has one control for the list.
                fields.setdefault(problem["field"].split(".")[0], problem["message"])
            else:
                general = problem["message"]
        return fields, general
    field = exc.details.get("field")
    if isinstance(field, str) and field:
        return {field: exc.message}, ""
    return {}, exc.message


def render_admin(
    request: Request,
    actor: Actor,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page of the admin area: the shared layout needs the navigation this actor may see."""
    sections = visible_admin_sections(actor)
    # The section a page belongs to: the longest href its path starts with (/admin/workflow/supervision is
    # 效能监察, not 流程中心).
    matching = [s.href for s in sections if request.url.path.startswith(s.href)]
    return render(
        request,
        template,
        {
            "admin_nav": sections,
            "current_section": max(matching, key=len, default=""),
            "china_time": china_time,
            "page_url": lambda page: page_url(request, page),
            **(context or {}),
        },
        status_code=status_code,
    )
