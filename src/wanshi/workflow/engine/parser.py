"""Reading BPMN 2.0 and DMN 1.3 with the platform's extension attributes (namespace ``wanshi``).

On a user task: ``roles`` and ``orgs`` (candidate groups; an org token ``$name`` is read from the process
variable ``name`` when the task is created), ``form`` (a form key of the forms centre), ``timeLimit`` (working
days for the step) and ``pause`` (the time limit stops while the task waits: 补正, expert review …).
On a service task: ``action`` and ``resultVariable``, with ``wanshi:Input`` children (name, expression).
On a business rule task: ``decision`` (a DMN decision id) and ``resultVariable``.
Everything else is standard BPMN; scripts and conditions are sandboxed Python expressions.
"""

from __future__ import annotations

from typing import Any, ClassVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.event_parsers import (
    BoundaryEventParser,
    IntermediateCatchEventParser,
    StartEventParser,
)
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import first, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    IntermediateCatchEvent,
    StartEvent,
    UserTask,
)
from SpiffWorkflow.camunda.specs import BusinessRuleTask
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from wanshi.workflow.engine.specs import ClockedDuration, ClockedTimeDate, PlatformServiceTask

NS = "http://wanshi.org/schema/bpmn/1"
LIST_ATTRIBUTES = ("roles", "orgs")
TEXT_ATTRIBUTES = ("form", "action", "resultVariable", "decision", "pause")
INT_ATTRIBUTES = ("timeLimit",)


def read_extensions(node: Any) -> dict[str, Any]:
    """The wanshi attributes and inputs of a BPMN element, in one plain dict."""
    out: dict[str, Any] = {}
    for name in LIST_ATTRIBUTES:
        value = node.get(f"{{{NS}}}{name}")
        if value:
            out[name] = tuple(t.strip() for t in value.split(",") if t.strip())
    for name in TEXT_ATTRIBUTES:
        value = node.get(f"{{{NS}}}{name}")
        if value and value.strip():
            out[name] = value.strip()
    for name in INT_ATTRIBUTES:
        value = node.get(f"{{{NS}}}{name}")
        if value and value.strip().isdigit():
            out[name] = int(value.strip())
    inputs = {
        element.get("name"): element.get("expression") or ""
        for element in node.iter(f"{{{NS}}}Input")
        if element.get("name")
    }
    if inputs:
        out["inputs"] = inputs
    return out


class WanshiTaskParser(TaskParser):  # type: ignore[misc]
    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        return read_extensions(node if node is not None else self.node)


class BusinessRuleParser(WanshiTaskParser):
    @staticmethod
    def get_decision_ref(node: Any) -> str | None:
        value = node.get(f"{{{NS}}}decision")
        return str(value) if value else None

    def create_task(self) -> Any:
        decision = self.get_decision_ref(self.node)
        if not decision:
            raise ValidationException(
                "业务规则任务未指定决策表（wanshi:decision）", node=self.node, file_name=self.filename
            )
        engine = self.process_parser.parser.get_engine(decision, self.node)
        return BusinessRuleTask(self.spec, self.bpmn_id, dmnEngine=engine, **self.bpmn_attributes)


class _ClockedTimers:
    """Timer events on the platform's clock; cycles are refused (a time limit is not a schedule)."""

    def parse_timer_event(self, event: Any) -> Any:
        description = self.get_event_description(event)  # type: ignore[attr-defined]
        name = self.node.get("name", self.node.get("id"))  # type: ignore[attr-defined]
        time_date = first(self.xpath(".//bpmn:timeDate"))  # type: ignore[attr-defined]
        if time_date is not None:
            return ClockedTimeDate(name, time_date.text, description=description)
        time_duration = first(self.xpath(".//bpmn:timeDuration"))  # type: ignore[attr-defined]
        if time_duration is not None:
            return ClockedDuration(name, time_duration.text, description=description)
        raise ValidationException(
            "定时事件只支持日期（timeDate）或时长（timeDuration），不支持周期（timeCycle）",
            node=self.node,  # type: ignore[attr-defined]
            file_name=self.filename,  # type: ignore[attr-defined]
        )


class StartParser(_ClockedTimers, StartEventParser):  # type: ignore[misc]
    pass


class CatchParser(_ClockedTimers, IntermediateCatchEventParser):  # type: ignore[misc]
    pass


class BoundaryParser(_ClockedTimers, BoundaryEventParser):  # type: ignore[misc]
    pass


class WanshiParser(BpmnDmnParser):  # type: ignore[misc]
    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[Any, Any]]] = {
        full_tag("userTask"): (WanshiTaskParser, UserTask),
        full_tag("serviceTask"): (WanshiTaskParser, PlatformServiceTask),
        full_tag("businessRuleTask"): (BusinessRuleParser, BusinessRuleTask),
        full_tag("startEvent"): (StartParser, StartEvent),
        full_tag("intermediateCatchEvent"): (CatchParser, IntermediateCatchEvent),
        full_tag("boundaryEvent"): (BoundaryParser, BoundaryEvent),
    }


def safe_xml(text: str | bytes) -> Any:
    """Parse untrusted XML without entities, DTDs or network access (no XXE, no billion laughs)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    data = text.encode("utf-8") if isinstance(text, str) else text
    return etree.fromstring(data, parser)


def decisions_in(dmn_xml: str) -> list[tuple[str, str]]:
    """(id, name) of the decisions a DMN document defines, for the designer's list."""
    try:
        root = safe_xml(dmn_xml)
    except etree.XMLSyntaxError:
        return []
    return [
        (d.get("id", ""), d.get("name") or d.get("id", ""))
        for d in root.iter()
        if etree.QName(d).localname == "decision"
    ]
