from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from labelwise.store import Base, Item, Project, make_engine, upgrade_database
from labelwise.store.engine import MIGRATIONS


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
    project = Project(name="p", labels=["a"], settings={})
    session.add(project)
    session.flush()
    session.add(Item(project_id=project.id, position=0, text="hi", content_hash="h"))
    session.flush()
    session.add(Item(project_id=project.id, position=1, text="hi", content_hash="h"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_foreign_keys_are_enforced(session):
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
