"""Translations. Message ids are the Simplified Chinese text (the default language is always complete);
other languages come from gettext catalogues under locales/<lang>/*.po (one file per context, so
contexts never edit each other's catalogue), read with Babel.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

from babel.messages.pofile import read_po

DEFAULT_LOCALE: Final = "zh_CN"
LOCALES: Final = {"zh_CN": "简体中文", "en": "English"}
HTML_LANG: Final = {"zh_CN": "zh-CN", "en": "en"}


@cache
def catalogue(locale: str) -> dict[str, str]:
    if locale == DEFAULT_LOCALE:
        return {}
    merged: dict[str, str] = {}
    folder = resources.files("wanshi.web") / "locales" / locale
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".po"):
            continue
        with path.open("rb") as handle:
            parsed = read_po(handle, locale=locale)
        merged.update({str(m.id): str(m.string) for m in parsed if m.id and m.string and not m.fuzzy})
    return merged


def gettext(locale: str, message: str) -> str:
    return catalogue(locale).get(message, message) if locale != DEFAULT_LOCALE else message


def normalise_locale(value: str | None, default: str = DEFAULT_LOCALE) -> str:
    if not value:
        return default
    value = value.replace("-", "_")
    if value in LOCALES:
        return value
    if value.lower().startswith("en"):
        return "en"
    if value.lower().startswith("zh"):
        return "zh_CN"
    return default
