"""Append-only, hash-chained audit log (SE-1; 等保 安全审计).

Each entry's hash covers its fields and the previous entry's hash, so editing any entry breaks its own
hash and deleting one breaks the next entry's link. The head row records the tip (catching deletion of
the newest entries) and the anchor a retention purge leaves behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.orm import Session

from wanshi.infra.tables import audit_entry, audit_head
from wanshi.kernel.clock import as_utc

GENESIS_HASH = "0" * 64
HEAD_ID = 1


@dataclass(frozen=True)
class AuditRecord:
    actor: str
    actor_kind: str
    action: str
    outcome: str
    tenant: str = ""
    object_type: str = ""
    object_id: str = ""
    request_id: str = ""
    source_address: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def entry_hash(seq: int, at: datetime, record: AuditRecord, prev_hash: str) -> str:
    body = [
        seq,
        as_utc(at).isoformat(timespec="microseconds"),
        record.actor,
        record.actor_kind,
        record.tenant,
        record.action,
        record.object_type,
        record.object_id,
        record.outcome,
        record.request_id,
        record.source_address,
        record.detail,
        prev_hash,
    ]
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def ensure_head(conn: Connection | Session) -> None:
    if conn.execute(select(audit_head.c.id)).first() is None:
        conn.execute(
            insert(audit_head).values(
                id=HEAD_ID, last_seq=0, last_hash=GENESIS_HASH, anchor_seq=0, anchor_hash=GENESIS_HASH
            )
        )


def append(session: Session, records: list[AuditRecord], at: datetime) -> None:
    """Append within the caller's transaction; the head row lock serialises writers on PostgreSQL."""
    if not records:
        return
    head = session.execute(select(audit_head).where(audit_head.c.id == HEAD_ID).with_for_update()).one()
    seq, prev = int(head.last_seq), str(head.last_hash)
    rows = []
    for record in records:
        seq += 1
        digest = entry_hash(seq, at, record, prev)
        rows.append({**_record_columns(record), "seq": seq, "at": at, "prev_hash": prev, "hash": digest})
        prev = digest
    session.execute(insert(audit_entry), rows)
    session.execute(update(audit_head).where(audit_head.c.id == HEAD_ID).values(last_seq=seq, last_hash=prev))


def _record_columns(record: AuditRecord) -> dict[str, Any]:
    return {
        "actor": record.actor,
        "actor_kind": record.actor_kind,
        "tenant": record.tenant,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "outcome": record.outcome,
        "request_id": record.request_id,
        "source_address": record.source_address,
        "detail": record.detail,
    }


def _record_from_row(row: Any) -> AuditRecord:
    return AuditRecord(
        actor=row.actor,
        actor_kind=row.actor_kind,
        tenant=row.tenant,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        outcome=row.outcome,
        request_id=row.request_id,
        source_address=row.source_address,
        detail=row.detail,
    )


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str


@dataclass(frozen=True)
class VerifyReport:
    checked: int
    problems: tuple[ChainProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn: Connection | Session, batch: int = 5000) -> VerifyReport:
    """Walk the whole chain in order; name every entry whose content or link does not hold."""
    head = conn.execute(select(audit_head).where(audit_head.c.id == HEAD_ID)).first()
    if head is None:
        return VerifyReport(0, (ChainProblem(0, "audit head row is missing"),))
    problems: list[ChainProblem] = []
    expected_seq, prev = int(head.anchor_seq) + 1, str(head.anchor_hash)
    checked = 0
    for row in _iter_entries(conn, batch):
        seq = int(row.seq)
        if seq != expected_seq:
            problems.append(ChainProblem(expected_seq, f"entries {expected_seq}..{seq - 1} are missing"))
        elif row.prev_hash != prev:
            problems.append(ChainProblem(seq, "link to the previous entry is broken"))
        if entry_hash(seq, row.at, _record_from_row(row), row.prev_hash) != row.hash:
            problems.append(ChainProblem(seq, "content does not match its hash (entry was edited)"))
        prev, expected_seq = row.hash, seq + 1
        checked += 1
    if expected_seq - 1 != int(head.last_seq) or (checked and prev != head.last_hash):
        problems.append(
            ChainProblem(
                int(head.last_seq), f"chain ends at {expected_seq - 1} but the head records {head.last_seq}"
            )
        )
    return VerifyReport(checked, tuple(problems))


def _iter_entries(conn: Connection | Session, batch: int) -> Iterator[Any]:
    after = -1
    while True:
        rows = conn.execute(
            select(audit_entry).where(audit_entry.c.seq > after).order_by(audit_entry.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        after = int(rows[-1].seq)


def purge_before(session: Session, cutoff: datetime) -> int:
    """Delete entries older than the cutoff, moving the anchor so the rest still verifies."""
    last_old = session.execute(
        select(audit_entry.c.seq, audit_entry.c.hash)
        .where(audit_entry.c.at < cutoff)
        .order_by(audit_entry.c.seq.desc())
        .limit(1)
    ).first()
    if last_old is None:
        return 0
    session.execute(select(audit_head).where(audit_head.c.id == HEAD_ID).with_for_update()).one()
    count = session.execute(
        select(func.count()).select_from(audit_entry).where(audit_entry.c.seq <= last_old.seq)
    ).scalar_one()
    session.execute(delete(audit_entry).where(audit_entry.c.seq <= last_old.seq))
    session.execute(
        update(audit_head)
        .where(audit_head.c.id == HEAD_ID)
        .values(anchor_seq=last_old.seq, anchor_hash=last_old.hash)
    )
    return int(count)
