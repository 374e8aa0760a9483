from __future__ import annotations

from tests.server.conftest import assert_error


def _next(client, world, headers=None):
    return client.post(
        f"/api/projects/{world.project.id}/queue/next",
        headers=headers or world.annotator_headers,
    )


class TestQueueNext:
    def test_serves_an_item_with_the_reason(self, client, factory, world):
        factory.items(world.project, [{"text": "hello there"}, {"text": "bye now"}])
        response = _next(client, world)
        assert response.status_code == 200
        body = response.json()
        assert body["text"] in {"hello there", "bye now"}
        assert body["lease_id"] > 0
        assert set(body["reason"]) == {
            "source",
            "explanation",
            "strategy",
            "score",
            "model_version",
            "focus",
        }
        assert body["tokens"] == [] and body["span_suggestions"] == []
        assert body["traffic_count"] is None  # imported, not production traffic
        assert body["reason"]["source"] == "random"
        assert body["reason"]["strategy"].startswith("random")
        assert body["reason"]["explanation"] == (
            "Picked at random: there is no model yet to choose items."
        )
        assert body["reason"]["model_version"] is None
        assert body["suggestions"] == []

    def test_asking_again_returns_the_same_lease(self, client, factory, world):
        factory.items(world.project, [{"text": "hello there"}, {"text": "bye now"}])
        first, again = _next(client, world).json(), _next(client, world).json()
        assert (again["lease_id"], again["item_id"]) == (first["lease_id"], first["item_id"])

    def test_nothing_left_is_204(self, client, world):
        response = _next(client, world)
        assert response.status_code == 204
        assert response.content == b""

    def test_outsider_gets_404(self, client, world):
        assert_error(_next(client, world, world.outsider_headers), 404, "not_found")

    def test_ahead_prefetches_a_second_item_that_becomes_current_after_a_decision(
        self, client, factory, world
    ):
        factory.items(world.project, [{"text": f"utterance {i}"} for i in range(5)])
        url = f"/api/projects/{world.project.id}/queue/next"
        current = _next(client, world).json()
        following = client.post(url, params={"ahead": "true"}, headers=world.annotator_headers)
        assert following.status_code == 200
        assert following.json()["item_id"] != current["item_id"]
        again = client.post(url, params={"ahead": "true"}, headers=world.annotator_headers)
        assert again.json()["lease_id"] == following.json()["lease_id"]  # two leases at most
        stored = client.post(
            f"/api/projects/{world.project.id}/annotations",
            json={"item_id": current["item_id"], "value": "greet"},
            headers=world.annotator_headers,
        )
        assert stored.status_code in {200, 201}, stored.text
        assert _next(client, world).json()["lease_id"] == following.json()["lease_id"]

    def test_ahead_is_documented_and_validated(self, client, world):
        operation = client.get("/openapi.json").json()["paths"][
            "/api/projects/{project_id}/queue/next"
        ]["post"]
        (ahead,) = [p for p in operation["parameters"] if p["name"] == "ahead"]
        assert ahead["in"] == "query" and ahead["schema"]["default"] is False
        assert "after the current one" in ahead["description"]
        response = client.post(
            f"/api/projects/{world.project.id}/queue/next",
            params={"ahead": "maybe"},
            headers=world.annotator_headers,
        )
        assert_error(response, 422, "request_validation_error")

    def test_ahead_with_one_item_left_is_204(self, client, factory, world):
        factory.items(world.project, [{"text": "hello there"}])
        assert _next(client, world).status_code == 200
        response = client.post(
            f"/api/projects/{world.project.id}/queue/next",
            params={"ahead": "true"},
            headers=world.annotator_headers,
        )
        assert response.status_code == 204
