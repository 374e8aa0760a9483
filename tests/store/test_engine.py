from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session

from labelwise.service.transactions import begin_write
from labelwise.store import Base, Item, Project, make_engine, upgrade_database
from labelwise.store import engine as engine_module
from labelwise.store.engine import (
    MIGRATIONS,
    WRITE_OPTION,
    DatabaseBusyError,
    WriteInReadTransactionError,
    is_busy_error,
    write_engine,
)


def test_migrations_create_every_model_table(engine):
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_sqlite_file_and_folder_are_created_on_first_use(tmp_path: Path):
    path = tmp_path / "new" / "folder" / "lw.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    assert path.exists()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def _head_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_upgrade_is_idempotent(engine):
    upgrade_database(engine)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == _head_revision() is not None


def test_duplicate_content_hash_in_a_project_is_refused(session):
    begin_write(session)
    project = Project(name="p", labels=["a"], settings={})
    session.add(project)
    session.flush()
    session.add(Item(project_id=project.id, position=0, text="hi", content_hash="h"))
    session.flush()
    session.add(Item(project_id=project.id, position=1, text="hi", content_hash="h"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_foreign_keys_are_enforced(session):
    begin_write(session)
    session.add(Item(project_id=12345, position=0, text="x", content_hash="h"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_migrations_match_the_models(engine):
    # A model change without its migration (or the reverse) shows up here, on both back ends.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


# --- Read and write units of work ------------------------------------------------------
# On SQLite a read transaction takes no lock; a write transaction queues on the process's
# writer lock and takes SQLite's up front. A write inside a read transaction is a bug.


def _on_sqlite(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's locking rule; PostgreSQL uses MVCC")


def test_session_execution_options_reach_the_begin_event(engine):
    # begin_write relies on this: Session.connection(execution_options=...) sets the
    # option on the connection before its transaction begins (and fires "begin").
    seen: list[object] = []

    def _begin(connection: Connection) -> None:
        seen.append(connection.get_execution_options().get(WRITE_OPTION))

    event.listen(engine, "begin", _begin)
    try:
        with Session(engine) as session:
            session.connection(execution_options={WRITE_OPTION: True})
            session.commit()
            session.connection()
            session.commit()
            begin_write(session)
            session.commit()
    finally:
        event.remove(engine, "begin", _begin)
    assert seen == [True, None, True]


def test_a_write_in_a_read_transaction_is_refused_before_it_runs(session):
    _on_sqlite(session.get_bind())
    session.add(Project(name="p", labels=["a", "b"], settings={}))
    with pytest.raises(WriteInReadTransactionError, match="begin_write"):
        session.flush()
    session.rollback()
    begin_write(session)
    session.add(Project(name="p", labels=["a", "b"], settings={}))
    session.commit()
    assert session.scalar(select(func.count()).select_from(Project)) == 1


def test_engine_level_writers_say_so(engine):
    _on_sqlite(engine)
    with pytest.raises(WriteInReadTransactionError):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM events"))
    with write_engine(engine).begin() as conn:
        conn.execute(text("DELETE FROM events"))


def _write_in_thread(engine: Engine, done: threading.Event, errors: list[BaseException]) -> None:
    try:
        with Session(engine) as session:
            begin_write(session)
            session.add(Project(name="written", labels=["a", "b"], settings={}))
            session.commit()
        done.set()
    except Exception as exc:  # noqa: BLE001 - reported to the test thread
        errors.append(exc)


def test_an_open_read_does_not_block_a_writer(engine):
    _on_sqlite(engine)
    with Session(engine) as reader:
        # An open read transaction (a request's authentication, say, between thread hops).
        assert reader.scalar(select(func.count()).select_from(Project)) == 0
        done, errors = threading.Event(), []
        writer = threading.Thread(target=_write_in_thread, args=(engine, done, errors))
        writer.start()
        # Before, every transaction took the writer lock: this waited the 30 s timeout.
        assert done.wait(5), "a writer waited on an open read transaction"
        writer.join()
        assert errors == []
        # The reader's snapshot predates the write; a new transaction sees it.
        assert reader.scalar(select(func.count()).select_from(Project)) == 0
        reader.commit()
        assert reader.scalar(select(func.count()).select_from(Project)) == 1


def test_a_writer_that_waits_too_long_gets_a_busy_error(engine, monkeypatch):
    _on_sqlite(engine)
    monkeypatch.setattr(engine_module, "BUSY_TIMEOUT_S", 0.2)
    with Session(engine) as holder:
        begin_write(holder)
        done, errors = threading.Event(), []
        writer = threading.Thread(target=_write_in_thread, args=(engine, done, errors))
        writer.start()
        writer.join(10)
        holder.rollback()
    assert not done.is_set() and len(errors) == 1
    assert isinstance(errors[0], DatabaseBusyError) and is_busy_error(errors[0])
    # The lock was handed back on rollback: the next writer goes straight through.
    done, errors = threading.Event(), []
    _write_in_thread(engine, done, errors)
    assert done.is_set() and errors == []


def test_pool_exhaustion_and_a_locked_database_count_as_busy():
    assert is_busy_error(PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached"))
    locked = OperationalError("INSERT", None, Exception("database is locked"))
    assert is_busy_error(locked)
    assert not is_busy_error(OperationalError("SELECT", None, Exception("no such table: x")))
    assert not is_busy_error(ValueError("database is locked"))


def test_pool_size_caps_the_connections(database_url):
    engine = make_engine(database_url, pool_size=3)
    try:
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        engine.dispose()
