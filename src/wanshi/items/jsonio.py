"""Service items as a JSON document, for systems rather than clerks: a versioned envelope
``{"format": "wanshi.items/1", "entries": [...]}`` with each entry's identity and its document as the domain
dumps it. Reading reports problems like the workbook does (the entry's position instead of a row, the element
instead of a column) and refuses only what is not such a document at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from wanshi.items.domain.documents import RecordKind
from wanshi.items.sheets import (
    KINDS,
    Exportable,
    Issue,
    ItemEntry,
    Problem,
    SheetReading,
    document_issues,
    entry_issues,
    entry_of,
    locate,
)
from wanshi.kernel.errors import ValidationFailed

FORMAT = "wanshi.items/1"
MAX_BYTES = 50 * 1024 * 1024
MAX_ENTRIES = 20_000
IDENTITY = ("kind", "code", "basic_code", "organisation", "division_code")


def write_json(entries: Iterable[Exportable]) -> bytes:
    envelope = {"format": FORMAT, "entries": [_entry_json(entry_of(e)) for e in entries]}
    return json.dumps(envelope, ensure_ascii=False, indent=1).encode()


def _entry_json(entry: ItemEntry) -> dict[str, Any]:
    return {
        "kind": entry.kind.value,
        "code": entry.code,
        "basic_code": entry.basic_code,
        "organisation": entry.organisation_name,
        "division_code": entry.division_code,
        "document": entry.document,
    }


def read_json(content: bytes) -> SheetReading:
    if len(content) > MAX_BYTES:
        raise ValidationFailed(
            f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请分批导入", code="item_json_too_large"
        )
    try:
        envelope = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ValidationFailed("文件不是有效的 JSON（UTF-8）", code="item_json_unreadable") from exc
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise ValidationFailed(
            f"不是可识别的事项交换文件：format 应为“{FORMAT}”", code="item_json_format_unknown"
        )
    listed = envelope.get("entries")
    if not isinstance(listed, list):
        raise ValidationFailed("事项交换文件缺少 entries 列表", code="item_json_unreadable")
    if len(listed) > MAX_ENTRIES:
        raise ValidationFailed(f"一次最多导入 {MAX_ENTRIES} 个事项", code="item_json_too_large")
    problems: list[Problem] = []
    read = [(n, e) for n, raw in enumerate(listed, start=1) if (e := _entry(n, raw, problems)) is not None]
    first: dict[str, int] = {}
    doubled: set[str] = set()
    for number, entry in read:
        if entry.code in first:
            column = "实施编码" if entry.kind is RecordKind.IMPLEMENTATION else "基本编码"
            message = f"与第 {first[entry.code]} 个事项重复"
            problems.append(Problem("", number, column, "item_code_duplicate", message))
            doubled.add(entry.code)
        else:
            first[entry.code] = number
    return SheetReading([e for _n, e in read if e.code not in doubled], problems)


def _entry(number: int, raw: Any, problems: list[Problem]) -> ItemEntry | None:
    def report(issues: Iterable[Issue]) -> bool:
        found = False
        for issue in issues:
            problems.append(Problem("", number, _where(issue), issue.code, issue.message))
            found = True
        return found

    if not isinstance(raw, dict):
        report([Issue((), "item_entry_invalid", "应为一个对象")])
        return None
    fields = {key: raw.get(key, "") for key in IDENTITY}
    for key in ("code", "basic_code", "division_code"):
        if isinstance(fields[key], str):
            fields[key] = fields[key].strip().upper()
    wrong = [
        Issue((key,), "item_value_invalid", "应为文字")
        for key in IDENTITY
        if not isinstance(fields[key], str)
    ]
    kind = next((k for k in KINDS if k.value == fields["kind"]), None)
    if kind is None:
        wrong.append(Issue(("kind",), "item_value_invalid", "应为 basic 或 implementation"))
    document = raw.get("document")
    if not isinstance(document, dict):
        wrong.append(Issue(("document",), "item_value_invalid", "document 应为一个对象"))
    if report(wrong) or kind is None or not isinstance(document, dict):
        return None
    code, issues = entry_issues(
        kind, fields["code"], fields["basic_code"], fields["organisation"], fields["division_code"], document
    )
    # The body's code is checked by both; the identity's problem is the one kept.
    named = {_where(issue) for issue in issues}
    issues += [i for i in document_issues(kind, document) if _where(i) not in named]
    if report(issues):
        return None
    return ItemEntry(
        kind, code, fields["basic_code"], fields["organisation"], fields["division_code"], document
    )


def _where(issue: Issue) -> str:
    place = locate(issue.location)
    if place.part is None:
        return place.header
    return f"{place.part.title}第 {place.index + 1} 条·{place.header}" if place.header else place.part.title
