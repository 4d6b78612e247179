"""Database helpers shared by the fixtures and by worlds built once per module."""

from __future__ import annotations

from sqlalchemy import Engine, text

from wanshi.schema import load_metadata, seed_required_rows


def empty_all_tables(engine: Engine) -> None:
    """Every table emptied and the rows the platform cannot run without put back: a clean database fast."""
    metadata = load_metadata()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        seed_required_rows(conn)
