from __future__ import annotations

import pytest

from labelwise.service import items, metrics, projects, users
from labelwise.service.errors import NotFoundError, ValidationError
from labelwise.service.transactions import begin_write
from labelwise.store import Item


@pytest.fixture
def project(session):
    owner = users.create_user(session, username="owner", password="owner-password")
    project = projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    begin_write(session)
    for position, text in enumerate(["one", "two", "three"]):
        session.add(Item(project_id=project.id, position=position, text=text, content_hash=text))
    session.commit()
    return project


def test_list_items_pages_in_position_order(session, project):
    page = items.list_items(session, project_id=project.id, offset=1, limit=1)
    assert (page.total, page.offset, page.limit) == (3, 1, 1)
    assert [i.text for i in page.items] == ["two"]


@pytest.mark.parametrize(("offset", "limit"), [(-1, 10), (0, 0), (0, items.MAX_PAGE + 1)])
def test_list_items_refuses_bad_pages(session, project, offset, limit):
    with pytest.raises(ValidationError):
        items.list_items(session, project_id=project.id, offset=offset, limit=limit)


def test_get_item_only_within_its_project(session, project):
    first = items.list_items(session, project_id=project.id).items[0]
    assert items.get_item(session, project_id=project.id, item_id=first.id).text == "one"
    with pytest.raises(NotFoundError):
        items.get_item(session, project_id=project.id + 1, item_id=first.id)
    with pytest.raises(NotFoundError):
        items.list_items(session, project_id=project.id + 1)


def test_project_metrics_without_a_model(session, project):
    result = metrics.project_metrics(session, project_id=project.id)
    assert result.status.items == 3
    assert result.latest_model is None
