"""GET /flags and POST /flags/{id}/resolve: the flag review, for project admins only."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.server.conftest import assert_error


@pytest.fixture
def flagged(client, factory, world):
    """A flag the annotator raised on a served item."""
    factory.items(world.project, [{"text": "hello there"}, {"text": "bye now"}])
    base = f"/api/projects/{world.project.id}"
    served = client.post(f"{base}/queue/next", headers=world.annotator_headers).json()
    flag = client.post(
        f"{base}/annotations/flag",
        json={"item_id": served["item_id"], "comment": "out of scope: a complaint"},
        headers=world.annotator_headers,
    ).json()
    return served, flag


def _flags(client, world, headers=None, **params):
    return client.get(
        f"/api/projects/{world.project.id}/flags",
        params=params,
        headers=headers or world.admin_headers,
    )


def _resolve(client, world, flag_id, headers=None, **body):
    return client.post(
        f"/api/projects/{world.project.id}/flags/{flag_id}/resolve",
        json=body,
        headers=headers or world.admin_headers,
    )


class TestListFlags:
    def test_lists_open_flags_with_text_flagger_and_comment(self, client, world, flagged):
        served, flag = flagged
        response = _flags(client, world)
        assert response.status_code == 200
        [listed] = response.json()
        assert listed["id"] == flag["id"]
        assert (listed["item_text"], listed["flagged_by"]) == (served["text"], "ann")
        assert listed["comment"] == "out of scope: a complaint"
        assert listed["resolution"] is None
        assert datetime.fromisoformat(listed["created_at"]).tzinfo is not None

    def test_annotators_may_not_review(self, client, world, flagged):
        assert_error(_flags(client, world, world.annotator_headers), 403, "permission_denied")
        _, flag = flagged
        response = _resolve(
            client, world, flag["id"], world.annotator_headers, resolution="requeue"
        )
        assert_error(response, 403, "permission_denied")

    def test_an_unknown_status_is_422(self, client, world):
        assert_error(_flags(client, world, status="maybe"), 422, "request_validation_error")


class TestResolveFlag:
    def test_label_resolves_and_lists_the_label_given(self, client, world, flagged):
        _, flag = flagged
        response = _resolve(client, world, flag["id"], resolution="label", label="greet")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["resolution"], body["resolved_by"], body["label"]) == (
            "label",
            "root",
            "greet",
        )
        assert _flags(client, world).json() == []
        assert [f["id"] for f in _flags(client, world, status="resolved").json()] == [flag["id"]]

    def test_out_of_scope_then_again_is_409(self, client, world, flagged):
        _, flag = flagged
        assert _resolve(client, world, flag["id"], resolution="out_of_scope").status_code == 200
        again = _resolve(client, world, flag["id"], resolution="requeue")
        assert_error(again, 409, "conflict")

    def test_an_unknown_label_or_resolution_is_422(self, client, world, flagged):
        _, flag = flagged
        response = _resolve(client, world, flag["id"], resolution="label", label="nope")
        assert "Unknown label" in assert_error(response, 422, "validation_error")["message"]
        response = _resolve(client, world, flag["id"], resolution="delete")
        assert_error(response, 422, "request_validation_error")

    @pytest.mark.parametrize("flag_id", [999999, 2**31, 2**63])
    def test_an_unknown_flag_is_404_or_422(self, client, world, flag_id):
        response = _resolve(client, world, flag_id, resolution="requeue")
        assert response.status_code in {404, 422}
