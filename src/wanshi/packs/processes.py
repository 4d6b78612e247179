"""The forms and processes pack kinds: a province's standard forms (with shared field groups and templates)
and its BPMN processes, loaded through the forms and process centres' own services.

forms file::

    forms:
      - key: marriage-appointment          # the form's key, as processes and items name it
        kind: form                         # form, fragment (共享字段组) or template
        organisation: 安徽省民政厅          # the owning department, in division_code
        division_code: "340000"
        document: {title: ..., fields: [...], rules: [...]}     # or file: forms/x.json

processes file::

    processes:
      - key: marriage_registration
        name: 婚姻登记
        organisation: 安徽省民政厅
        division_code: "340000"
        bpmn: processes/marriage.bpmn      # relative to the file
        dmn: [processes/fee.dmn]           # optional decision tables

A loaded entry is published (deployed) as a new version only when its content changed.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wanshi.bootstrap import Platform
from wanshi.forms import api as forms
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import ValidationFailed
from wanshi.org import api as org
from wanshi.packs.loader import KindResult, PackFile, each_entry, naming_entry
from wanshi.workflow import api as workflow


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FormEntry(_Entry):
    key: str
    kind: forms.FormKind = forms.FormKind.FORM
    organisation: str
    division_code: str
    document: dict[str, Any] | None = None
    file: str = ""


class ProcessEntry(_Entry):
    key: str
    name: str
    organisation: str
    division_code: str
    bpmn: str
    dmn: list[str] = Field(default_factory=list)


def _read(pack_file: PackFile, relative: str) -> str:
    path = (pack_file.directory / relative).resolve()
    if not path.is_relative_to(pack_file.directory.resolve()) or not path.is_file():
        raise ValidationFailed(f"包内文件不存在：{relative}", code="pack_file_missing")
    return path.read_text(encoding="utf-8")


def _count(outcomes: Counter[str], kind: str) -> KindResult:
    return KindResult(kind, outcomes["created"], outcomes["updated"], outcomes["unchanged"])


def load_forms(platform: Platform, uow: UnitOfWork, pack_file: PackFile, actor: Actor) -> KindResult:
    outcomes: Counter[str] = Counter()
    for index, label, raw in each_entry(pack_file, "forms", "key"):
        with naming_entry(pack_file, index, label):
            entry = FormEntry.model_validate(raw)
            document = (
                entry.document if entry.document is not None else json.loads(_read(pack_file, entry.file))
            )
            owner = org.find_organisation(uow, entry.division_code, entry.organisation)
            cmd = forms.SaveFormEntry(
                key=entry.key, kind=entry.kind, organisation_id=owner.id, document=document
            )
            outcomes[forms.save_form_entry(uow, cmd, actor)] += 1
    return _count(outcomes, "forms")


def load_processes(platform: Platform, uow: UnitOfWork, pack_file: PackFile, actor: Actor) -> KindResult:
    outcomes: Counter[str] = Counter()
    for index, label, raw in each_entry(pack_file, "processes", "key"):
        with naming_entry(pack_file, index, label):
            entry = ProcessEntry.model_validate(raw)
            owner = org.find_organisation(uow, entry.division_code, entry.organisation)
            cmd = workflow.SaveProcessEntry(
                key=entry.key,
                organisation_id=owner.id,
                name=entry.name,
                bpmn_xml=_read(pack_file, entry.bpmn),
                dmn_xml=tuple(_read(pack_file, d) for d in entry.dmn),
            )
            outcomes[workflow.save_process_entry(uow, cmd, platform.actions, actor)] += 1
    return _count(outcomes, "processes")
