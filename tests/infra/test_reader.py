"""Units of work that only read: they never wait for a writer, never commit, and still audit refusals."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, text

from wanshi.bootstrap import Platform
from wanshi.infra.tables import audit_entry
from wanshi.kernel.actor import ANONYMOUS
from wanshi.kernel.errors import PermissionDenied


def test_a_reader_is_not_held_up_by_a_writer(platform: Platform) -> None:
    with platform.uow() as writer:
        # The writer holds its transaction (on SQLite: BEGIN IMMEDIATE, the write lock) while the reader runs.
        writer.session.execute(text("SELECT 1"))
        started = time.perf_counter()
        with platform.reader() as reader:
            assert reader.session.execute(text("SELECT 1")).scalar_one() == 1
        assert time.perf_counter() - started < 1.0
        writer.rollback()


def test_a_reader_cannot_commit(platform: Platform) -> None:
    with platform.reader() as reader, pytest.raises(RuntimeError, match="read-only"):
        reader.commit()


def test_a_refusal_in_a_reader_is_still_audited(platform: Platform) -> None:
    with platform.reader() as reader, pytest.raises(PermissionDenied):
        reader.authorize(False, ANONYMOUS, "test.read")
    with platform.engine.connect() as conn:
        denied = conn.execute(
            select(func.count()).select_from(audit_entry).where(audit_entry.c.action == "test.read")
        ).scalar_one()
    assert denied == 1
