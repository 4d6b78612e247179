"""A diagram for BPMN that has none.

BPMN written by hand or exported by a tool without diagram interchange (BPMN DI) executes fine, but the
modeler cannot draw it. When a saved definition has no ``bpmndi:BPMNDiagram``, one is laid out here: each
element in the column of its longest path from a start event, left to right, one row per element of a
column, flows as straight or elbowed lines, boundary events on their task's lower edge. A clerk can then
open it in the modeler and move things about.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from lxml import etree

from wanshi.workflow.engine.parser import safe_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NOT_NODES = frozenset(
    {
        "sequenceFlow",
        "laneSet",
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "textAnnotation",
        "association",
        "ioSpecification",
        "extensionElements",
        "documentation",
        "property",
    }
)
SIZES = {"event": (36, 36), "gateway": (50, 50), "activity": (100, 80)}
COLUMN = 170
ROW = 130
LEFT = 100
TOP = 80


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


def _kind(tag: str) -> str:
    if tag.endswith("Event"):
        return "event"
    if tag.endswith("Gateway"):
        return "gateway"
    return "activity"


def with_layout(bpmn_xml: str) -> str:
    """The document unchanged when it has a diagram; otherwise with one laid out for its first process."""
    try:
        root = safe_xml(bpmn_xml)
    except etree.XMLSyntaxError:
        # Left for parse_definition, which names the problem in Chinese.
        return bpmn_xml
    if root.find(f".//{{{BPMNDI}}}BPMNDiagram") is not None:
        return bpmn_xml
    process = root.find(f"{{{BPMN}}}process")
    if process is None:
        return bpmn_xml
    nodes = {
        el.get("id"): el
        for el in process
        if isinstance(el.tag, str) and _local(el) not in NOT_NODES and el.get("id")
    }
    flows = [el for el in process if isinstance(el.tag, str) and _local(el) == "sequenceFlow"]
    boundary = {i: el.get("attachedToRef") for i, el in nodes.items() if _local(el) == "boundaryEvent"}
    columns = _columns(nodes, flows, boundary)
    positions = _positions(nodes, columns, boundary)
    diagram = etree.SubElement(
        root, f"{{{BPMNDI}}}BPMNDiagram", nsmap={"bpmndi": BPMNDI, "dc": DC, "di": DI}, id="Diagram_generated"
    )
    plane = etree.SubElement(
        diagram, f"{{{BPMNDI}}}BPMNPlane", id="Plane_generated", bpmnElement=process.get("id")
    )
    for node_id, (x, y, w, h) in positions.items():
        shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{node_id}_di", bpmnElement=node_id)
        if _kind(_local(nodes[node_id])) == "gateway":
            shape.set("isMarkerVisible", "true")
        etree.SubElement(shape, f"{{{DC}}}Bounds", x=str(x), y=str(y), width=str(w), height=str(h))
    for flow in flows:
        source, target = positions.get(flow.get("sourceRef")), positions.get(flow.get("targetRef"))
        if source is None or target is None or not flow.get("id"):
            continue
        edge = etree.SubElement(
            plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow.get('id')}_di", bpmnElement=flow.get("id")
        )
        for x, y in _waypoints(source, target):
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(x), y=str(y))
    return str(etree.tostring(root, encoding="unicode", xml_declaration=False))


def _columns(nodes: dict[str, Any], flows: list[Any], boundary: dict[str, str | None]) -> dict[str, int]:
    """Longest distance from a start (a node nothing flows into), breadth first; a loop back is not followed
    again once every node has a column."""
    outgoing: dict[str, list[str]] = defaultdict(list)
    incoming: dict[str, int] = defaultdict(int)
    for flow in flows:
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in nodes and target in nodes:
            outgoing[source].append(target)
            incoming[target] += 1
    starts = [i for i in nodes if incoming[i] == 0 and i not in boundary]
    column = dict.fromkeys(starts, 0)
    queue = deque(starts)
    visits: dict[str, int] = defaultdict(int)
    while queue:
        node = queue.popleft()
        for target in outgoing[node]:
            proposed = column[node] + 1
            if target not in column or (proposed > column[target] and visits[target] < len(nodes)):
                column[target] = proposed
                visits[target] += 1
                queue.append(target)
    for node_id, host in boundary.items():
        if host in column:
            column[node_id] = column[host]
            for target in outgoing[node_id]:
                column.setdefault(target, column[host] + 1)
    for node_id in nodes:
        column.setdefault(node_id, 0)
    return column


def _positions(
    nodes: dict[str, Any], columns: dict[str, int], boundary: dict[str, str | None]
) -> dict[str, tuple[int, int, int, int]]:
    rows: dict[int, int] = defaultdict(int)
    placed: dict[str, tuple[int, int, int, int]] = {}
    for node_id in sorted((i for i in nodes if i not in boundary), key=lambda i: columns[i]):
        w, h = SIZES[_kind(_local(nodes[node_id]))]
        column, row = columns[node_id], rows[columns[node_id]]
        rows[column] += 1
        centre_x, centre_y = LEFT + column * COLUMN + 50, TOP + row * ROW + 40
        placed[node_id] = (centre_x - w // 2, centre_y - h // 2, w, h)
    for node_id, host in boundary.items():
        if host in placed:
            hx, hy, hw, hh = placed[host]
            placed[node_id] = (hx + hw // 2 - 18, hy + hh - 18, 36, 36)
    return placed


def _waypoints(source: tuple[int, int, int, int], target: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    sx, sy, sw, sh = source
    tx, ty, tw, th = target
    start = (sx + sw, sy + sh // 2)
    end = (tx, ty + th // 2)
    if end[0] > start[0]:
        if start[1] == end[1]:
            return [start, end]
        middle = (start[0] + end[0]) // 2
        return [start, (middle, start[1]), (middle, end[1]), end]
    # A flow back to an earlier column goes round below both.
    below = max(sy + sh, ty + th) + 40
    bottom_start = (sx + sw // 2, sy + sh)
    bottom_end = (tx + tw // 2, ty + th)
    return [bottom_start, (bottom_start[0], below), (bottom_end[0], below), bottom_end]
