"""Persistence of linkage runs. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from wanshi.datahub.masterdata.domain import (
    EntityKind,
    Evaluation,
    LinkageRun,
    PairCounts,
    RunFigures,
    RunStatus,
)
from wanshi.datahub.masterdata.tables import run
from wanshi.kernel import clock


def _run(row: Any) -> LinkageRun:
    evaluation = None
    if row.pairs_predicted is not None:
        evaluation = Evaluation(
            precision=row.precision,
            recall=row.recall,
            f1=row.f1,
            pairs=PairCounts(
                predicted=int(row.pairs_predicted),
                labelled=int(row.pairs_labelled),
                correct=int(row.pairs_correct),
            ),
        )
    return LinkageRun(
        id=int(row.id),
        entity=EntityKind(row.entity),
        datasets=tuple(row.datasets.split(",")),
        output=row.output,
        threshold=float(row.threshold),
        status=RunStatus(row.status),
        figures=RunFigures(
            rows=int(row.rows),
            clusters=int(row.clusters),
            linked_clusters=int(row.linked_clusters),
            evaluation=evaluation,
            seconds=float(row.seconds),
        ),
        started_at=clock.as_utc(row.started_at),
        finished_at=None if row.finished_at is None else clock.as_utc(row.finished_at),
        created_by=row.created_by,
        error=row.error,
    )


def add(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(run).values(**values).returning(run.c.id)).scalar_one())


def get(session: Session, run_id: int) -> LinkageRun | None:
    row = session.execute(select(run).where(run.c.id == run_id)).first()
    return _run(row) if row else None


def latest_complete(session: Session, output: str) -> LinkageRun | None:
    row = session.execute(
        select(run)
        .where(run.c.output == output, run.c.status == RunStatus.COMPLETE.value)
        .order_by(run.c.id.desc())
        .limit(1)
    ).first()
    return _run(row) if row else None


def list_runs(session: Session, limit: int, offset: int) -> list[LinkageRun]:
    rows = session.execute(select(run).order_by(run.c.id.desc()).limit(limit).offset(offset)).all()
    return [_run(r) for r in rows]


def finish(
    session: Session,
    run_id: int,
    status: RunStatus,
    figures: RunFigures,
    finished_at: datetime,
    error: str = "",
) -> None:
    evaluation = figures.evaluation
    session.execute(
        update(run)
        .where(run.c.id == run_id)
        .values(
            status=status.value,
            rows=figures.rows,
            clusters=figures.clusters,
            linked_clusters=figures.linked_clusters,
            pairs_predicted=evaluation.pairs.predicted if evaluation else None,
            pairs_labelled=evaluation.pairs.labelled if evaluation else None,
            pairs_correct=evaluation.pairs.correct if evaluation else None,
            precision=evaluation.precision if evaluation else None,
            recall=evaluation.recall if evaluation else None,
            f1=evaluation.f1 if evaluation else None,
            seconds=figures.seconds,
            error=error,
            finished_at=finished_at,
        )
    )
