"""``labelwise init``: migrate the database, optionally with a first site admin."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from labelwise.cli.db import DatabaseSetupError, database_url, normalize_url
from labelwise.cli.main import app
from labelwise.store import User, make_engine, make_session_factory, upgrade_database


def test_init_creates_the_schema_and_a_site_admin(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(
        app, ["init", "--db", url, "--admin", "root"], input="root-password\nroot-password\n"
    )
    assert result.exit_code == 0, result.output
    assert "site admin created: root" in result.output
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        root = session.scalars(select(User)).one()
        assert root.username == "root" and root.is_admin
    engine.dispose()
    # Running it again is a no-op migration.
    assert CliRunner().invoke(app, ["init", "--db", url]).exit_code == 0


def test_init_on_the_test_database_refuses_a_taken_admin_name(cli):
    assert cli("init", "--admin", "root", "--password", "root-password").exit_code == 0
    again = cli("init", "--admin", "root", "--password", "root-password")
    assert again.exit_code == 2
    assert "already exists" in again.output


def test_database_url_prefers_the_option_then_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABELWISE_DATABASE_URL", "sqlite:///from-env.db")
    assert database_url("sqlite:///given.db") == f"sqlite:///{tmp_path / 'given.db'}"
    assert database_url(None) == f"sqlite:///{tmp_path / 'from-env.db'}"
    monkeypatch.delenv("LABELWISE_DATABASE_URL")
    assert database_url(None) == f"sqlite:///{tmp_path / 'labelwise.db'}"


@pytest.mark.parametrize(
    "given",
    [
        "postgres://me:pw@db.example:5433/labels",
        "postgresql://me:pw@db.example:5433/labels",
        "postgresql+psycopg2://me:pw@db.example:5433/labels",
        "postgresql+psycopg://me:pw@db.example:5433/labels",
    ],
)
def test_the_common_postgres_spellings_use_the_installed_driver(given):
    assert normalize_url(given) == "postgresql+psycopg://me:pw@db.example:5433/labels"


def test_sqlite_urls_and_plain_paths_become_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    absolute = f"sqlite:///{tmp_path / 'data' / 'x.db'}"
    assert normalize_url("sqlite:///data/x.db") == absolute
    assert normalize_url("data/x.db") == absolute
    assert normalize_url(absolute) == absolute
    assert normalize_url("sqlite://") == "sqlite://"


def test_an_unsupported_database_is_refused_by_name():
    with pytest.raises(DatabaseSetupError, match="unsupported database 'mysql'"):
        normalize_url("mysql://me@host/db")


@pytest.mark.parametrize(
    "command",
    [
        ["status", "p"],
        ["label", "p", "--user", "u", "--no-worker"],
        ["label", "p", "--user", "u"],
        ["retrain", "p"],
        ["users", "token", "u"],
        ["project", "create", "p", "--owner", "u", "--labels", "a,b"],
        ["export", "p", "out.jsonl"],
    ],
)
def test_commands_never_create_a_database(command, tmp_path, monkeypatch):
    # run from another folder, as a user following the demo's printed line would
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "nested" / "labelwise-demo.db"
    result = CliRunner().invoke(app, [*command, "--db", "sqlite:///nested/labelwise-demo.db"])
    assert result.exit_code == 2, result.output
    assert not target.exists() and not target.parent.exists()
    assert f"no database at {target}" in result.output
    assert f"labelwise init --db sqlite:///{target}" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback


def test_serve_refuses_a_missing_database_without_creating_it(tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_k: pytest.fail("served"))
    target = tmp_path / "missing.db"
    result = CliRunner().invoke(app, ["serve", "--db", str(target)])
    assert result.exit_code == 2
    assert f"no database at {target}" in result.output and not target.exists()


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("not a database at all\n" * 100, encoding="utf-8")
    result = CliRunner().invoke(app, ["status", "p", "--db", str(junk)])
    assert result.exit_code == 2
    assert f"cannot open the database sqlite:///{junk}" in result.output


def test_an_older_schema_asks_for_init_and_serve_accepts_it(tmp_path, monkeypatch):
    import uvicorn

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade_database(engine, "0002")
    engine.dispose()
    result = CliRunner().invoke(app, ["status", "p", "--db", url])
    assert result.exit_code == 2
    assert "older than this labelwise's" in result.output
    assert f"migrate it with: labelwise init --db {url}" in result.output
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(os, "environ", dict(os.environ))
    served = CliRunner().invoke(app, ["serve", "--db", url, "--no-worker"])
    assert served.exit_code == 0, served.output
    assert calls


def test_a_database_without_tables_says_to_run_init(tmp_path):
    empty = tmp_path / "e.db"
    empty.touch()  # what an older labelwise left behind
    result = CliRunner().invoke(app, ["status", "p", "--db", f"sqlite:///{empty}"])
    assert result.exit_code == 2
    assert "has no labelwise tables; create them with: labelwise init --db" in result.output
