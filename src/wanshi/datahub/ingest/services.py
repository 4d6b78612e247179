"""Aggregation (归集) use cases: load a file, accept a pushed batch, pull from a database.

Exactly-once without a distributed transaction: a load's identity (``load_key``) is fixed before the first
row is read, chunk ``k`` of the load is written to the store as batch ``<key>-k`` (an atomic write that
replaces a batch of the same id), and the load record in the main database turns ``complete`` only after
the last chunk. A load that dies half-way is simply run again: it finds its record unfinished, rewrites the
chunks it had written (identically: same rows, same batch ids, the same load time from the record) and
finishes. A complete load met again adds nothing. Exact duplicate lines inside one source are stored once
and counted as ``duplicate``.

Each use case commits twice: when the load starts (so that a crash leaves a visible ``running`` record)
and when it ends (counts, status, audit entry). Bulk rows never pass through the main database.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wanshi.config import Settings
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.ingest import policies, repository
from wanshi.datahub.ingest.domain import (
    LOADED_AT_COLUMN,
    QUARANTINE_SUFFIX,
    REASON_CODES_COLUMN,
    REASONS_COLUMN,
    ROW_COLUMN,
    SOURCE_COLUMN,
    FieldMapping,
    Load,
    LoadCounts,
    LoadOwner,
    LoadStatus,
    PullSchedule,
    SourceFormat,
    TargetSchema,
    batch_id,
    batch_prefix,
    load_key,
    parse_schema,
)
from wanshi.datahub.ingest.readers import CHUNK_ROWS, content_hash, guess_format, open_source, records_table
from wanshi.datahub.ingest.transform import Deduplicator, HashedLines, Lineage, transform_chunk
from wanshi.datahub.store import DatasetStore
from wanshi.datahub.store.base import MAX_DATASET_NAME, StoreError, check_dataset
from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.logging import mask_personal_data
from wanshi.infra.uow import JobRequest, UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor
from wanshi.kernel.errors import Conflict, NotFound, ValidationFailed

MAX_PUSH_RECORDS = 100_000
# Chunks in flight at once: each holds about a chunk of raw and typed columns in memory.
MAX_WORKERS = 4
ERROR_MAX = 2000
PROGRESS_SECONDS = 2.0

Progress = Callable[[LoadCounts], None]


@dataclass(frozen=True)
class LoadFile:
    path: Path
    dataset: str
    schema: TargetSchema
    mapping: FieldMapping = field(default_factory=FieldMapping)
    # What lineage names as the source (a URL the file came from); the file name by default.
    source: str = ""
    format: SourceFormat | None = None
    # Force an encoding instead of detecting it (CSV and JSON Lines).
    encoding: str | None = None
    chunk_rows: int = CHUNK_ROWS
    owner: LoadOwner | None = None


@dataclass(frozen=True)
class PushBatch:
    dataset: str
    schema: TargetSchema
    idempotency_key: str
    records: tuple[dict[str, Any], ...]
    mapping: FieldMapping = field(default_factory=FieldMapping)
    source: str = "api"
    owner: LoadOwner | None = None


@dataclass(frozen=True)
class PullDatabase:
    dataset: str
    schema: TargetSchema
    url: str
    query: str
    watermark_column: str
    mapping: FieldMapping = field(default_factory=FieldMapping)
    chunk_rows: int = CHUNK_ROWS
    owner: LoadOwner | None = None
    # An engine that can only read (a mounted resource's, from the catalogue); else one from ``url``.
    engine: Engine | None = None


@dataclass(frozen=True)
class _Recipe:
    dataset: str
    schema: TargetSchema
    mapping: FieldMapping
    source: str
    format: SourceFormat
    content_hash: str
    key: str
    encoding: str
    owner: LoadOwner | None = None


def quarantine_dataset(dataset: str) -> str:
    return f"{dataset}{QUARANTINE_SUFFIX}"


def _check_target(dataset: str) -> None:
    """The dataset and its quarantine must both be valid store names: say so before any work starts."""
    check_dataset(dataset)
    if len(quarantine_dataset(dataset)) > MAX_DATASET_NAME:
        raise StoreError(
            f"数据集名称最长 {MAX_DATASET_NAME - len(QUARANTINE_SUFFIX)} 个字符（需留出隔离区后缀）",
            field="dataset",
        )


def load_file(
    uow: UnitOfWork, store: DatasetStore, cmd: LoadFile, actor: Actor, *, progress: Progress | None = None
) -> Load:
    uow.authorize(
        policies.can_load_file(actor),
        actor,
        "datahub.load_file",
        object_type="dataset",
        object_id=cmd.dataset,
    )
    _check_target(cmd.dataset)
    if not cmd.path.is_file():
        raise NotFound(f"找不到文件 {cmd.path}")
    fmt = cmd.format or guess_format(cmd.path)
    digest = content_hash(cmd.path)
    opened = open_source(cmd.path, fmt, encoding=cmd.encoding, chunk_rows=cmd.chunk_rows)
    recipe = _Recipe(
        dataset=cmd.dataset,
        schema=cmd.schema,
        mapping=cmd.mapping,
        source=cmd.source or cmd.path.name,
        format=fmt,
        content_hash=digest,
        key=load_key(digest, cmd.dataset, cmd.schema, cmd.mapping),
        encoding=opened.encoding,
        owner=cmd.owner,
    )
    return _run(uow, store, recipe, opened.chunks, actor, progress)


def push_batch(uow: UnitOfWork, store: DatasetStore, cmd: PushBatch, actor: Actor) -> Load:
    """A batch of JSON records pushed by a department's system. The same idempotency key with the same
    records answers the first load again; with different records it is refused."""
    uow.authorize(
        policies.can_push_batch(actor),
        actor,
        "datahub.push_batch",
        object_type="dataset",
        object_id=cmd.dataset,
    )
    _check_target(cmd.dataset)
    if not cmd.idempotency_key or len(cmd.idempotency_key) > 200:
        raise ValidationFailed("幂等键须为1–200个字符", field="idempotency_key")
    if not cmd.records or len(cmd.records) > MAX_PUSH_RECORDS:
        raise ValidationFailed(f"每批须有1–{MAX_PUSH_RECORDS}条记录", field="records")
    body = json.dumps(cmd.records, ensure_ascii=False, sort_keys=True, default=str)
    digest = hashlib.sha256(body.encode()).hexdigest()
    known = repository.get_push(uow.session, cmd.dataset, cmd.idempotency_key)
    if known is not None and known[0] != digest:
        raise Conflict(
            "该幂等键已用于另一批数据，请换用新的幂等键",
            code="ingest_idempotency_key_reused",
            field="idempotency_key",
        )
    recipe = _Recipe(
        dataset=cmd.dataset,
        schema=cmd.schema,
        mapping=cmd.mapping,
        source=cmd.source,
        format=SourceFormat.PUSH,
        content_hash=digest,
        # The key, not only the content: two pushes of equal records under two keys are two deliveries.
        key=load_key(f"push\n{cmd.idempotency_key}\n{digest}", cmd.dataset, cmd.schema, cmd.mapping),
        encoding="json",
        owner=cmd.owner,
    )

    def remember(session: Session, _load: Load) -> None:
        if repository.get_push(session, cmd.dataset, cmd.idempotency_key) is None:
            repository.add_push(session, cmd.dataset, cmd.idempotency_key, digest, _load.id, clock.now())

    records = list(cmd.records)
    chunks = (records_table(records[i : i + CHUNK_ROWS]) for i in range(0, len(records), CHUNK_ROWS))
    return _run(uow, store, recipe, chunks, actor, None, remember)


def pull_database(
    uow: UnitOfWork, store: DatasetStore, cmd: PullDatabase, actor: Actor, *, progress: Progress | None = None
) -> Load:
    """Rows of a department database newer than the last watermark pulled from it.

    The watermark moves in the same transaction that completes the load, so a pull that dies is re-run from
    the same watermark under the same load key and rewrites its batches.
    """
    uow.authorize(
        policies.can_pull_database(actor),
        actor,
        "datahub.pull_database",
        object_type="dataset",
        object_id=cmd.dataset,
    )
    _check_target(cmd.dataset)
    column = cmd.watermark_column
    if not column.replace("_", "").isalnum():
        raise ValidationFailed("水位列名只能包含字母、数字和下划线", field="watermark_column")
    safe_url = make_url(cmd.url).render_as_string(hide_password=True)
    source_key = hashlib.sha256(f"{cmd.dataset}\n{safe_url}\n{cmd.query}\n{column}".encode()).hexdigest()
    last = repository.get_watermark(uow.session, source_key)
    digest = hashlib.sha256(f"pull\n{source_key}\n{last}".encode()).hexdigest()
    # An interrupted pull from this watermark is resumed under its own key (its batches are rewritten);
    # otherwise every pull is a new load, even one that finds the same watermark as a pull that found nothing.
    interrupted = repository.unfinished(uow.session, cmd.dataset, digest)
    uow.session.rollback()
    key = (
        interrupted.load_key
        if interrupted
        else load_key(f"{digest}\n{clock.now().isoformat()}", cmd.dataset, cmd.schema, cmd.mapping)
    )
    recipe = _Recipe(
        dataset=cmd.dataset,
        schema=cmd.schema,
        mapping=cmd.mapping,
        source=safe_url,
        format=SourceFormat.DATABASE,
        content_hash=digest,
        key=key,
        encoding="database",
        owner=cmd.owner,
    )
    highest: list[Any] = []

    def rows() -> Iterator[pa.Table]:
        engine = cmd.engine or create_engine(cmd.url)
        where = f"WHERE q.{column} > :watermark " if last is not None else ""
        # The caller's query is the department's own SQL, run with its own credentials (system actor only).
        sql = text(f"SELECT * FROM ({cmd.query}) AS q {where}ORDER BY q.{column}")  # noqa: S608
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True).execute(
                    sql, {"watermark": last} if last is not None else {}
                )
                names = list(result.keys())
                for part in result.partitions(cmd.chunk_rows):
                    records = [dict(zip(names, row, strict=True)) for row in part]
                    highest.append(records[-1][column])
                    yield records_table(records)
        finally:
            if cmd.engine is None:
                engine.dispose()

    def advance(session: Session, _load: Load) -> None:
        if highest:
            value = highest[-1]
            shown = value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value)
            repository.set_watermark(session, source_key, cmd.dataset, column, shown, clock.now())

    return _run(uow, store, recipe, rows(), actor, progress, advance)


def get_load(uow: UnitOfWork, load_id: int, actor: Actor) -> Load:
    uow.authorize(policies.can_list_loads(actor), actor, "datahub.get_load", object_id=load_id)
    found = repository.get(uow.session, load_id)
    if found is None or not policies.can_see_load(actor, found):
        # Another department's load is answered as missing: its existence is not disclosed.
        raise NotFound("找不到该归集记录", code="ingest_load_not_found")
    return found


@dataclass(frozen=True)
class LoadPage:
    items: tuple[Load, ...]
    total: int
    limit: int
    offset: int


def search_loads(
    uow: UnitOfWork,
    actor: Actor,
    *,
    dataset: str | None = None,
    status: LoadStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> LoadPage:
    """Loads the actor may see, newest first: a department its own, the data bureau all in its area."""
    uow.authorize(policies.can_list_loads(actor), actor, "datahub.list_loads")
    limit, offset = max(1, min(limit, 200)), max(0, offset)
    found, total = repository.list_loads(
        uow.session, policies.load_scope(actor), dataset, limit, offset, status
    )
    return LoadPage(tuple(found), total, limit, offset)


def list_loads(
    uow: UnitOfWork, actor: Actor, *, dataset: str | None = None, limit: int = 50, offset: int = 0
) -> list[Load]:
    return list(search_loads(uow, actor, dataset=dataset, limit=limit, offset=offset).items)


def _add_load(uow: UnitOfWork, values: dict[str, Any]) -> int:
    try:
        return repository.add(uow.session, values)
    except IntegrityError:
        # Another process started the same load between our look-up and our insert.
        uow.rollback()
        raise Conflict("同一批数据正在由另一进程归集，请稍后查看结果") from None


def _start(uow: UnitOfWork, recipe: _Recipe, actor: Actor) -> Load:
    existing = repository.get_by_key(uow.session, recipe.key, lock=True)
    if existing is not None and existing.status is LoadStatus.COMPLETE:
        uow.audit(
            actor,
            "datahub.load_repeated",
            object_type="datahub_load",
            object_id=existing.id,
            detail={"dataset": recipe.dataset, "source": recipe.source},
        )
        uow.commit()
        return replace(existing, repeated=True)
    if existing is not None:
        repository.restart(uow.session, existing.id, recipe.source, recipe.encoding)
        started = replace(existing, status=LoadStatus.RUNNING, source=recipe.source, encoding=recipe.encoding)
    else:
        now = clock.now()
        owner = recipe.owner
        new_id = _add_load(
            uow,
            {
                "dataset": recipe.dataset,
                "source": recipe.source[:500],
                "format": recipe.format.value,
                "content_hash": recipe.content_hash,
                "load_key": recipe.key,
                "encoding": recipe.encoding,
                "status": LoadStatus.RUNNING.value,
                "division_code": owner.division_code if owner else actor.division_code or "",
                "organisation_id": owner.organisation_id if owner else actor.organisation_id,
                "resource_code": owner.resource_code if owner else "",
                "created_by": actor.label,
                "created_by_kind": actor.kind.value,
                "started_at": now,
            },
        )
        started = Load(
            id=new_id,
            dataset=recipe.dataset,
            source=recipe.source,
            format=recipe.format,
            content_hash=recipe.content_hash,
            load_key=recipe.key,
            encoding=recipe.encoding,
            status=LoadStatus.RUNNING,
            counts=LoadCounts(),
            started_at=now,
            finished_at=None,
            created_by=actor.label,
            resource_code=owner.resource_code if owner else "",
            organisation_id=owner.organisation_id if owner else actor.organisation_id,
            division_code=owner.division_code if owner else actor.division_code or "",
        )
    uow.audit(
        actor,
        "datahub.load_started",
        object_type="datahub_load",
        object_id=started.id,
        detail={
            "dataset": recipe.dataset,
            "source": recipe.source,
            "content_hash": recipe.content_hash,
            "encoding": recipe.encoding,
            "resumed": existing is not None,
        },
    )
    uow.commit()
    # The stored time, re-read: a resumed run must stamp rows with exactly the time the first run did.
    stored = repository.get(uow.session, started.id)
    uow.session.rollback()
    return replace(started, started_at=stored.started_at) if stored else started


class _Pipeline:
    """Chunks through dedupe, transform and the store, on all cores, in source order where it matters."""

    def __init__(
        self, store: DatasetStore, recipe: _Recipe, lineage: Lineage, progress: Progress | None
    ) -> None:
        self.store = store
        self.recipe = recipe
        self.lineage = lineage
        self.today = lineage.loaded_at.astimezone(clock.CHINA_TZ).date()
        self.progress = progress
        self.quarantine = quarantine_dataset(recipe.dataset)
        self.columns: dict[str, str | None] = {}
        self.counts = LoadCounts()
        self.workers = max(2, min(MAX_WORKERS, os.cpu_count() or 1))

    def _process(self, number: int, raw: pa.Table, keep: npt.NDArray[np.bool_], first_row: int) -> LoadCounts:
        recipe = self.recipe
        result = transform_chunk(raw, recipe.schema, self.columns, self.lineage, first_row, keep, self.today)
        batch = batch_id(recipe.key, number)
        _put(self.store, recipe.dataset, batch, result.stored)
        _put(self.store, self.quarantine, batch, result.quarantined)
        return result.counts

    def run(self, chunks: Iterable[pa.Table]) -> None:
        dedupe = Deduplicator()
        written: set[str] = set()
        try:
            # Arrow kernels, DuckDB and Parquet writes release the GIL: chunks are hashed, transformed
            # and written on all cores while this thread reads ahead; only the duplicate bookkeeping
            # (cheap) runs here, in source order.
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ingest") as pool:
                hashing: deque[tuple[int, pa.Table, int, Future[HashedLines]]] = deque()
                pending: deque[Future[LoadCounts]] = deque()

                def collect(block: bool) -> None:
                    while hashing and (block or len(hashing) > 1 or hashing[0][3].done()):
                        number, raw, first_row, hashed = hashing.popleft()
                        keep = dedupe.keep(hashed.result())
                        pending.append(pool.submit(self._process, number, raw, keep, first_row))
                    while pending and (block or len(pending) > self.workers or pending[0].done()):
                        self.counts = self.counts + pending.popleft().result()
                        if self.progress is not None:
                            self.progress(self.counts)

                read = 0
                for number, raw in enumerate(chunks):
                    if number == 0:
                        self.columns = _columns(self.recipe, raw.column_names)
                    hashing.append((number, raw, read + 1, pool.submit(dedupe.hash, raw)))
                    written.add(batch_id(self.recipe.key, number))
                    read += raw.num_rows
                    collect(block=False)
                collect(block=True)
        finally:
            dedupe.close()
        # Batches of an earlier attempt that this one did not write (its chunks were cut differently).
        prefix = batch_prefix(self.recipe.key)
        for name in (self.recipe.dataset, self.quarantine):
            for stale in self.store.batches(name):
                if stale.startswith(prefix) and stale not in written:
                    self.store.delete_batch(name, stale)


def _run(
    uow: UnitOfWork,
    store: DatasetStore,
    recipe: _Recipe,
    chunks: Iterable[pa.Table],
    actor: Actor,
    progress: Progress | None,
    before_finish: Callable[[Session, Load], None] | None = None,
) -> Load:
    started = _start(uow, recipe, actor)
    if started.repeated:
        return started
    pipeline = _Pipeline(
        store, recipe, Lineage(recipe.source, started.started_at), _Reporter(uow, started.id, progress)
    )
    try:
        pipeline.run(chunks)
    except Exception as exc:
        _fail(uow, started, pipeline.counts, actor, exc)
        raise
    counts = pipeline.counts
    now = clock.now()
    finished = replace(started, status=LoadStatus.COMPLETE, counts=counts, finished_at=now)
    repository.finish(uow.session, started.id, LoadStatus.COMPLETE, counts, now)
    if before_finish is not None:
        before_finish(uow.session, finished)
    uow.audit(
        actor,
        "datahub.load_completed",
        object_type="datahub_load",
        object_id=started.id,
        detail={
            "dataset": recipe.dataset,
            "source": recipe.source,
            "encoding": recipe.encoding,
            "read": counts.read,
            "stored": counts.stored,
            "quarantined": counts.quarantined,
            "duplicate": counts.duplicate,
        },
    )
    uow.commit()
    return finished


class _Reporter:
    """Passes counts to the caller's progress callback and, every few seconds, to the load's record, so
    the console shows a running load advancing (the final counts are written when it finishes)."""

    def __init__(self, uow: UnitOfWork, load_id: int, progress: Progress | None) -> None:
        self.uow = uow
        self.load_id = load_id
        self.progress = progress
        self.saved_at = time.monotonic()

    def __call__(self, counts: LoadCounts) -> None:
        if self.progress is not None:
            self.progress(counts)
        if time.monotonic() - self.saved_at >= PROGRESS_SECONDS:
            repository.record_progress(self.uow.session, self.load_id, counts)
            self.uow.commit()
            self.saved_at = time.monotonic()


def _columns(recipe: _Recipe, source_columns: list[str]) -> dict[str, str | None]:
    columns = recipe.mapping.resolve(recipe.schema, source_columns)
    absent = [f.label for f in recipe.schema.fields if f.required and columns[f.name] is None]
    if absent:
        raise ValidationFailed(f"源数据缺少必填字段的列：{'、'.join(absent)}", field="mapping")
    return columns


def _put(store: DatasetStore, dataset: str, batch: str, rows: pa.Table) -> None:
    if rows.num_rows:
        store.write_batch(dataset, batch, rows)
    else:
        store.delete_batch(dataset, batch)


def _fail(uow: UnitOfWork, started: Load, counts: LoadCounts, actor: Actor, exc: Exception) -> None:
    uow.rollback()
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    repository.finish(uow.session, started.id, LoadStatus.FAILED, counts, clock.now(), message[:ERROR_MAX])
    uow.audit(
        actor,
        "datahub.load_failed",
        object_type="datahub_load",
        object_id=started.id,
        outcome="failure",
        detail={"dataset": started.dataset, "source": started.source, "error": message[:ERROR_MAX]},
    )
    uow.commit()


# --- loads into catalogue resources: pushed over HTTP, uploaded in the console ----------------------------
@dataclass(frozen=True)
class PushRows:
    """A batch pushed to the dataset a published resource is mounted on (its fields are the schema)."""

    dataset: str
    idempotency_key: str
    records: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class UploadFile:
    """A file uploaded to be loaded into a published resource mounted on a dataset."""

    resource_code: str
    path: Path
    # The name the person's file had: it gives the format and is recorded as the source.
    filename: str


def _owner(target: catalogue.MountedResource) -> LoadOwner:
    return LoadOwner(target.code, target.provider_organisation_id, target.division_code)


def _schema(target: catalogue.MountedResource) -> TargetSchema:
    return parse_schema(target.schema.as_dict())


def push_rows(uow: UnitOfWork, store: DatasetStore, cmd: PushRows, actor: Actor) -> Load:
    """A department system's batch for one of its resources (``POST /api/v1/ingest/{dataset}/batches``)."""
    uow.authorize(
        policies.can_push_batch(actor),
        actor,
        "datahub.push_batch",
        object_type="dataset",
        object_id=cmd.dataset,
    )
    target = catalogue.find_load_target(uow, cmd.dataset, actor)
    uow.session.rollback()
    batch = PushBatch(
        dataset=cmd.dataset,
        schema=_schema(target),
        idempotency_key=cmd.idempotency_key,
        records=cmd.records,
        owner=_owner(target),
    )
    return push_batch(uow, store, batch, actor)


def upload_file(
    uow: UnitOfWork, store: DatasetStore, cmd: UploadFile, actor: Actor, *, progress: Progress | None = None
) -> Load:
    uow.authorize(
        policies.can_load_file(actor),
        actor,
        "datahub.load_file",
        object_type="catalogue_resource",
        object_id=cmd.resource_code,
    )
    target = catalogue.mounted_resource(uow, cmd.resource_code, actor)
    uow.session.rollback()
    if target.mount.kind is not catalogue.MountKind.DATASET:
        raise ValidationFailed(
            "该资源挂接的不是数据中心分析库，不能上传文件归集",
            code="ingest_resource_not_dataset",
            field="resource",
        )
    command = LoadFile(
        path=cmd.path,
        dataset=target.mount.dataset,
        schema=_schema(target),
        source=Path(cmd.filename).name[:200],
        format=guess_format(Path(cmd.filename)),
        owner=_owner(target),
    )
    return load_file(uow, store, command, actor, progress=progress)


# --- quarantine -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuarantinePage:
    """A load's quarantined rows: the source's own columns (personal data masked), the line and why."""

    load: Load
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    total: int
    limit: int
    offset: int


_LINEAGE = frozenset(
    {SOURCE_COLUMN, LOADED_AT_COLUMN, ROW_COLUMN, REASON_CODES_COLUMN, REASONS_COLUMN, "batch"}
)


def _masker(uow: UnitOfWork, resource_code: str) -> Callable[[str, Any], Any]:
    """Mask a quarantined value by the grade the catalogue gives its field; free text by pattern."""
    items: dict[str, catalogue.InformationItem] = {}
    if resource_code:
        try:
            meta = catalogue.find_resource(uow, resource_code, SYSTEM).view.metadata
        except NotFound:
            meta = None
        for item in meta.items if meta else ():
            items[item.name] = items[item.label] = item

    def mask(column: str, value: Any) -> Any:
        item = items.get(column)
        if item is not None:
            return catalogue.mask_value(item, value)
        return mask_personal_data(value) if isinstance(value, str) else value

    return mask


def quarantine_rows(
    uow: UnitOfWork, store: DatasetStore, load_id: int, actor: Actor, *, limit: int = 50, offset: int = 0
) -> QuarantinePage:
    found = get_load(uow, load_id, actor)
    limit, offset = max(1, min(limit, 500)), max(0, offset)
    name = quarantine_dataset(found.dataset)
    mask = _masker(uow, found.resource_code)
    uow.session.rollback()
    if name not in store.datasets():
        return QuarantinePage(found, (), (), 0, limit, offset)
    prefix = batch_prefix(found.load_key)
    # The dataset name was checked when the load started and is quoted; values are bound parameters.
    where = f'FROM "{name}" WHERE starts_with(batch, ?)'
    total = int(store.query(f"SELECT count(*) AS n {where}", [prefix]).column("n")[0].as_py())
    table = store.query(
        f"SELECT * {where} ORDER BY batch, {ROW_COLUMN} LIMIT ? OFFSET ?", [prefix, limit, offset]
    )
    columns = tuple(c for c in table.column_names if c not in _LINEAGE)
    rows = tuple(
        {
            ROW_COLUMN: r.get(ROW_COLUMN),
            REASONS_COLUMN: r.get(REASONS_COLUMN),
            **{c: mask(c, r.get(c)) for c in columns},
        }
        for r in table.to_pylist()
    )
    return QuarantinePage(found, columns, rows, total, limit, offset)


# --- scheduled pulls --------------------------------------------------------------------------------------
PULL_DUE_JOB = "ingest.pull_due"
PULL_JOB = "ingest.pull"
PULL_DUE_INTERVAL = 60
MIN_PULL_MINUTES = 5
MAX_PULL_MINUTES = 31 * 24 * 60
WATERMARK_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,119}$")


@dataclass(frozen=True)
class SchedulePull:
    resource_code: str
    dataset: str
    watermark_column: str
    interval_minutes: int
    enabled: bool = True


def schedule_pull(uow: UnitOfWork, cmd: SchedulePull, actor: Actor) -> PullSchedule:
    """Pull a database-mounted resource every ``interval_minutes`` into ``dataset``, from where the last pull
    stopped (its watermark column); setting it again changes the schedule."""
    uow.authorize(
        policies.can_schedule_pull(actor),
        actor,
        "datahub.schedule_pull",
        object_type="catalogue_resource",
        object_id=cmd.resource_code,
    )
    target = catalogue.mounted_resource(uow, cmd.resource_code, actor)
    if target.mount.kind is not catalogue.MountKind.DATABASE:
        raise ValidationFailed(
            "只有挂接部门数据库的资源才能定时抽取", code="ingest_resource_not_database", field="resource"
        )
    catalogue.check_select(target.mount.query)
    _check_target(cmd.dataset)
    if not WATERMARK_COLUMN.match(cmd.watermark_column):
        raise ValidationFailed(
            "水位列名只能包含字母、数字和下划线", code="ingest_watermark_invalid", field="watermark_column"
        )
    if not MIN_PULL_MINUTES <= cmd.interval_minutes <= MAX_PULL_MINUTES:
        raise ValidationFailed(
            f"抽取间隔须在 {MIN_PULL_MINUTES} 分钟到 31 天之间",
            code="ingest_interval_invalid",
            field="interval",
        )
    now = clock.now()
    interval = cmd.interval_minutes * 60
    existing = repository.find_schedule(uow.session, target.code)
    # A new or changed schedule runs at once; an unchanged one keeps its rhythm.
    next_run = now if existing is None else min(existing.next_run_at, now + timedelta(seconds=interval))
    schedule = PullSchedule(
        id=existing.id if existing else 0,
        resource_code=target.code,
        dataset=cmd.dataset,
        watermark_column=cmd.watermark_column,
        interval_seconds=interval,
        enabled=cmd.enabled,
        next_run_at=next_run,
        organisation_id=target.provider_organisation_id,
        division_code=target.division_code,
        created_by=actor.label,
    )
    schedule = replace(schedule, id=repository.save_schedule(uow.session, schedule, now))
    uow.audit(
        actor,
        "datahub.pull_scheduled",
        object_type="ingest_pull_schedule",
        object_id=schedule.id,
        tenant=schedule.division_code,
        detail={
            "resource": schedule.resource_code,
            "dataset": schedule.dataset,
            "watermark_column": schedule.watermark_column,
            "interval_seconds": interval,
            "enabled": schedule.enabled,
        },
    )
    uow.commit()
    return schedule


def list_pull_schedules(uow: UnitOfWork, actor: Actor) -> list[PullSchedule]:
    uow.authorize(policies.can_list_loads(actor), actor, "datahub.list_pull_schedules")
    return repository.list_schedules(uow.session, policies.load_scope(actor))


def enqueue_due_pulls(uow: UnitOfWork) -> int:
    """One pull job per due schedule (the caller commits). A slot names the job, so a slot is pulled once
    however often this runs; missed slots are skipped rather than fired all at once."""
    now = clock.now()
    due = repository.due_schedules(uow.session, now)
    for s in due:
        slot = s.next_run_at.isoformat()
        uow.enqueue(JobRequest(PULL_JOB, {"schedule_id": s.id, "slot": slot}, f"{PULL_JOB}:{s.id}:{slot}"))
        interval = timedelta(seconds=s.interval_seconds)
        next_at = s.next_run_at + interval
        repository.set_next_run(uow.session, s.id, next_at if next_at > now else now + interval)
    return len(due)


def run_scheduled_pull(
    uow: UnitOfWork, store: DatasetStore, config: catalogue.LiveConfig, schedule_id: int
) -> Load | None:
    """Pull a schedule's resource now, as the system, through its read-only mount. A failure is written on
    the schedule (and the load, once started) and raised again, for the job runner to retry."""
    schedule = repository.get_schedule(uow.session, schedule_id)
    if schedule is None or not schedule.enabled:
        return None
    uow.session.rollback()
    try:
        target = catalogue.mounted_resource(uow, schedule.resource_code, SYSTEM)
        if target.mount.kind is not catalogue.MountKind.DATABASE:
            raise ValidationFailed("资源已不再挂接部门数据库", code="ingest_resource_not_database")
        query = catalogue.check_select(target.mount.query)
        engine = catalogue.open_engine(target.mount, config, statement_timeout=None)
        try:
            command = PullDatabase(
                dataset=schedule.dataset,
                schema=_schema(target),
                url=target.mount.url,
                query=query,
                watermark_column=schedule.watermark_column,
                owner=_owner(target),
                engine=engine,
            )
            pulled = pull_database(uow, store, command, SYSTEM)
        finally:
            engine.dispose()
    except Exception as exc:
        uow.rollback()
        message = (getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")[:ERROR_MAX]
        repository.record_run(uow.session, schedule.id, clock.now(), LoadStatus.FAILED.value, None, message)
        uow.audit(
            SYSTEM,
            "datahub.pull_failed",
            object_type="ingest_pull_schedule",
            object_id=schedule.id,
            tenant=schedule.division_code,
            outcome="failure",
            detail={"resource": schedule.resource_code, "error": message},
        )
        uow.commit()
        raise
    repository.record_run(uow.session, schedule.id, clock.now(), pulled.status.value, pulled.id, "")
    uow.commit()
    return pulled


def register_jobs(registry: JobRegistry, store: DatasetStore, settings: Settings) -> None:
    """The timer that finds due pulls, and the pull itself (retried by the runner when it fails)."""
    config = catalogue.LiveConfig.from_settings(settings)

    def due(uow: UnitOfWork, _payload: dict[str, Any], _ctx: JobContext) -> None:
        enqueue_due_pulls(uow)

    def pull(uow: UnitOfWork, payload: dict[str, Any], _ctx: JobContext) -> None:
        run_scheduled_pull(uow, store, config, int(payload["schedule_id"]))

    registry.handler(PULL_DUE_JOB, due)
    registry.every(PULL_DUE_JOB, PULL_DUE_JOB, PULL_DUE_INTERVAL)
    registry.handler(PULL_JOB, pull)
