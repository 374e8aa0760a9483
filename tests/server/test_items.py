from __future__ import annotations

import pytest

from tests.server.conftest import assert_error

TEXTS = ["hello there", "good morning", "see you", "farewell", "hi friend"]


@pytest.fixture
def items(factory, world):
    factory.items(world.project, [{"text": t} for t in TEXTS])


@pytest.mark.usefixtures("items")
class TestListItems:
    def test_pages_in_position_order_with_the_total(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/items?offset=1&limit=2",
            headers=world.annotator_headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["total"], body["offset"], body["limit"]) == (5, 1, 2)
        assert [i["text"] for i in body["items"]] == TEXTS[1:3]
        assert [i["position"] for i in body["items"]] == [1, 2]

    def test_limit_out_of_range_names_the_field(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/items?limit=0", headers=world.admin_headers
        )
        assert assert_error(response, 422, "request_validation_error")["field"] == "limit"

    def test_outsider_gets_404(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/items", headers=world.outsider_headers
        )
        assert_error(response, 404, "not_found")


@pytest.mark.usefixtures("items")
class TestReadItem:
    def test_member_reads_one_item(self, client, world):
        first = client.get(
            f"/api/projects/{world.project.id}/items?limit=1", headers=world.annotator_headers
        ).json()["items"][0]
        response = client.get(
            f"/api/projects/{world.project.id}/items/{first['id']}",
            headers=world.annotator_headers,
        )
        assert response.json() == first

    def test_item_of_another_project_is_404(self, client, factory, world):
        other = factory.project(world.admin, name="other")
        item_id = client.get(
            f"/api/projects/{world.project.id}/items?limit=1", headers=world.admin_headers
        ).json()["items"][0]["id"]
        response = client.get(
            f"/api/projects/{other.id}/items/{item_id}", headers=world.admin_headers
        )
        assert_error(response, 404, "not_found")
