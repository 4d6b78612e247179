"""Jinja rendering with the request's language, actor, CSRF token and navigation."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from wanshi.kernel.actor import ANONYMOUS, Actor, ActorKind
from wanshi.web.auth import csrf_token
from wanshi.web.i18n import HTML_LANG, LOCALES, gettext, normalise_locale


def build_templates(template_packages: list[str]) -> Jinja2Templates:
    env = Environment(
        loader=ChoiceLoader([PackageLoader(pkg, "templates") for pkg in template_packages]),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


def request_locale(request: Request) -> str:
    default: str = request.app.state.platform.settings.default_locale
    return normalise_locale(request.session.get("locale"), default)


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    locale = request_locale(request)
    actor: Actor = getattr(request.state, "actor", None) or ANONYMOUS
    templates: Jinja2Templates = request.app.state.templates
    base = {
        "_": partial(gettext, locale),
        "locale": locale,
        "html_lang": HTML_LANG[locale],
        "locales": LOCALES,
        "actor": actor,
        "is_staff": actor.kind is ActorKind.STAFF,
        "csrf_token": csrf_token(request),
        "request_id": getattr(request.state, "request_id", "")
        or request.scope.get("state", {}).get("request_id", ""),
        "path": request.url.path,
    }
    return templates.TemplateResponse(request, template, {**base, **(context or {})}, status_code=status_code)
