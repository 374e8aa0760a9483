"""``labelwise demo`` (without serving) and ``labelwise serve`` wiring."""

from __future__ import annotations

import os

from labelwise.cli import serve
from labelwise.service import demo, users
from labelwise.store import Item, Project, make_engine, make_session_factory


def test_demo_creates_the_project_once_and_prints_how_to_log_in(cli, database_url):
    first = cli("demo", "--no-serve", "--password", "demo-password")
    assert first.exit_code == 0, first.output
    assert "demo project demo-intents " in first.output
    assert "demo project demo-intents-entities " in first.output
    assert "admin user: admin" in first.output and "API token: lw_" in first.output
    again = cli("demo", "--no-serve")
    assert again.exit_code == 0, again.output
    assert "password: " not in again.output  # the admin exists: no new password
    assert "its password is unchanged: pass --password to set a new one" in again.output
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        project, spans = session.query(Project).order_by(Project.id).all()
        assert session.query(Item).filter_by(project_id=project.id).count() == 600
        assert sorted(project.labels) == sorted(set(demo.demo_gold()))
        assert project.settings["audit_fraction"] == 0.1
        # The second demo labels intents and entities over the SNIPS sample.
        assert spans.task == "intents_entities" and spans.entity_types
        assert session.query(Item).filter_by(project_id=spans.id).count() == 350
    engine.dispose()


def test_serve_builds_settings_from_the_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = serve._settings("sqlite:///x.db", tmp_path, worker=False)
    assert settings.database_url == f"sqlite:///{tmp_path / 'x.db'}"  # absolute for the server
    assert settings.data_dir == tmp_path and settings.run_worker is False


def test_serve_trusts_only_the_named_proxies(cli, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **kwargs: calls.append(kwargs))
    # serve hands its settings over in the environment: give it a copy to write to.
    monkeypatch.setattr(os, "environ", dict(os.environ))
    result = cli("serve", "--forwarded-allow-ips", "10.0.0.5", "--no-worker")
    assert result.exit_code == 0, result.output
    assert calls[0]["proxy_headers"] is True
    assert calls[0]["forwarded_allow_ips"] == "10.0.0.5"


def test_serve_trusts_no_forwarded_headers_unless_a_proxy_is_named(cli, monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(os, "environ", dict(os.environ))
    os.environ.pop("LABELWISE_FORWARDED_ALLOW_IPS", None)
    assert cli("serve", "--no-worker").exit_code == 0
    assert calls[-1]["proxy_headers"] is False and "forwarded_allow_ips" not in calls[-1]
    os.environ["LABELWISE_FORWARDED_ALLOW_IPS"] = "10.0.0.9"
    assert cli("serve", "--no-worker").exit_code == 0
    assert calls[-1]["proxy_headers"] is True and calls[-1]["forwarded_allow_ips"] == "10.0.0.9"


def test_demo_password_on_an_existing_demo_sets_the_admins_password(cli, database_url):
    assert cli("demo", "--no-serve", "--password", "first demo password").exit_code == 0
    again = cli("demo", "--no-serve", "--password", "second demo password")
    assert again.exit_code == 0, again.output
    assert "admin user: admin  password (changed): second demo password" in again.output
    weak = cli("demo", "--no-serve", "--password", "password1")
    assert weak.exit_code == 2 and "most common" in weak.output
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        assert users.authenticate(session, username="admin", password="second demo password")
    engine.dispose()


def test_demo_refuses_a_weak_password_before_making_a_database(tmp_path):
    from typer.testing import CliRunner

    from labelwise.cli.main import app

    path = tmp_path / "demo.db"
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--no-serve",
            "--db",
            f"sqlite:///{path}",
            "--admin",
            "demo-admin",
            "--password",
            "Demo-Admin",
        ],
    )
    assert result.exit_code == 2 and "may not be the username" in result.output
    assert not path.exists()


def test_demo_prints_an_absolute_url_that_works_from_any_folder(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from labelwise.cli.main import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["demo", "--no-serve", "--password", "demo-password"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    url = f"sqlite:///{tmp_path / 'labelwise-demo.db'}"
    assert f"is ready in {url}" in result.output
    line = next(li for li in result.output.splitlines() if li.startswith("label in the terminal"))
    assert line.endswith(f"--db {url}")  # one line, however narrow the terminal
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    args = line.removeprefix("label in the terminal: labelwise ").split()
    labeled = CliRunner().invoke(app, [*args, "--no-worker"], input="q\n")
    assert labeled.exit_code == 0, labeled.output
    assert "why this item" in labeled.output
    assert list(elsewhere.iterdir()) == []
