"""The aggregation context's public face: the only module other contexts import.

The catalogue hands a resource's fields over as a ``TargetSchema`` (``parse_schema`` reads the plain-data
form) and mounts the dataset by name; the loaded rows are in the analytical store under that name, the
rejected ones under ``quarantine_dataset(name)``::

    load = ingest.load_file(uow, platform.datastore, ingest.LoadFile(path, "population", schema), actor)
    load.counts.stored, load.counts.quarantined, load.counts.duplicate
"""

from __future__ import annotations

from wanshi.datahub.ingest.domain import (
    LOADED_AT_COLUMN,
    REASON_CODES_COLUMN,
    REASONS_COLUMN,
    ROW_COLUMN,
    SOURCE_COLUMN,
    FieldMapping,
    FieldSpec,
    FieldType,
    Identifier,
    Load,
    LoadCounts,
    LoadStatus,
    Reason,
    SourceFormat,
    TargetSchema,
    parse_schema,
)
from wanshi.datahub.ingest.services import (
    LoadFile,
    PullDatabase,
    PushBatch,
    get_load,
    list_loads,
    load_file,
    pull_database,
    push_batch,
    quarantine_dataset,
)

__all__ = [
    "LOADED_AT_COLUMN",
    "REASONS_COLUMN",
    "REASON_CODES_COLUMN",
    "ROW_COLUMN",
    "SOURCE_COLUMN",
    "FieldMapping",
    "FieldSpec",
    "FieldType",
    "Identifier",
    "Load",
    "LoadCounts",
    "LoadFile",
    "LoadStatus",
    "PullDatabase",
    "PushBatch",
    "Reason",
    "SourceFormat",
    "TargetSchema",
    "get_load",
    "list_loads",
    "load_file",
    "parse_schema",
    "pull_database",
    "push_batch",
    "quarantine_dataset",
]
