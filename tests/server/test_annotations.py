from __future__ import annotations

import pytest

from tests.server.conftest import assert_error


@pytest.fixture
def served(client, factory, world):
    """An item leased to the annotator."""
    factory.items(world.project, [{"text": "hello there"}, {"text": "bye now"}])
    response = client.post(
        f"/api/projects/{world.project.id}/queue/next", headers=world.annotator_headers
    )
    return response.json()


def _post(client, world, path="", headers=None, **body):
    return client.post(
        f"/api/projects/{world.project.id}/annotations{path}",
        json=body,
        headers=headers or world.annotator_headers,
    )


class TestSubmitAnnotation:
    def test_new_label_is_201_with_provenance(self, client, world, served):
        response = _post(
            client,
            world,
            item_id=served["item_id"],
            value="greet",
            client_key="k1",
            seconds_spent=2.5,
            lease_id=served["lease_id"],
        )
        assert response.status_code == 201
        body = response.json()
        assert (body["kind"], body["value"], body["source"]) == ("label", "greet", "human")
        assert body["strategy"] == served["reason"]["strategy"]
        assert body["seconds_spent"] == 2.5

    def test_replayed_client_key_is_200_with_the_same_body(self, client, world, served):
        first = _post(client, world, item_id=served["item_id"], value="greet", client_key="k1")
        again = _post(client, world, item_id=served["item_id"], value="greet", client_key="k1")
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()

    def test_unknown_label_is_a_422(self, client, world, served):
        response = _post(client, world, item_id=served["item_id"], value="nope")
        assert "Unknown label" in assert_error(response, 422, "validation_error")["message"]

    def test_missing_value_names_the_field(self, client, world, served):
        response = _post(client, world, item_id=served["item_id"])
        assert assert_error(response, 422, "request_validation_error")["field"] == "value"

    def test_item_of_another_project_is_404(self, client, factory, world, served):
        other = factory.project(world.admin, name="other")
        factory.member(other, world.annotator)
        response = client.post(
            f"/api/projects/{other.id}/annotations",
            json={"item_id": served["item_id"], "value": "greet"},
            headers=world.annotator_headers,
        )
        assert_error(response, 404, "not_found")

    def test_outsider_gets_404(self, client, world, served):
        response = _post(
            client, world, headers=world.outsider_headers, item_id=served["item_id"], value="bye"
        )
        assert_error(response, 404, "not_found")


class TestSkip:
    def test_skip_is_recorded_without_a_value(self, client, world, served):
        response = _post(client, world, "/skip", item_id=served["item_id"], client_key="s1")
        assert response.status_code == 201
        assert (response.json()["kind"], response.json()["value"]) == ("skip", None)
        again = _post(client, world, "/skip", item_id=served["item_id"], client_key="s1")
        assert again.status_code == 200


class TestFlag:
    def test_flag_keeps_the_comment(self, client, world, served):
        response = _post(client, world, "/flag", item_id=served["item_id"], comment="ambiguous")
        assert response.status_code == 201
        assert (response.json()["kind"], response.json()["comment"]) == ("flag", "ambiguous")

    def test_flag_needs_a_comment(self, client, world, served):
        response = _post(client, world, "/flag", item_id=served["item_id"], comment="")
        assert assert_error(response, 422, "request_validation_error")["field"] == "comment"


class TestUndo:
    def test_undo_without_a_body_undoes_the_latest(self, client, world, served):
        label = _post(client, world, item_id=served["item_id"], value="greet").json()
        response = client.post(
            f"/api/projects/{world.project.id}/annotations/undo", headers=world.annotator_headers
        )
        assert response.status_code == 200
        assert response.json()["id"] == label["id"]
        assert response.json()["undone_at"] is not None

    def test_undo_by_id(self, client, world, served):
        label = _post(client, world, item_id=served["item_id"], value="greet").json()
        response = _post(client, world, "/undo", annotation_id=label["id"])
        assert response.json()["id"] == label["id"]

    def test_nothing_to_undo_is_404(self, client, world):
        assert_error(_post(client, world, "/undo"), 404, "not_found")


class TestRecent:
    def test_lists_live_decisions_newest_first(self, client, world, served):
        first = _post(client, world, item_id=served["item_id"], value="greet").json()
        _post(client, world, "/undo")
        second = _post(client, world, item_id=served["item_id"], value="bye").json()
        response = client.get(
            f"/api/projects/{world.project.id}/annotations/recent?limit=5",
            headers=world.annotator_headers,
        )
        assert [a["id"] for a in response.json()] == [second["id"]]
        assert first["id"] != second["id"]

    def test_each_decision_carries_its_items_text(self, client, world, served):
        # After a reload the page knows no item it served: the list must say what it was.
        _post(client, world, item_id=served["item_id"], value="bye")
        response = client.get(
            f"/api/projects/{world.project.id}/annotations/recent",
            headers=world.annotator_headers,
        )
        [decision] = response.json()
        assert (decision["item_text"], decision["value"]) == (served["text"], "bye")

    def test_limit_is_validated(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/annotations/recent?limit=1000",
            headers=world.annotator_headers,
        )
        assert assert_error(response, 422, "request_validation_error")["field"] == "limit"
