"""Alembic environment: the engine comes from wanshi.infra.migrations, the metadata from wanshi.schema."""

from __future__ import annotations

from alembic import context

from wanshi.schema import load_metadata

config = context.config
engine = config.attributes["engine"]
target_metadata = load_metadata()

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
