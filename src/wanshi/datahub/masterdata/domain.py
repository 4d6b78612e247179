"""Master data (主数据) domain: which entities are linked, how golden values survive, what a run measured.

Pure Python. The bulk work (normalising, Splink, clustering, survivorship over millions of rows) lives in
``transform``; this module says what is to be done and checks the operator's choices before any of it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from wanshi.kernel.errors import ValidationFailed

MAX_DATASETS = 10
DEFAULT_THRESHOLD = 0.9
# Survivorship priority listed for every field not given its own list.
ALL_FIELDS = "*"
# The generator's labels: a duplicate names the record it copies; an exact copy keeps that record's id.
LABEL_ID_COLUMN = "record_id"
LABEL_DUPLICATE_COLUMN = "duplicate_of"
OUTPUT_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class MasterdataError(ValidationFailed):
    code = "masterdata_invalid"


class EntityKind(StrEnum):
    PERSON = "person"
    ENTERPRISE = "enterprise"


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    FAILED = "failed"


class Decision(StrEnum):
    """Why a golden value won: the cluster has one record, or all its records agree, or the value came from
    the more authoritative source, the more recent load, the more frequent value, or (ties) the smaller
    value, so that the same input always gives the same golden record."""

    SINGLE = "single"
    AGREED = "agreed"
    PRIORITY = "priority"
    RECENT = "recent"
    FREQUENT = "frequent"
    TIE = "tie"


@dataclass(frozen=True)
class EntitySpec:
    kind: EntityKind
    label: str
    # Every field the golden record keeps, in order; ``required`` must be columns of every input dataset.
    fields: tuple[str, ...]
    required: tuple[str, ...]
    # The field whose exact agreement counts matching pairs when the prior is estimated (see transform).
    key: str
    # Fields compared as ISO dates and as division codes, normalised accordingly.
    date_fields: tuple[str, ...] = ()
    model: str = ""


PERSON = EntitySpec(
    kind=EntityKind.PERSON,
    label="自然人",
    fields=(
        "id_number",
        "name",
        "sex",
        "birth_date",
        "ethnicity",
        "household_division",
        "address",
        "phone",
    ),
    required=("id_number", "name", "birth_date"),
    key="id_number",
    date_fields=("birth_date",),
    model="person.json",
)
ENTERPRISE = EntitySpec(
    kind=EntityKind.ENTERPRISE,
    label="法人",
    fields=(
        "credit_code",
        "name",
        "entity_type",
        "legal_rep_name",
        "legal_rep_id_number",
        "established_date",
        "status",
        "division",
        "address",
    ),
    required=("credit_code", "name"),
    key="credit_code",
    date_fields=("established_date",),
    model="enterprise.json",
)
ENTITIES: Mapping[EntityKind, EntitySpec] = {PERSON.kind: PERSON, ENTERPRISE.kind: ENTERPRISE}


def entity_spec(kind: str) -> EntitySpec:
    try:
        return ENTITIES[EntityKind(kind)]
    except ValueError:
        choices = "、".join(k.value for k in EntityKind)
        raise MasterdataError(f"未知的主体类型“{kind}”，应为 {choices}", field="entity") from None


@dataclass(frozen=True)
class Survivorship:
    """Authoritative sources per field, most authoritative first (一数一源: the source that owns an item
    wins); ``*`` lists them for every field without a list of its own. Sources not listed rank last."""

    priority: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def check(self, spec: EntitySpec) -> None:
        unknown = sorted(set(self.priority) - {*spec.fields, ALL_FIELDS})
        if unknown:
            raise MasterdataError(
                f"优先级中有{spec.label}主数据没有的字段：{'、'.join(unknown)}", field="priority"
            )
        for name, sources in self.priority.items():
            if not sources or any(not s.strip() for s in sources):
                raise MasterdataError(f"字段 {name} 的权威来源列表为空", field="priority")
            if len(set(sources)) != len(sources):
                raise MasterdataError(f"字段 {name} 的权威来源重复", field="priority")

    def ranks(self, fields: Sequence[str]) -> list[tuple[str, str, int]]:
        """(field, source, rank) for every listed source; rank 0 is the most authoritative."""
        default = self.priority.get(ALL_FIELDS, ())
        return [
            (name, source, rank)
            for name in fields
            for rank, source in enumerate(self.priority.get(name, default))
        ]


def parse_priority(pairs: Sequence[str]) -> Survivorship:
    """``field=source1,source2`` items, as the CLI and the pack give them."""
    priority: dict[str, tuple[str, ...]] = {}
    for pair in pairs:
        name, sep, sources = pair.partition("=")
        if not sep or not name.strip():
            raise MasterdataError(f"“{pair}”应写作 字段=来源1,来源2", field="priority")
        priority[name.strip()] = tuple(s.strip() for s in sources.split(","))
    return Survivorship(priority)


def check_threshold(threshold: float) -> float:
    if not (0.0 < threshold < 1.0) or math.isnan(threshold):
        raise MasterdataError("匹配阈值应大于0且小于1", field="threshold")
    return threshold


def check_output(prefix: str) -> str:
    if not OUTPUT_PREFIX.match(prefix):
        raise MasterdataError(
            "输出数据集前缀须以小写字母开头，只含小写字母、数字和下划线，最长41个字符", field="output"
        )
    return prefix


def check_datasets(datasets: Sequence[str]) -> tuple[str, ...]:
    if not datasets:
        raise MasterdataError("请至少指定一个数据集", field="datasets")
    if len(datasets) > MAX_DATASETS:
        raise MasterdataError(f"一次最多匹配 {MAX_DATASETS} 个数据集", field="datasets")
    if len(set(datasets)) != len(datasets):
        raise MasterdataError("数据集重复", field="datasets")
    return tuple(datasets)


@dataclass(frozen=True)
class PairCounts:
    """Record pairs: put together by the linkage, together in the labels, and both."""

    predicted: int
    labelled: int
    correct: int


@dataclass(frozen=True)
class Evaluation:
    precision: float | None
    recall: float | None
    f1: float | None
    pairs: PairCounts


def evaluate(pairs: PairCounts) -> Evaluation:
    """Pairwise precision and recall: a cluster of n records asserts n(n-1)/2 pairs. Undefined (None) when
    there is nothing to divide by: no pair predicted (precision) or none labelled (recall)."""
    if pairs.correct > min(pairs.predicted, pairs.labelled) or pairs.correct < 0:
        raise ValueError(f"inconsistent pair counts {pairs}")
    precision = pairs.correct / pairs.predicted if pairs.predicted else None
    recall = pairs.correct / pairs.labelled if pairs.labelled else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else None
    )
    return Evaluation(precision, recall, f1, pairs)


@dataclass(frozen=True)
class Outputs:
    clusters: str
    golden: str
    lineage: str


def outputs(prefix: str) -> Outputs:
    return Outputs(f"{prefix}_cluster", f"{prefix}_golden", f"{prefix}_golden_lineage")


def run_batch(run_id: int, part: int | None = None) -> str:
    """The batch id of a run's output, ``run-<id>``; a run writes each output in parts ``run-<id>-part<n>``
    so that no output is held whole in memory."""
    batch = f"run-{run_id:08d}"
    return batch if part is None else f"{batch}-part{part:04d}"


def run_of_batch(batch: str) -> int | None:
    match = re.fullmatch(r"run-(\d+)(?:-part\d+)?", batch)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class RunFigures:
    rows: int = 0
    clusters: int = 0
    # Clusters of two or more records: the duplicates found.
    linked_clusters: int = 0
    evaluation: Evaluation | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class LinkageRun:
    id: int
    entity: EntityKind
    datasets: tuple[str, ...]
    output: str
    threshold: float
    status: RunStatus
    figures: RunFigures
    started_at: datetime
    finished_at: datetime | None
    created_by: str
    error: str = ""
