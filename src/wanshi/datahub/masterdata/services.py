"""Master data use cases: link records into clusters with golden records, evaluate, read the runs.

A run commits twice, as a load does: a ``running`` row (so that a crash leaves a visible record) and the
outcome (figures, status, audit entry). Its clusters and golden records go to the analytical store as
batches ``run-<id>-part<n>`` of the output datasets (in parts, so that no output is ever whole in memory);
once the run is complete, batches of older runs are deleted, so
readers find one run there (the newest complete one) and a run that dies half-way leaves the previous
result in place. A run that is retried simply runs again under a new id: the model is fixed, so the same
input gives the same clusters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from wanshi.datahub.masterdata import policies, repository, transform
from wanshi.datahub.masterdata.domain import (
    DEFAULT_THRESHOLD,
    EntityKind,
    EntitySpec,
    Evaluation,
    LinkageRun,
    MasterdataError,
    RunFigures,
    RunStatus,
    Survivorship,
    check_datasets,
    check_output,
    check_threshold,
    entity_spec,
    evaluate,
    outputs,
    run_batch,
    run_of_batch,
)
from wanshi.datahub.store import DatasetStore
from wanshi.datahub.store.base import check_dataset
from wanshi.infra.logging import mask_personal_data
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotFound

ERROR_MAX = 2000


@dataclass(frozen=True)
class LinkRecords:
    datasets: tuple[str, ...]
    entity: EntityKind = EntityKind.PERSON
    threshold: float = DEFAULT_THRESHOLD
    survivorship: Survivorship = field(default_factory=Survivorship)
    # A column naming each record's department; without it, the dataset's name is the record's source.
    source_column: str | None = None
    # Prefix of the output datasets; the entity's name by default (person_cluster, person_golden, ...).
    output: str = ""


def _checked(cmd: LinkRecords) -> tuple[EntitySpec, str]:
    spec = entity_spec(cmd.entity)
    datasets = check_datasets(cmd.datasets)
    for name in datasets:
        check_dataset(name)
    check_threshold(cmd.threshold)
    cmd.survivorship.check(spec)
    if cmd.source_column is not None and not cmd.source_column.strip():
        raise MasterdataError("来源列名不能为空", field="source")
    prefix = check_output(cmd.output or spec.kind.value)
    if set(vars(outputs(prefix)).values()) & set(datasets):
        raise MasterdataError("输出数据集不能同时是输入数据集", field="output")
    return spec, prefix


def link_records(
    uow: UnitOfWork,
    store: DatasetStore,
    cmd: LinkRecords,
    actor: Actor,
    *,
    progress: transform.Stage | None = None,
) -> LinkageRun:
    """Link and deduplicate the records of one kind of entity from one or more datasets (DC-3)."""
    uow.authorize(
        policies.can_link_records(actor),
        actor,
        "masterdata.link_records",
        object_type="dataset",
        object_id=",".join(cmd.datasets)[:200],
    )
    spec, prefix = _checked(cmd)
    # Inputs are checked before the run row exists: a mistyped dataset name is not a failed run.
    transform.check_inputs(store, cmd.datasets, spec, cmd.source_column)
    started = _start(uow, cmd, prefix, actor)
    began = time.perf_counter()
    names = outputs(prefix)
    targets = {"clusters": names.clusters, "golden": names.golden, "lineage": names.lineage}
    parts = dict.fromkeys(targets, 0)

    def sink(kind: str, table: pa.Table) -> None:
        parts[kind] += 1
        store.write_batch(targets[kind], run_batch(started.id, parts[kind]), table)

    try:
        linked = transform.link(
            store,
            cmd.datasets,
            spec,
            cmd.survivorship,
            cmd.threshold,
            started.id,
            sink,
            source_column=cmd.source_column,
            threads=getattr(store, "threads", None),
            memory_limit=getattr(store, "memory_limit", None),
            stage=progress,
        )
    except Exception as exc:
        for name in targets.values():
            for batch in _batches_of(store, name, started.id):
                store.delete_batch(name, batch)
        _fail(uow, started, actor, exc, time.perf_counter() - began)
        raise
    figures = RunFigures(
        rows=linked.rows,
        clusters=linked.clusters,
        linked_clusters=linked.linked_clusters,
        evaluation=evaluate(linked.pairs) if linked.pairs is not None else None,
        seconds=time.perf_counter() - began,
    )
    now = clock.now()
    repository.finish(uow.session, started.id, RunStatus.COMPLETE, figures, now)
    evaluation = figures.evaluation
    uow.audit(
        actor,
        "masterdata.link_completed",
        object_type="masterdata_run",
        object_id=started.id,
        detail={
            "entity": spec.kind.value,
            "datasets": list(cmd.datasets),
            "output": prefix,
            "threshold": cmd.threshold,
            "rows": figures.rows,
            "clusters": figures.clusters,
            "linked_clusters": figures.linked_clusters,
            "precision": evaluation.precision if evaluation else None,
            "recall": evaluation.recall if evaluation else None,
            "seconds": round(figures.seconds, 3),
        },
    )
    uow.commit()
    _prune(uow, store, prefix)
    return LinkageRun(
        id=started.id,
        entity=started.entity,
        datasets=started.datasets,
        output=prefix,
        threshold=started.threshold,
        status=RunStatus.COMPLETE,
        figures=figures,
        started_at=started.started_at,
        finished_at=now,
        created_by=started.created_by,
    )


def _start(uow: UnitOfWork, cmd: LinkRecords, prefix: str, actor: Actor) -> LinkageRun:
    now = clock.now()
    run_id = repository.add(
        uow.session,
        {
            "entity": cmd.entity.value,
            "datasets": ",".join(cmd.datasets),
            "output": prefix,
            "threshold": cmd.threshold,
            "status": RunStatus.RUNNING.value,
            "division_code": actor.division_code or "",
            "created_by": actor.label,
            "created_by_kind": actor.kind.value,
            "started_at": now,
        },
    )
    uow.audit(
        actor,
        "masterdata.link_started",
        object_type="masterdata_run",
        object_id=run_id,
        detail={
            "entity": cmd.entity.value,
            "datasets": list(cmd.datasets),
            "output": prefix,
            "threshold": cmd.threshold,
            "priority": {k: list(v) for k, v in cmd.survivorship.priority.items()},
        },
    )
    uow.commit()
    return LinkageRun(
        id=run_id,
        entity=cmd.entity,
        datasets=cmd.datasets,
        output=prefix,
        threshold=cmd.threshold,
        status=RunStatus.RUNNING,
        figures=RunFigures(),
        started_at=now,
        finished_at=None,
        created_by=actor.label,
    )


def _fail(uow: UnitOfWork, started: LinkageRun, actor: Actor, exc: Exception, seconds: float) -> None:
    uow.rollback()
    # An engine's error may quote a value it choked on: mask ID numbers and phones before storing it.
    message = mask_personal_data(getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}")
    repository.finish(
        uow.session,
        started.id,
        RunStatus.FAILED,
        RunFigures(seconds=seconds),
        clock.now(),
        message[:ERROR_MAX],
    )
    uow.audit(
        actor,
        "masterdata.link_failed",
        object_type="masterdata_run",
        object_id=started.id,
        outcome="failure",
        detail={"datasets": list(started.datasets), "error": message[:ERROR_MAX]},
    )
    uow.commit()


def _prune(uow: UnitOfWork, store: DatasetStore, prefix: str) -> None:
    """Delete the batches of runs older than the newest complete one; never those of newer runs, which
    may still be running."""
    newest = repository.latest_complete(uow.session, prefix)
    uow.session.rollback()
    if newest is None:
        return
    for name in vars(outputs(prefix)).values():
        for batch in store.batches(name):
            run_id = run_of_batch(batch)
            if run_id is not None and run_id < newest.id:
                store.delete_batch(name, batch)


def _batches_of(store: DatasetStore, dataset: str, run_id: int) -> list[str]:
    return [b for b in store.batches(dataset) if run_of_batch(b) == run_id]


def get_run(uow: UnitOfWork, run_id: int, actor: Actor) -> LinkageRun:
    uow.authorize(policies.can_list_runs(actor), actor, "masterdata.get_run", object_id=run_id)
    found = repository.get(uow.session, run_id)
    if found is None:
        raise NotFound("找不到该次主数据匹配记录")
    return found


def list_runs(uow: UnitOfWork, actor: Actor, *, limit: int = 50, offset: int = 0) -> list[LinkageRun]:
    uow.authorize(policies.can_list_runs(actor), actor, "masterdata.list_runs")
    return repository.list_runs(uow.session, max(1, min(limit, 200)), max(0, offset))


def evaluate_linkage(uow: UnitOfWork, store: DatasetStore, run_id: int, actor: Actor) -> Evaluation | None:
    """Precision, recall and F1 of a stored run's clusters against the labels kept beside them (pairs of
    records within one labelled duplicate group); None when its input carried no labels."""
    found = get_run(uow, run_id, actor)
    if found.status is not RunStatus.COMPLETE:
        raise MasterdataError("该次匹配未完成，无法评估", field="run_id")
    clusters = outputs(found.output).clusters
    if not _batches_of(store, clusters, found.id):
        raise NotFound("该次匹配的结果已被更新的匹配替换")
    rows = store.query(
        f'SELECT cluster_id, label_group FROM "{clusters}" WHERE starts_with(batch, ?)',  # noqa: S608
        [run_batch(found.id) + "-"],
    )
    conn = duckdb.connect()
    try:
        conn.register("clusters", rows)
        pairs = transform.pair_counts(conn, "clusters")
    finally:
        conn.close()
    return evaluate(pairs) if pairs is not None else None
