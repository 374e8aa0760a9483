"""The engine factory and schema migration entry point.

SQLite gets WAL (readers never block the writer), enforced foreign keys, a busy timeout
and ``BEGIN IMMEDIATE`` transactions: every transaction takes the write lock up front, so
two writers queue on the busy timeout instead of one failing when it upgrades a read
lock. ``synchronous=FULL`` makes an acknowledged commit survive a killed process and a
power cut alike.

The price of ``BEGIN IMMEDIATE``: an open transaction, even a read, holds the write lock,
so sessions must be short (one per request or per use case; services end their reads).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_S = 30


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``: ``sqlite:///path.db`` or ``postgresql+psycopg://...``.

    A relative SQLite path is resolved against the working directory and its folder is
    created, so the first run needs no set-up.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:":
        path = Path(database).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        parsed = parsed.set(database=str(path))
    engine = create_engine(parsed, echo=echo, connect_args={"check_same_thread": False})
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling would defer BEGIN; we issue it ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    # SQLite's busy handler polls with growing sleeps, so under contention (twenty
    # annotators and the worker in one server) some waiters starve for seconds. Threads of
    # this process therefore queue on a lock first and meet SQLite's lock only when it is
    # free (or held by another process, where the busy timeout still applies).
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not writer.acquire(timeout=BUSY_TIMEOUT_S):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, TimeoutError("another transaction held the database")
            )
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writer.release()
            raise
        connection.info["labelwise_writer"] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection: Any) -> None:
        if connection.info.pop("labelwise_writer", False):
            writer.release()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (services return ORM rows)."""
    return sessionmaker(engine, expire_on_commit=False)


def upgrade_database(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the packaged Alembic migrations."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
