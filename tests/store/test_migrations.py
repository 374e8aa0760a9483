"""Migrations that change stored rows, up and down, on both back ends: 0005 (intents_entities,
projects.entity_types), 0012 (class_balanced written into stored settings), 0013
(features written into stored settings), 0014 (the weak supervision tables) and 0016
(strategy names as text)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from labelwise.store import upgrade_database
from labelwise.store.engine import MIGRATIONS, write_engine
from labelwise.weak import KINDS


def downgrade_database(engine: Engine, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with write_engine(engine).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@contextmanager
def at_revision(engine: Engine, revision: str) -> Iterator[Engine]:
    """The database at ``revision``, brought back to head afterwards (PostgreSQL's is shared)."""
    downgrade_database(engine, revision)
    try:
        yield engine
    finally:
        with write_engine(engine).begin() as conn:
            conn.execute(text("DELETE FROM projects"))
        upgrade_database(engine)


@pytest.fixture
def at_0004(engine: Engine) -> Iterator[Engine]:
    with at_revision(engine, "0004") as at:
        yield at


def _insert(engine: Engine, name: str, task: str, extra: str = "", values: str = "") -> None:
    with write_engine(engine).begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO projects (name, task, labels, settings, guidelines, created_at{extra})"
                f" VALUES (:name, :task, '[\"PER\", \"LOC\"]', '{{}}', '', CURRENT_TIMESTAMP{values})"
            ),
            {"name": name, "task": task},
        )


def test_0005_adds_the_task_and_the_column_and_downgrades_back(at_0004: Engine) -> None:
    engine = at_0004
    assert "entity_types" not in {c["name"] for c in inspect(engine).get_columns("projects")}
    with pytest.raises(IntegrityError):
        _insert(engine, "too early", "intents_entities")
    _insert(engine, "old spans", "spans")
    _insert(engine, "old single", "single_label")

    upgrade_database(engine, "0005")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, entity_types FROM projects ORDER BY id")).all()
    stored = {name: value if isinstance(value, list) else json.loads(value) for name, value in rows}
    # Spans projects mirror their types; the others start with none.
    assert stored == {"old spans": ["PER", "LOC"], "old single": []}
    _insert(engine, "ie", "intents_entities", ", entity_types", ", '[\"city\"]'")

    with pytest.raises(RuntimeError, match="'ie'"):
        downgrade_database(engine, "0004")
    with write_engine(engine).begin() as conn:
        conn.execute(text("DELETE FROM projects WHERE name = 'ie'"))
    downgrade_database(engine, "0004")
    assert "entity_types" not in {c["name"] for c in inspect(engine).get_columns("projects")}
    with pytest.raises(IntegrityError):
        _insert(engine, "refused again", "intents_entities")


@pytest.fixture
def at_0011(engine: Engine) -> Iterator[Engine]:
    with at_revision(engine, "0011") as at:
        yield at


def _settings(engine: Engine) -> dict[str, dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, settings FROM projects ORDER BY id")).all()
    return {name: value if isinstance(value, dict) else json.loads(value) for name, value in rows}


def test_0012_keeps_stored_projects_ranking_as_they_did(at_0011: Engine) -> None:
    engine = at_0011
    _insert(engine, "old", "single_label")
    with write_engine(engine).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO projects (name, task, labels, settings, guidelines, created_at) VALUES "
                "('chose', 'single_label', '[\"a\"]', '{\"class_balanced\": true}', '', "
                "CURRENT_TIMESTAMP)"
            )
        )
    upgrade_database(engine, "0012")
    assert _settings(engine) == {
        "old": {"class_balanced": False},
        "chose": {"class_balanced": True},
    }
    downgrade_database(engine, "0011")
    assert _settings(engine) == {"old": {}, "chose": {}}


@pytest.fixture
def at_0012(engine: Engine) -> Iterator[Engine]:
    with at_revision(engine, "0012") as at:
        yield at


def test_0013_keeps_stored_projects_features_as_they_were(at_0012: Engine) -> None:
    engine = at_0012
    _insert(engine, "old", "single_label")
    with write_engine(engine).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO projects (name, task, labels, settings, guidelines, created_at) VALUES "
                "('chose', 'single_label', '[\"a\"]', '{\"features\": \"minilm\"}', '', "
                "CURRENT_TIMESTAMP)"
            )
        )
    upgrade_database(engine, "0013")
    assert _settings(engine) == {"old": {"features": "tfidf"}, "chose": {"features": "minilm"}}
    downgrade_database(engine, "0012")  # tfidf is what 0012's code read for a missing key
    assert _settings(engine) == {"old": {"features": "tfidf"}, "chose": {"features": "minilm"}}


@pytest.fixture
def at_0013(engine: Engine) -> Iterator[Engine]:
    with at_revision(engine, "0013") as at:
        yield at


_WEAK_TABLES = {
    "labeling_functions",
    "labeling_function_versions",
    "weak_labels",
    "labeling_function_suggestions",
}


def _insert_function(engine: Engine, name: str, kind: str = "keyword") -> None:
    with write_engine(engine).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO labeling_functions (project_id, name, kind, label, spec, enabled, "
                "version, origin, created_at, updated_at, applied_through_item_id) SELECT id, "
                ":name, :kind, 'PER', '{}', true, 1, 'person', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP, 0 FROM projects"
            ),
            {"name": name, "kind": kind},
        )


def test_0014_adds_the_weak_supervision_tables_and_drops_them(at_0013: Engine) -> None:
    engine = at_0013
    assert not _WEAK_TABLES & set(inspect(engine).get_table_names())
    _insert(engine, "old", "single_label")
    upgrade_database(engine, "0014")
    assert _WEAK_TABLES <= set(inspect(engine).get_table_names())
    _insert_function(engine, "kw_person")
    with write_engine(engine).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO items (project_id, position, text, meta, source, content_hash, "
                "is_audit, is_evaluation, created_at) SELECT id, 0, 'Ada', '{}', '', 'h', false, "
                "false, CURRENT_TIMESTAMP FROM projects"
            )
        )
        conn.execute(
            text(
                "INSERT INTO weak_labels (function_id, item_id, version, label) "
                "SELECT f.id, i.id, 1, 'PER' FROM labeling_functions f, items i"
            )
        )
    for kind in KINDS:  # every declarative kind of the library may be stored
        _insert_function(engine, f"{kind}_person", kind=kind)
    with pytest.raises(IntegrityError):  # one name per project
        _insert_function(engine, "kw_person")
    with pytest.raises(IntegrityError):  # declarative kinds only: no code
        _insert_function(engine, "py_person", kind="python")
    with write_engine(engine).begin() as conn:
        conn.execute(text("DELETE FROM labeling_functions"))
        # The votes go with their function.
        assert conn.execute(text("SELECT count(*) FROM weak_labels")).scalar() == 0
    downgrade_database(engine, "0013")
    assert not _WEAK_TABLES & set(inspect(engine).get_table_names())


def _round_strategies(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT strategy FROM query_rounds ORDER BY id")))


def test_0016_stores_strategy_names_past_200_characters_and_cuts_them_going_back(
    engine: Engine,
) -> None:
    long_name = "IncrementalRescoring(" + "ClassBalanced(" * 20 + "MarginSampling()" + ")" * 21
    assert len(long_name) > 300
    with at_revision(engine, "0016"):
        _insert(engine, "p", "single_label")
        with write_engine(engine).begin() as conn:
            for name in (long_name, "MarginSampling()"):
                conn.execute(
                    text(
                        "INSERT INTO query_rounds (project_id, strategy, n_scored, seconds, "
                        "created_at) SELECT id, :name, 1, 0.0, CURRENT_TIMESTAMP FROM projects"
                    ),
                    {"name": name},
                )
        assert _round_strategies(engine) == [long_name, "MarginSampling()"]
        downgrade_database(engine, "0015")
        assert _round_strategies(engine) == [long_name[:200], "MarginSampling()"]
        columns = {c["name"]: c for c in inspect(engine).get_columns("leases")}
        assert getattr(columns["strategy"]["type"], "length", None) == 200
