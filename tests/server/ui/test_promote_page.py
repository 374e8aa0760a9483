"""Promoting a model version from the dashboard: the comparison first, then a CSRF form."""

from __future__ import annotations

import re

import pytest

from labelwise.service.transactions import begin_write
from labelwise.store import ModelVersion, Project
from tests.server.trained import trained_project
from tests.server.ui.helpers import XSS_TEXT, form_token, ui_login


@pytest.fixture
def project(factory, world, settings, session_factory):
    """Two versions with held-out accuracies: v2 better than v1 on the evaluation set."""
    project = trained_project(factory, world, settings, session_factory, versions=2, name=XSS_TEXT)
    with session_factory() as session:
        begin_write(session)
        for row in session.query(ModelVersion).filter_by(project_id=project.id):
            value = 0.70 if row.version == 1 else 0.82
            row.metrics = {
                **row.metrics,
                "eval_accuracy": value,
                "eval_ci95": [value - 0.05, value + 0.05],
                "eval_n": 250,
            }
        session.commit()
    return project


def production(session_factory, project):
    with session_factory() as session:
        value = session.get(Project, project.id).production_version_id
        session.commit()
        return value


def promote_url(project, version):
    return f"/ui/projects/{project.id}/model-versions/{version}/promote"


def test_the_dashboard_lists_versions_with_their_interval_and_a_promote_link(
    client, world, project
):
    ui_login(client, world.admin.username)
    html = client.get(f"/ui/projects/{project.id}/dashboard").text
    assert "82.0%" in html and "(77.0–87.0, n=250)" in html
    assert html.count("Compare and promote") == 2
    assert "none is yet, so they" in html and 'id="production-version"' not in html
    assert XSS_TEXT not in html  # the project's name is escaped


def test_promoting_shows_the_comparison_then_marks_production(
    client, world, project, session_factory
):
    ui_login(client, world.admin.username)
    first = client.get(promote_url(project, 1))
    assert first.status_code == 200
    assert "No version is in production yet" in first.text
    response = client.post(
        promote_url(project, 1), data={"csrf_token": form_token(first.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith("/dashboard?done=promoted#h-versions")
    dashboard = client.get(response.headers["location"]).text
    assert "Model promoted: predictions now come from it." in dashboard
    assert dashboard.count('id="production-version"') == 1
    assert dashboard.count("Compare and promote") == 1
    assert production(session_factory, project) is not None

    # v2 against the production v1: both intervals and the difference with its own.
    page = client.get(promote_url(project, 2)).text
    assert "Predictions now come from model v1" in page
    assert "v1 (production)" in page
    assert "70.0%" in page and "82.0%" in page
    assert "+12.0 points" in page
    low, high = (0.12 - (0.05**2 + 0.05**2) ** 0.5, 0.12 + (0.05**2 + 0.05**2) ** 0.5)
    assert f"({100 * low:+.1f} to {100 * high:+.1f})" in page
    assert "may be chance" not in page  # the interval excludes 0
    assert re.search(r'<button type="submit" class="primary">Promote v2 to production', page)
    assert XSS_TEXT not in page


def test_without_the_csrf_token_nothing_is_promoted(client, world, project, session_factory):
    ui_login(client, world.admin.username)
    response = client.post(promote_url(project, 1), data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert production(session_factory, project) is None


def test_annotators_get_403(client, world, project, session_factory):
    csrf = ui_login(client, world.annotator.username)
    assert client.get(promote_url(project, 1)).status_code == 403
    assert client.post(promote_url(project, 1), data={"csrf_token": csrf}).status_code == 403
    assert production(session_factory, project) is None


def test_a_model_that_cannot_serve_shows_why(client, world, project, settings):
    ui_login(client, world.admin.username)
    token = form_token(client.get(promote_url(project, 2)).text)
    (settings.data_dir / "projects" / str(project.id) / "models" / "v2" / "model.npz").write_bytes(
        b"damaged"
    )
    response = client.post(promote_url(project, 2), data={"csrf_token": token})
    assert response.status_code == 409
    assert "Model version 2 cannot be used: model.npz" in response.text
    assert str(settings.data_dir) not in response.text


def test_an_unknown_version_is_404(client, world, project):
    ui_login(client, world.admin.username)
    response = client.get(promote_url(project, 9))
    assert response.status_code == 404
    assert "has no model version 9" in response.text
