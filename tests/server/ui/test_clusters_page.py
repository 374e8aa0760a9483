"""The new-intent review page: who may open it, what it shows, the two decisions, CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labelwise.service import intent_discovery
from labelwise.store import Annotation, AnnotationKind, Project
from tests.server.cluster_factory import make_cluster
from tests.server.ui.helpers import XSS_TEXT, ui_login

FREEZE = ["freeze my card", "please freeze the card", XSS_TEXT]
CHECKBOOK = ["order a checkbook", "new checkbook please", "send me a checkbook"]


@pytest.fixture
def clusters(factory, world, session_factory):
    factory.items(world.project, [{"text": t} for t in FREEZE + CHECKBOOK])
    return (
        make_cluster(session_factory, world.project, FREEZE, "freeze_card"),
        make_cluster(session_factory, world.project, CHECKBOOK, "checkbook"),
    )


def _page(client, world):
    return client.get(f"/ui/projects/{world.project.id}/clusters")


def test_annotators_get_403(client, world, clusters):
    csrf = ui_login(client, world.annotator.username)
    assert _page(client, world).status_code == 403
    (cid, _), _ = clusters
    response = client.post(
        f"/ui/projects/{world.project.id}/clusters/{cid}",
        data={"action": "out_of_scope", "csrf_token": csrf},
    )
    assert response.status_code == 403


def test_each_cluster_shows_its_name_size_members_and_hooks(client, world, clusters):
    ui_login(client, world.admin.username)
    response = _page(client, world)
    assert response.status_code == 200
    html = response.text
    (freeze, members), (checkbook, _) = clusters
    assert f'data-cluster-id="{freeze}"' in html and f'data-cluster-id="{checkbook}"' in html
    assert 'name="name" value="freeze_card"' in html
    assert html.count("create-intent") == 2 and html.count('class="out-of-scope"') == 2
    assert "please freeze the card" in html and "3 messages" in html
    assert XSS_TEXT not in html  # escaped, not markup
    for item_id in members:
        assert f'name="member" value="{item_id}" checked' in html
    assert f'href="/ui/projects/{world.project.id}/clusters"' in html  # in the project nav


def test_create_an_intent_with_the_ticked_members(client, world, clusters, session_factory):
    csrf = ui_login(client, world.admin.username)
    pid = world.project.id
    (cid, members), _ = clusters
    response = client.post(
        f"/ui/projects/{pid}/clusters/{cid}",
        data={"action": "create", "name": "freeze", "member": members[:2], "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/ui/projects/{pid}/clusters?done=created"
    page = client.get(response.headers["location"]).text
    assert "Intent created" in page and f'data-cluster-id="{cid}"' not in page
    with session_factory() as session:
        assert session.get_one(Project, pid).labels == ["greet", "bye", "freeze"]
        labeled = session.execute(
            select(Annotation.item_id, Annotation.value).where(
                Annotation.kind == AnnotationKind.LABEL
            )
        ).all()
    assert sorted(labeled) == [(m, "freeze") for m in sorted(members[:2])]


def test_out_of_scope_and_a_refused_decision(client, world, clusters, session_factory):
    csrf = ui_login(client, world.admin.username)
    pid = world.project.id
    (freeze, _), (checkbook, _) = clusters
    response = client.post(
        f"/ui/projects/{pid}/clusters/{checkbook}",
        data={"action": "out_of_scope", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    refused = client.post(
        f"/ui/projects/{pid}/clusters/{freeze}",
        data={"action": "create", "name": "greet", "csrf_token": csrf},
    )
    assert refused.status_code == 409 and "already has a label" in refused.text
    again = client.post(
        f"/ui/projects/{pid}/clusters/{checkbook}",
        data={"action": "out_of_scope", "csrf_token": csrf},
    )
    assert again.status_code == 409 and "already decided" in again.text
    with session_factory() as session:
        assert intent_discovery.count_open_clusters(session, project_id=pid) == 1


def test_without_the_csrf_token_nothing_is_decided(client, world, clusters, session_factory):
    ui_login(client, world.admin.username)
    (cid, _), _ = clusters
    response = client.post(
        f"/ui/projects/{world.project.id}/clusters/{cid}", data={"action": "out_of_scope"}
    )
    assert response.status_code == 403
    with session_factory() as session:
        assert intent_discovery.count_open_clusters(session, project_id=world.project.id) == 2


@pytest.mark.usefixtures("clusters")
def test_the_dashboard_links_the_open_clusters(client, world):
    ui_login(client, world.admin.username)
    html = client.get(f"/ui/projects/{world.project.id}/dashboard").text
    assert "2 open" in html and f'href="/ui/projects/{world.project.id}/clusters"' in html
