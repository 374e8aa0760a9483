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
        assert set(body["reason"]) == {"strategy", "score", "model_version"}
        assert body["reason"]["strategy"].startswith("random")
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
