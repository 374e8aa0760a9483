"""``labelwise init``: migrate the database, optionally with a first site admin."""

from __future__ import annotations

from sqlalchemy import select

from labelwise.cli.db import database_url
from labelwise.store import User, make_engine, make_session_factory


def test_init_creates_the_schema_and_a_site_admin(tmp_path):
    from typer.testing import CliRunner

    from labelwise.cli.main import app

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


def test_database_url_prefers_the_option_then_the_environment(monkeypatch):
    monkeypatch.setenv("LABELWISE_DATABASE_URL", "sqlite:///from-env.db")
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"
    assert database_url(None) == "sqlite:///from-env.db"
    monkeypatch.delenv("LABELWISE_DATABASE_URL")
    assert database_url(None) == "sqlite:///labelwise.db"


def test_a_database_without_tables_says_to_run_init(tmp_path):
    from typer.testing import CliRunner

    from labelwise.cli.main import app

    result = CliRunner().invoke(app, ["status", "p", "--db", f"sqlite:///{tmp_path / 'e.db'}"])
    assert result.exit_code == 2
    assert "labelwise init" in result.output
