"""The flag review page: who may open it, what it lists, the three resolutions, CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labelwise.service import flags, queue
from labelwise.store import Annotation, AnnotationKind
from tests.server.ui.helpers import XSS_TEXT, ui_login


@pytest.fixture
def flagged(factory, world, session_factory):
    """Two items the annotator flagged, one with markup in its text and comment."""
    factory.items(world.project, [{"text": XSS_TEXT}, {"text": "where is my parcel"}])
    ids = []
    with session_factory() as session:
        for comment in (f"ambiguous: {XSS_TEXT}", "out of scope: a parcel question"):
            served = queue.lease_next(
                session, project_id=world.project.id, annotator=world.annotator
            )
            assert served is not None
            flag = queue.flag_item(
                session,
                project_id=world.project.id,
                annotator=world.annotator,
                item_id=served.item_id,
                comment=comment,
            )
            ids.append(flag.id)
    return ids


def _page(client, world, query=""):
    return client.get(f"/ui/projects/{world.project.id}/flags{query}")


def test_annotators_get_403(client, world, flagged):
    csrf = ui_login(client, world.annotator.username)
    assert _page(client, world).status_code == 403
    response = client.post(
        f"/ui/projects/{world.project.id}/flags/{flagged[0]}",
        data={"resolution": "requeue", "csrf_token": csrf},
    )
    assert response.status_code == 403


@pytest.mark.usefixtures("flagged")
def test_lists_each_flag_with_its_text_and_comment_escaped(client, world):
    ui_login(client, world.admin.username)
    response = _page(client, world)
    assert response.status_code == 200
    html = response.text
    assert "where is my parcel" in html and "out of scope: a parcel question" in html
    assert XSS_TEXT not in html  # escaped, not markup
    assert html.count('class="flag"') == 2
    assert "Flagged by ann" in html
    assert f'href="/ui/projects/{world.project.id}/flags"' in html  # in the project nav
    assert f'href="/ui/projects/{world.project.id}/flags"' in _page(client, world).text


def test_the_three_resolutions(client, world, flagged, session_factory):
    csrf = ui_login(client, world.admin.username)
    pid = world.project.id
    first, second = flagged
    response = client.post(
        f"/ui/projects/{pid}/flags/{first}",
        data={"resolution": "label", "label": "greet", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/ui/projects/{pid}/flags?done=label"
    assert "Labeled." in client.get(response.headers["location"]).text
    response = client.post(
        f"/ui/projects/{pid}/flags/{second}",
        data={"resolution": "out_of_scope", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "No open flags" in _page(client, world).text
    resolved = " ".join(_page(client, world, "?show=resolved").text.split())
    assert "Labeled “greet” by root" in resolved and "Out of scope" in resolved
    with session_factory() as session:
        assert flags.count_open_flags(session, project_id=pid) == 0
        label = session.scalar(
            select(Annotation.value).where(
                Annotation.kind == AnnotationKind.LABEL, Annotation.annotator_id == world.admin.id
            )
        )
        assert label == "greet"


def test_a_refused_resolution_shows_the_reason(client, world, flagged):
    csrf = ui_login(client, world.admin.username)
    pid = world.project.id
    response = client.post(
        f"/ui/projects/{pid}/flags/{flagged[0]}",
        data={"resolution": "label", "label": "", "csrf_token": csrf},
    )
    assert response.status_code == 422
    assert "needs the label" in response.text
    client.post(
        f"/ui/projects/{pid}/flags/{flagged[0]}",
        data={"resolution": "requeue", "csrf_token": csrf},
    )
    again = client.post(
        f"/ui/projects/{pid}/flags/{flagged[0]}",
        data={"resolution": "requeue", "csrf_token": csrf},
    )
    assert again.status_code == 409 and "already resolved" in again.text


def test_without_the_csrf_token_nothing_is_resolved(client, world, flagged, session_factory):
    ui_login(client, world.admin.username)
    response = client.post(
        f"/ui/projects/{world.project.id}/flags/{flagged[0]}", data={"resolution": "requeue"}
    )
    assert response.status_code == 403
    with session_factory() as session:
        assert flags.count_open_flags(session, project_id=world.project.id) == 2
