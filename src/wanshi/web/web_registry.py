"""Routers and template folders of every context with a web face; the app factory includes them all."""

from __future__ import annotations

import importlib

from fastapi import APIRouter

TEMPLATE_PACKAGES = ["wanshi.web"]

# Each context with a web.py that exposes `routers: list[APIRouter]` adds its module here.
WEB_MODULES: list[str] = [
    "wanshi.notify.web",
    "wanshi.workdays.web",
]


def context_routers() -> list[APIRouter]:
    routers: list[APIRouter] = []
    for module in WEB_MODULES:
        routers.extend(importlib.import_module(module).routers)
    return routers
