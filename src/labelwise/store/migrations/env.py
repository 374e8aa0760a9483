"""Alembic environment: runs on the connection handed over by ``upgrade_database``,
or on ``sqlalchemy.url`` when Alembic's own command line is used."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from labelwise.store.engine import make_engine, write_engine
from labelwise.store.models import Base

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with write_engine(make_engine(config.get_main_option("sqlalchemy.url") or "")).begin() as conn:
        run(conn)
