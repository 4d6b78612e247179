"""The master data context's public face: the only module other contexts import.

Linking reads one or more datasets of the analytical store (one per department, or one with a column naming
the department) and writes ``<output>_cluster`` (record -> cluster), ``<output>_golden`` (one record per
cluster) and ``<output>_golden_lineage`` (where each golden value came from) as batches
``run-<id>-part<n>``::

    run = masterdata.link_records(
        uow, platform.datastore, masterdata.LinkRecords(("population_police", "population_civil")), actor
    )
    run.figures.clusters, run.figures.evaluation.precision
"""

from __future__ import annotations

from wanshi.datahub.masterdata.domain import (
    ALL_FIELDS,
    DEFAULT_THRESHOLD,
    ENTERPRISE,
    PERSON,
    Decision,
    EntityKind,
    EntitySpec,
    Evaluation,
    LinkageRun,
    MasterdataError,
    Outputs,
    PairCounts,
    RunFigures,
    RunStatus,
    Survivorship,
    outputs,
    parse_priority,
    run_batch,
    run_of_batch,
)
from wanshi.datahub.masterdata.services import (
    LinkRecords,
    evaluate_linkage,
    get_run,
    link_records,
    list_runs,
)

__all__ = [
    "ALL_FIELDS",
    "DEFAULT_THRESHOLD",
    "ENTERPRISE",
    "PERSON",
    "Decision",
    "EntityKind",
    "EntitySpec",
    "Evaluation",
    "LinkRecords",
    "LinkageRun",
    "MasterdataError",
    "Outputs",
    "PairCounts",
    "RunFigures",
    "RunStatus",
    "Survivorship",
    "evaluate_linkage",
    "get_run",
    "link_records",
    "list_runs",
    "outputs",
    "parse_priority",
    "run_batch",
    "run_of_batch",
]
