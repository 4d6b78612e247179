"""Tables of the master data context: one row per linkage run.

Clusters and golden records are bulk data and live in the analytical store (datasets ``<prefix>_cluster``,
``<prefix>_golden``, ``<prefix>_golden_lineage``, one batch per run); this table says which run produced
them, from which datasets, with which threshold, and how well it did against labelled duplicates.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Float, Index, String, Table, Text

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

run = Table(
    "masterdata_run",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entity", String(20), nullable=False),
    # Input datasets, comma-separated, in the order given (records are numbered in that order).
    Column("datasets", String(700), nullable=False),
    Column("output", String(41), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("status", String(20), nullable=False),
    Column("rows", BigInteger, nullable=False, server_default="0"),
    Column("clusters", BigInteger, nullable=False, server_default="0"),
    Column("linked_clusters", BigInteger, nullable=False, server_default="0"),
    # Pairwise figures against labelled duplicates; null when the input carries no labels.
    Column("pairs_predicted", BigInteger, nullable=True),
    Column("pairs_labelled", BigInteger, nullable=True),
    Column("pairs_correct", BigInteger, nullable=True),
    Column("precision", Float, nullable=True),
    Column("recall", Float, nullable=True),
    Column("f1", Float, nullable=True),
    Column("seconds", Float, nullable=False, server_default="0"),
    Column("error", Text, nullable=False, server_default=""),
    Column("division_code", String(12), nullable=False, server_default=""),
    Column("created_by", String(120), nullable=False),
    Column("created_by_kind", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("ix_masterdata_run_output_status", "output", "status"),
    Index("ix_masterdata_run_started_at", "started_at"),
)
