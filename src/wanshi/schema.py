"""Every context's tables on the one shared MetaData, for Alembic and for test databases."""

from __future__ import annotations

import importlib

from sqlalchemy import Connection, MetaData

from wanshi.infra import audit
from wanshi.infra.db import metadata

# Each context with tables adds its module here (Alembic autogenerate sees only what is imported).
TABLE_MODULES = [
    "wanshi.infra.tables",
    "wanshi.org.tables",
    "wanshi.identity.tables",
    "wanshi.identity.tables.oidc",
    "wanshi.identity.tables.enterprise",
    "wanshi.infra.files.tables",
    "wanshi.workdays.tables",
    "wanshi.notify.tables",
    "wanshi.tickets.tables",
    "wanshi.datahub.catalogue.tables",
    "wanshi.datahub.ingest.tables",
    "wanshi.datahub.masterdata.tables",
    "wanshi.datahub.quality.tables",
    "wanshi.datahub.registry.tables",
    "wanshi.items.tables",
    "wanshi.forms.tables",
    "wanshi.workflow.tables",
]


def load_metadata() -> MetaData:
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return metadata


def seed_required_rows(conn: Connection) -> None:
    """Rows the platform cannot run without; the initial migration inserts the same."""
    audit.ensure_head(conn)
