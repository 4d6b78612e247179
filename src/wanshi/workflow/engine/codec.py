"""An instance's state as stored: the task tree and data only, compressed.

SpiffWorkflow's serializer writes the whole process definition into every instance; ours leaves it out
(each deployed version keeps its definition once) and restores the state onto the version's parsed spec.
That keeps the stored state small and loading cheap. Decimal amounts and dates from forms keep their type.
"""

from __future__ import annotations

import json
import zlib
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

FORMAT = f"wanshi-state/1 spiff/{VERSION}"
LEVEL = 6


class StateConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct  # type: ignore[no-any-return]

    def restore_onto(self, dct: dict[str, Any], spec: Any, subprocess_specs: dict[str, Any]) -> Any:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _registry() -> tuple[Any, StateConverter]:
    registry = DefaultRegistry()
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]), "Decimal")
    registry.register(
        date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]), "date"
    )
    config = {cls: conv for cls, conv in DEFAULT_CONFIG.items() if cls is not BpmnWorkflow}
    for target_class, converter_class in config.items():
        converter_class(target_class, registry)
    return registry, StateConverter(BpmnWorkflow, registry)


REGISTRY, _CONVERTER = _registry()
_ENCODER = create_encoder(REGISTRY)


class StateFormatError(Exception):
    """A stored state written by another serializer version: migrate it before loading."""


def dump(workflow: Any) -> bytes:
    # Task data is written by the encoder (Decimal and dates by their registered converters); the
    # serializer's own "encoder mode" switch is left alone, since the registry is shared across threads.
    body = json.dumps(
        {"format": FORMAT, "state": _CONVERTER.to_dict(workflow)}, separators=(",", ":"), cls=_ENCODER
    )
    return zlib.compress(body.encode("utf-8"), LEVEL)


def load(data: bytes, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any) -> Any:
    document = json.loads(zlib.decompress(data))
    if document.get("format") != FORMAT:
        raise StateFormatError(f"stored state is {document.get('format')!r}, this engine reads {FORMAT!r}")
    workflow = _CONVERTER.restore_onto(document["state"], spec, subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


def plain(value: Any) -> Any:
    """Process data as JSON for the API and pages (amounts as strings, dates in ISO form)."""

    def simple(obj: Any) -> Any:
        if isinstance(obj, date):
            return obj.isoformat()
        return str(obj)

    return json.loads(json.dumps(value, default=simple))
