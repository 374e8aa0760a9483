from __future__ import annotations

import pytest

from tests.server.conftest import assert_error

ROWS = [
    {"text": "hello there", "label": "greet"},
    {"text": "bye now", "label": "bye"},
    {"text": "hi friend", "label": "greet", "lang": "en"},
]


@pytest.fixture
def labeled(factory, world):
    factory.items(world.project, ROWS)


@pytest.mark.usefixtures("labeled")
class TestListLabels:
    def test_pages_labels_with_their_items(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/labels?offset=1&limit=5",
            headers=world.admin_headers,
        )
        assert response.status_code == 200
        body = response.json()
        assert (body["offset"], body["limit"]) == (1, 5)
        assert [(r["text"], r["label"]) for r in body["items"]] == [
            ("bye now", "bye"),
            ("hi friend", "greet"),
        ]
        assert body["items"][1]["meta"] == {"lang": "en"}
        assert body["items"][1]["created_at"].endswith("Z")

    def test_annotator_is_forbidden(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/labels", headers=world.annotator_headers
        )
        assert_error(response, 403, "permission_denied")
