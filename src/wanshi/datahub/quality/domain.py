"""Quality operations (DC-4, 及时校核、动态更新): rule sets, runs, rule results and the tickets they feed.

Pure Python: no SQLAlchemy, no web. The engine (``engine.py``) measures a dataset; this module says what a
measurement means for the people who own the data:

- A rule set is stored per catalogue resource, as the text its author wrote (YAML or JSON), versioned:
  every save is a new version, so a run names exactly the rules it applied.
- A run is one measurement of a resource's dataset: its score and, per rule, rows checked and failed.
- A failing rule is a problem for the provider: ONE ticket per (resource, rule), however many rows fail
  and however often the check runs. While the ticket is open a later run that still fails adds a comment
  with its figures; a run in which the rule passes closes it (a department's 办结 is not taken on trust:
  the reload that fixes the data is what closes the ticket). See ``ticket_step``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from wanshi.kernel.errors import NotFound

RULES_TEXT_MAX = 200_000
NOTE_MAX = 500
# Sample keys a ticket lists: enough to find the rows, few enough to read on a phone.
TICKET_SAMPLES = 10
TICKET_SOURCE_TYPE = "quality_rule"
TICKET_CATEGORY = "data_quality"
DEFAULT_TICKET_DAYS = 5

# How old the newest load may be for each catalogue update cycle (更新周期) before a timeliness rule fails.
# A day of grace on the short cycles: a daily load that arrives at 02:00 instead of 01:00 is not late.
CYCLE_AGE: dict[str, timedelta | None] = {
    "realtime": timedelta(days=1),
    "daily": timedelta(days=2),
    "weekly": timedelta(days=8),
    "monthly": timedelta(days=32),
    "quarterly": timedelta(days=93),
    "yearly": timedelta(days=367),
    "irregular": None,
}


class RunKind(StrEnum):
    RULES = "rules"
    CONSISTENCY = "consistency"

    @property
    def label(self) -> str:
        return {"rules": "规则校核", "consistency": "跨源比对"}[self.value]


class Trigger(StrEnum):
    LOAD = "load"  # after a completed load of the mounted dataset
    CONSOLE = "console"
    CLI = "cli"
    API = "api"

    @property
    def label(self) -> str:
        return {"load": "归集后自动", "console": "控制台", "cli": "命令行", "api": "接口"}[self.value]


class RunNotFound(NotFound):
    code = "quality_run_not_found"
    default_message = "质量检查记录不存在"


@dataclass(frozen=True)
class StoredRuleSet:
    """One version of a resource's rule file, as written."""

    resource_id: int
    resource_code: str
    version: int
    text: str
    dataset: str
    rule_count: int
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class RuleOutcome:
    rule_id: str
    kind: str
    field: str
    severity: str
    message: str
    checked: int
    failed: int
    sample_keys: tuple[str, ...]  # masked
    ticket_id: int | None = None

    @property
    def passed(self) -> bool:
        return self.failed == 0

    @property
    def failure_rate(self) -> float:
        return self.failed / self.checked if self.checked else 0.0


@dataclass(frozen=True)
class Run:
    id: int
    kind: RunKind
    resource_id: int
    resource_code: str
    resource_name: str
    provider_organisation_id: int
    division_code: str
    dataset: str
    rule_set_version: int
    load_id: int | None
    rows: int
    score: float
    seconds: float
    trigger: Trigger
    actor: str
    at: datetime
    # What the run compared against (a consistency run's configuration name); "" for rule runs.
    detail: str = ""


@dataclass(frozen=True)
class TicketLink:
    """The ticket a (resource, rule) problem is being handled under, and the last run it has seen."""

    id: int
    resource_id: int
    rule_id: str
    ticket_id: int
    ticket_number: str
    organisation_id: int
    opened_run_id: int
    last_run_id: int
    closed_run_id: int | None


# --- masking ----------------------------------------------------------------------------------------------
_RESIDENT_ID = re.compile(r"^\d{17}[\dXx]$")
_CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_DIGITS = re.compile(r"^\d+$")


def mask_key(value: object) -> str:
    """A row key as it may appear in a ticket, a page or an export: ID and phone numbers keep only their
    ends, a name only its first character. Short numeric keys (row numbers) are not personal data."""
    text = "" if value is None else str(value).strip()
    if not text:
        return "（空）"
    if _RESIDENT_ID.fullmatch(text):
        return f"{text[:6]}********{text[-4:]}"
    if _MOBILE.fullmatch(text):
        return f"{text[:3]}****{text[-4:]}"
    if _CREDIT_CODE.fullmatch(text):
        # 统一社会信用代码 are public registration numbers, but an individual business's may embed an ID.
        return f"{text[:8]}******{text[-4:]}"
    if _DIGITS.fullmatch(text) and len(text) <= 10:
        return text
    if len(text) <= 2:
        return text[0] + "*"
    if len(text) <= 6:
        return text[0] + "*" * (len(text) - 1)
    return f"{text[:2]}{'*' * (len(text) - 4)}{text[-2:]}"


# --- tickets ----------------------------------------------------------------------------------------------
class TicketAction(StrEnum):
    NONE = "none"
    OPEN = "open"  # a failing rule without a ticket
    COMMENT = "comment"  # still failing: the figures of this run on the open ticket
    REOPEN = "reopen"  # the department said it was done, but this run still fails
    CLOSE = "close"  # this run passes: the ticket is done


def ticket_step(failed: int, checked: int, ticket_state: str | None, seen_this_run: bool) -> TicketAction:
    """What one run does to the ticket of one (resource, rule).

    ``ticket_state`` is the state of the current ticket (None: none, or the last one is closed);
    ``seen_this_run`` makes a repeated sync of the same run change nothing (a job retried after a crash).
    A rule that checked nothing (no rows, no timeliness metadata) says nothing about the data.
    """
    if seen_this_run or checked == 0:
        return TicketAction.NONE
    if ticket_state is None or ticket_state == "closed":
        return TicketAction.OPEN if failed else TicketAction.NONE
    if not failed:
        return TicketAction.CLOSE
    return TicketAction.REOPEN if ticket_state == "resolved" else TicketAction.COMMENT


def ticket_source_id(resource_id: int, rule_id: str) -> str:
    return f"{resource_id}:{rule_id}"


def ticket_title(resource_name: str, resource_code: str, outcome: RuleOutcome) -> str:
    return f"数据质量问题：{resource_name}（{resource_code}）规则“{outcome.rule_id}”未通过"


def ticket_text(run: Run, outcome: RuleOutcome) -> str:
    """What the provider reads: the rule, the figures and some masked keys to find the rows by."""
    samples = "、".join(outcome.sample_keys[:TICKET_SAMPLES]) or "（无）"
    return (
        f"资源：{run.resource_name}（{run.resource_code}），数据集 {run.dataset}\n"
        f"规则：{outcome.rule_id}（{outcome.kind}，字段 {outcome.field}，"
        f"{severity_label(outcome.severity)}）\n"
        f"说明：{outcome.message}\n"
        f"第 {run.id} 次检查（{run.trigger.label}）：检查 {outcome.checked} 条，不合格 {outcome.failed} 条"
        f"（{outcome.failure_rate:.2%}）。\n"
        f"部分不合格记录（已脱敏）：{samples}\n"
        "请核实并更正源数据后重新归集；重新归集后系统自动复核，规则通过即自动关闭本工单。"
    )


def still_failing_note(run: Run, outcome: RuleOutcome) -> str:
    return (
        f"第 {run.id} 次检查（{run.trigger.label}）仍未通过：检查 {outcome.checked} 条，"
        f"不合格 {outcome.failed} 条（{outcome.failure_rate:.2%}）。"
    )


def passed_note(run: Run, outcome: RuleOutcome) -> str:
    return (
        f"及时校核、动态更新：第 {run.id} 次检查（{run.trigger.label}）规则“{outcome.rule_id}”已通过"
        f"（检查 {outcome.checked} 条，不合格 0 条），系统自动关闭工单。"
    )


_SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}


def severity_label(severity: str) -> str:
    return _SEVERITY_LABELS.get(severity, severity)


# --- series -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """One value of a chart: a label (a day, a department, a rule) and its value, with how many runs."""

    label: str
    value: float
    count: int = 1
    key: str = ""  # what the label stands for (an organisation id, a rule id), for links


@dataclass(frozen=True)
class Series:
    name: str
    points: tuple[Point, ...]
