"""What changed between two versions of a record, as a reviewer reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wanshi.items.domain.elements import ELEMENT_LABELS

# Lists whose entries have a name: entries are matched by it, so a changed fee is one change, not two.
NAMED_PARTS = {
    "basis": "name",
    "fees": "name",
    "process": "name",
    "places": "name",
    "faq": "question",
    "materials": "name",
    "fields": "key",
    "parts": "basic_code",
}
DOCUMENT_LABELS = {
    "adjust": "可调整要素",
    "body_code": "实施主体统一社会信用代码",
    "body_nature": "实施主体性质",
    "handling_no": "办理项",
    "business_no": "业务办理项",
    "business_name": "业务办理项名称",
    "name": "名称",
    "audience": "服务对象",
    "life_event": "生命周期事件",
    "summary": "简介",
    "parts": "包含事项",
    "promised_days": "承诺办结时限（天）",
    "keywords": "关键词",
}


@dataclass(frozen=True)
class Change:
    key: str
    label: str
    entry: str  # the named entry of a list that changed; empty for the element as a whole
    before: Any  # None: added
    after: Any  # None: removed


def diff_documents(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Changes between two documents of one kind (JSON form); ``elements`` are compared element by element."""
    out: list[Change] = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        if key == "elements" and isinstance(old, dict) and isinstance(new, dict):
            out += diff_documents(old, new)
        elif old != new:
            out += _changes(key, old, new)
    return out


def _changes(key: str, old: Any, new: Any) -> list[Change]:
    label = ELEMENT_LABELS.get(key) or DOCUMENT_LABELS.get(key, key)
    name_key = NAMED_PARTS.get(key)
    if name_key is None or not isinstance(old, list) or not isinstance(new, list):
        return [Change(key, label, "", old, new)]
    olds = {str(e.get(name_key)): e for e in old if isinstance(e, dict)}
    news = {str(e.get(name_key)): e for e in new if isinstance(e, dict)}
    out = [Change(key, label, n, olds.get(n), news.get(n)) for n in dict.fromkeys([*olds, *news])]
    out = [c for c in out if c.before != c.after]
    if not out and [str(e.get(name_key)) for e in old] != [str(e.get(name_key)) for e in new]:
        out.append(
            Change(key, label, "（顺序）", [e.get(name_key) for e in old], [e.get(name_key) for e in new])
        )
    return out
