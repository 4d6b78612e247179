"""Tables of the working-day calendar.

The calendar is platform-wide configuration, not tenant data: one province runs one schedule, so there is
no division code. Write only through ``wanshi.workdays.repository``: every write there also changes the
revision token, which is how every process notices that its cached calendar is stale.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, String, Table

from wanshi.infra.db import metadata

# One row per date an administrator changed; it wins over imported schedules and the package.
override = Table(
    "workdays_override",
    metadata,
    Column("day_date", Date, primary_key=True),
    Column("is_workday", Boolean, nullable=False),
    Column("name", String(60), nullable=False),
    Column("note", String(500), nullable=False, server_default=""),
    # Who, as the audit log names them: the label stays readable after the account is gone.
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(120), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per year whose State Council notice was imported; kept in the published shape (named ranges) so it
# can be shown and re-exported as entered. Its presence makes the year confirmed and replaces the package.
year_schedule = Table(
    "workdays_year_schedule",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("notice", String(200), nullable=False, server_default=""),
    Column("document", JSON, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(120), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# At most one row (id 1). A random token rather than a counter: a restored backup or an emptied table can
# never bring back a value some process cached for different content.
revision = Table(
    "workdays_revision",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("token", String(32), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)
