"""``labelwise demo`` (without serving) and ``labelwise serve`` wiring."""

from __future__ import annotations

import os

from labelwise.cli import serve
from labelwise.service import demo
from labelwise.store import Item, Project, make_engine, make_session_factory


def test_demo_creates_the_project_once_and_prints_how_to_log_in(cli, database_url):
    first = cli("demo", "--no-serve", "--password", "demo-password")
    assert first.exit_code == 0, first.output
    assert "demo project demo-intents" in first.output
    assert "admin user: admin" in first.output and "API token: lw_" in first.output
    again = cli("demo", "--no-serve")
    assert again.exit_code == 0, again.output
    assert "password" not in again.output  # the admin exists: no new password
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        project = session.query(Project).one()
        assert session.query(Item).filter_by(project_id=project.id).count() == 600
        assert sorted(project.labels) == sorted(set(demo.demo_gold()))
        assert project.settings["audit_fraction"] == 0.1
    engine.dispose()


def test_serve_builds_settings_from_the_options(tmp_path):
    settings = serve._settings("sqlite:///x.db", tmp_path, worker=False)
    assert settings.database_url == "sqlite:///x.db"
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
