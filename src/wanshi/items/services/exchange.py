"""Exchanging the catalogue as files: export what the actor may see as the Excel workbook departments keep or
as the JSON interchange document, and import such a file back.

An import is one transaction. Every entry of the file is read and then run through ``records.apply_entry``
(the step ``save_entry`` commits) inside a savepoint of its own, so each gets the catalogue's full rules,
history and audit; an entry that is refused becomes a problem of the report. With any problem, in the
reading or in the saving, everything is rolled back and nothing changes; otherwise it all commits at once.
Importing the file one just exported changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wanshi.infra.uow import UnitOfWork
from wanshi.items import jsonio, policies, repository, sheets
from wanshi.items.domain.documents import RecordKind, parse_document
from wanshi.items.domain.elements import ELEMENT_LABELS
from wanshi.items.domain.records import Record, RecordState
from wanshi.items.services import reading, records
from wanshi.items.sheets import ItemEntry, Problem
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotFound, WanshiError
from wanshi.org import api as org

# The province whose departments answer for basic entries (a basic entry's file row has no division).
PROVINCE = "340000"
PAGE = 500
ORGANISATION_HEADER = "实施主体"


class ExchangeFormat(StrEnum):
    XLSX = "xlsx"
    JSON = "json"

    @property
    def media_type(self) -> str:
        if self is ExchangeFormat.XLSX:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return "application/json"


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


# --- export -------------------------------------------------------------------------------------------------
def export_entries(uow: UnitOfWork, query: reading.RecordQuery, fmt: ExchangeFormat, actor: Actor) -> bytes:
    """The basic and implementation entries of the list the query selects (bundles have no file form; a
    withdrawn entry is not exported): the working version to those who may edit it, else the published."""
    uow.authorize(policies.can_list(actor), actor, "items.record.export", object_type="item_record")
    entries = list(_entries(uow, query, actor))
    uow.audit(actor, "items.record.export", object_type="item_record", detail={"count": len(entries)})
    uow.commit()
    return sheets.write_workbook(entries) if fmt is ExchangeFormat.XLSX else jsonio.write_json(entries)


def _entries(uow: UnitOfWork, query: reading.RecordQuery, actor: Actor) -> Iterator[ItemEntry]:
    offset = 0
    while True:
        page = reading.list_records(uow, query.model_copy(update={"limit": PAGE, "offset": offset}), actor)
        for r in page.records:
            entry = _entry(uow, r, page.organisation_names.get(r.organisation_id, ""), actor)
            if entry is not None:
                yield entry
        offset += PAGE
        if offset >= page.total or not page.records:
            return


def _entry(uow: UnitOfWork, r: Record, organisation_name: str, actor: Actor) -> ItemEntry | None:
    if r.kind not in sheets.KINDS or r.state is RecordState.WITHDRAWN:
        return None
    editor = policies.can_edit(actor, r.organisation_id, r.division_code)
    number = r.working_version if editor and r.working_version is not None else r.published_version
    version = repository.get_version(uow.session, r.id, number) if number is not None else None
    if version is None:
        return None
    basic = r.kind is RecordKind.BASIC
    return ItemEntry(
        r.kind, r.code, r.basic_code, organisation_name, "" if basic else r.division_code, version.document
    )


# --- import -------------------------------------------------------------------------------------------------
def import_entries(
    uow: UnitOfWork, content: bytes, fmt: ExchangeFormat, actor: Actor, publish: bool = False
) -> ImportReport:
    """Create or update the file's entries (published too when ``publish``, for a reviewer); every problem
    is reported with its sheet, row and column, and with any problem nothing changes."""
    uow.authorize(policies.can_import(actor), actor, "items.record.import", object_type="item_record")
    read = sheets.read_workbook(content) if fmt is ExchangeFormat.XLSX else jsonio.read_json(content)
    places = _Places(content, fmt)
    problems = list(read.problems)
    outcomes = {"created": 0, "updated": 0, "unchanged": 0}
    # A basic entry first: an implementation in the same file may be claimed from it.
    for entry in sorted(read.entries, key=lambda e: e.kind is not RecordKind.BASIC):
        outcome, found = _import_one(uow, entry, actor, publish, places)
        problems += found
        if outcome:
            outcomes[outcome] += 1
    if problems:
        uow.rollback()
        return ImportReport(0, 0, 0, tuple(problems))
    uow.audit(
        actor, "items.record.import", object_type="item_record", detail={**outcomes, "publish": publish}
    )
    uow.commit()
    return ImportReport(outcomes["created"], outcomes["updated"], outcomes["unchanged"], ())


def _import_one(
    uow: UnitOfWork, entry: ItemEntry, actor: Actor, publish: bool, places: _Places
) -> tuple[str, list[Problem]]:
    def problem(column: str, code: str, message: str) -> tuple[str, list[Problem]]:
        return "", [places.problem(entry.code, column, code, message)]

    division = entry.division_code or PROVINCE
    try:
        body = org.find_organisation(uow, division, entry.organisation_name)
    except NotFound as exc:
        return problem(ORGANISATION_HEADER, "item_import_organisation_unknown", exc.message)
    # The same rules the save authorises with, asked first: a refusal there would end the whole import.
    if not policies.can_edit(actor, body.id, body.division_code):
        if _as_published(uow, entry):
            return "unchanged", []  # another's entry exported with one's own and left as it was
        return problem(ORGANISATION_HEADER, "item_import_forbidden", f"您不能维护“{body.name}”的事项")
    if publish and not policies.can_review(actor, body.division_code):
        return problem(ORGANISATION_HEADER, "item_import_forbidden", f"您不能发布“{body.name}”的事项")
    command = records.SaveEntry(
        kind=entry.kind,
        organisation_id=body.id,
        document=entry.document,
        code=entry.code if entry.kind is RecordKind.BASIC else "",
        basic_code=entry.basic_code,
        publish=publish,
    )
    try:
        with uow.session.begin_nested():
            return records.apply_entry(uow, command, actor), []
    except WanshiError as exc:
        return "", [
            places.problem(entry.code, column, exc.error_code, message) for column, message in _why(exc)
        ]


def _as_published(uow: UnitOfWork, entry: ItemEntry) -> bool:
    found = repository.find_by_code(uow.session, entry.code)
    if found is None or found.published_version is None or found.state is RecordState.WITHDRAWN:
        return False
    published = repository.get_version(uow.session, found.id, found.published_version)
    document = parse_document(entry.kind, entry.document).model_dump(mode="json")
    return published is not None and published.document == document


def _why(exc: WanshiError) -> list[tuple[str, str]]:
    """A refusal as (column, message) pairs: a breach of the province's locks at each element's column."""
    elements = exc.details.get("elements")
    if isinstance(elements, list) and elements:
        messages = exc.message.split("；")
        if len(messages) == len(elements):
            return [(_column(str(e)), m) for e, m in zip(elements, messages, strict=True)]
        return [(_column(str(elements[0])), exc.message)]
    if exc.error_code in ("item_basic_not_published", "item_basic_withdrawn"):
        return [("基本编码", exc.message)]
    if exc.error_code == "item_organisation_differs":
        return [(ORGANISATION_HEADER, exc.message)]
    listed = exc.details.get("problems")
    if isinstance(listed, list) and listed:
        return [("", str(p)) for p in listed]
    return [("", exc.message)]


def _column(element: str) -> str:
    if element not in ELEMENT_LABELS:
        return ""
    place = sheets.locate(("document", "elements", element))
    return place.header or ELEMENT_LABELS[element]


class _Places:
    """Where each entry of the file is: its row of 「事项清单」, or its position among a JSON file's entries
    (the reading leaves entries with problems out, so positions cannot be counted from what it returns)."""

    def __init__(self, content: bytes, fmt: ExchangeFormat) -> None:
        self.sheet = sheets.MAIN_TITLE if fmt is ExchangeFormat.XLSX else ""
        self.rows = _sheet_rows(content) if fmt is ExchangeFormat.XLSX else _json_positions(content)

    def problem(self, code: str, column: str, error_code: str, message: str) -> Problem:
        return Problem(self.sheet, self.rows.get(code, 0), column, error_code, message)


def _code(fields: dict[str, Any]) -> str:
    """An entry's code as the reading makes it: stated, else built from its parts."""
    kind = fields.get("kind")
    if not isinstance(kind, RecordKind):
        kind = (
            RecordKind.IMPLEMENTATION if fields.get("code") or fields.get("body_code") else RecordKind.BASIC
        )
    document = {k: fields[k] for k in ("body_code", "handling_no", "business_no") if k in fields}
    code, _issues = sheets.entry_issues(
        kind,
        str(fields.get("code", "")),
        str(fields.get("basic_code", "")),
        str(fields.get("organisation", "")),
        str(fields.get("division_code", "")),
        document,
    )
    return code


def _sheet_rows(content: bytes) -> dict[str, int]:
    book = sheets.open_workbook(content)
    try:
        if sheets.MAIN_TITLE not in book.sheetnames:
            return {}
        rows = book[sheets.MAIN_TITLE].iter_rows(values_only=True, max_col=sheets.MAX_COLUMNS)
        header = [str(v).strip() if v is not None else "" for v in next(rows, ())]
        columns = [(header.index(c.header), c) for c in sheets.ENTRY_COLUMNS if c.header in header]
        found: dict[str, int] = {}
        for number, raw in enumerate(rows, start=2):
            fields: dict[str, Any] = {}
            for index, column in columns:
                text = _cell(raw[index] if index < len(raw) else None)
                try:
                    if text:
                        fields[column.path[-1]] = column.codec.read(text)
                except sheets.CellError:
                    continue  # the reading reports the cell; its entry is left out
            found.setdefault(_code(fields), number)
        return found
    finally:
        book.close()


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _json_positions(content: bytes) -> dict[str, int]:
    listed = json.loads(content.decode("utf-8-sig")).get("entries", [])
    found: dict[str, int] = {}
    for number, raw in enumerate(listed, start=1):
        if isinstance(raw, dict):
            fields = {k: str(raw.get(k, "")).strip().upper() for k in ("code", "basic_code", "division_code")}
            stated = raw.get("document")
            document: dict[str, Any] = stated if isinstance(stated, dict) else {}
            kind = next((k for k in sheets.KINDS if k.value == raw.get("kind")), None)
            fields |= {"organisation": str(raw.get("organisation", ""))}
            found.setdefault(_code({**fields, **document, "kind": kind}), number)
    return found
