"""The new-intent cluster routes: list, refresh, create an intent, out of scope; admins only."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labelwise.store import Annotation, AnnotationKind, Project
from tests.server.cluster_factory import make_cluster
from tests.server.conftest import assert_error

FREEZE = ["freeze my card", "please freeze the card", "freeze card stolen"]


@pytest.fixture
def cluster(factory, world, session_factory):
    factory.items(world.project, [{"text": t} for t in [*FREEZE, "hello there"]])
    return make_cluster(session_factory, world.project, FREEZE, "freeze_card")


def _base(world):
    return f"/api/projects/{world.project.id}/clusters"


class TestListClusters:
    def test_lists_open_clusters_with_representatives_and_name(self, client, world, cluster):
        cid, members = cluster
        response = client.get(_base(world), headers=world.admin_headers)
        assert response.status_code == 200, response.text
        [listed] = response.json()
        assert listed["id"] == cid and listed["size"] == 3
        assert listed["suggested_name"] == "freeze_card" and listed["status"] == "open"
        assert [m["text"] for m in listed["representatives"]] == FREEZE
        assert [m["item_id"] for m in listed["members"]] == members

    @pytest.mark.usefixtures("cluster")
    def test_the_dashboard_counts_open_clusters(self, client, world):
        response = client.get(
            f"/api/projects/{world.project.id}/dashboard", headers=world.admin_headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["open_clusters"] == 1


class TestCreateIntent:
    def test_creates_the_label_and_confirms_the_chosen_members(
        self, client, world, cluster, session_factory
    ):
        cid, members = cluster
        response = client.post(
            f"{_base(world)}/{cid}/create-intent",
            json={"name": "freeze_card", "confirm": members[:2]},
            headers=world.admin_headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "created" and body["created_label"] == "freeze_card"
        with session_factory() as session:
            assert session.get_one(Project, world.project.id).labels == [
                "greet",
                "bye",
                "freeze_card",
            ]
            labeled = session.execute(
                select(Annotation.item_id, Annotation.value).where(
                    Annotation.kind == AnnotationKind.LABEL
                )
            ).all()
        assert sorted(labeled) == [(m, "freeze_card") for m in sorted(members[:2])]
        assert client.get(_base(world), headers=world.admin_headers).json() == []
        again = client.post(
            f"{_base(world)}/{cid}/create-intent",
            json={"name": "other"},
            headers=world.admin_headers,
        )
        assert_error(again, 409, "conflict")

    def test_an_existing_label_is_a_conflict(self, client, world, cluster):
        cid, _ = cluster
        response = client.post(
            f"{_base(world)}/{cid}/create-intent",
            json={"name": "greet"},
            headers=world.admin_headers,
        )
        assert "already has a label" in assert_error(response, 409, "conflict")["message"]

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"name": ""},
            {"name": "   "},
            {"name": 5},
            {"name": "x" * 101},
            {"name": "ok", "confirm": "some"},
            {"name": "ok", "confirm": [0]},
            {"name": "ok", "confirm": ["a"]},
            {"name": "ok", "confirm": [10**12]},
            {"name": "ok", "confirm": [999999]},
            {"name": "a\u0000b"},
            [],
        ],
    )
    def test_malformed_bodies_are_a_422(self, client, world, cluster, body):
        cid, _ = cluster
        response = client.post(
            f"{_base(world)}/{cid}/create-intent", json=body, headers=world.admin_headers
        )
        # Refused by the schema (request_validation_error) or by the service (a blank
        # or long name, an item that is no member: validation_error); never a 500.
        assert response.status_code == 422, response.text
        assert response.json()["error"]["type"] in ("request_validation_error", "validation_error")

    @pytest.mark.usefixtures("cluster")
    def test_an_unknown_cluster_is_a_404_and_a_bad_id_a_422(self, client, world):
        response = client.post(
            f"{_base(world)}/999/create-intent", json={"name": "x"}, headers=world.admin_headers
        )
        assert_error(response, 404, "not_found")
        response = client.post(
            f"{_base(world)}/0/create-intent", json={"name": "x"}, headers=world.admin_headers
        )
        assert_error(response, 422, "request_validation_error")


class TestOutOfScope:
    def test_without_an_out_of_scope_class_the_cluster_is_dismissed(self, client, world, cluster):
        cid, _ = cluster
        response = client.post(f"{_base(world)}/{cid}/out-of-scope", headers=world.admin_headers)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "dismissed"
        decided = client.get(
            _base(world), params={"status": "decided"}, headers=world.admin_headers
        ).json()
        assert [c["id"] for c in decided] == [cid]


class TestRefresh:
    def test_queues_one_discovery_job(self, client, world):
        first = client.post(f"{_base(world)}/refresh", headers=world.admin_headers)
        assert first.status_code == 202, first.text
        assert first.json()["kind"] == "discover_intents"
        assert first.json()["status"] == "queued"
        second = client.post(f"{_base(world)}/refresh", headers=world.admin_headers)
        assert second.json()["id"] == first.json()["id"]


class TestAccess:
    def test_annotators_outsiders_and_service_tokens_are_refused(self, client, world, cluster):
        cid, _ = cluster
        token = client.post(
            f"/api/projects/{world.project.id}/service-tokens",
            json={"name": "bot", "scopes": ["ingest", "feedback", "predict"]},
            headers=world.admin_headers,
        ).json()["token"]
        bot = {"Authorization": f"Bearer {token}"}
        calls = [
            ("get", _base(world), None),
            ("post", f"{_base(world)}/refresh", None),
            ("post", f"{_base(world)}/{cid}/create-intent", {"name": "x"}),
            ("post", f"{_base(world)}/{cid}/out-of-scope", None),
        ]
        for headers in (world.annotator_headers, bot):
            for method, path, body in calls:
                kwargs = (
                    {"headers": headers} if body is None else {"headers": headers, "json": body}
                )
                response = getattr(client, method)(path, **kwargs)
                assert_error(response, 403, "permission_denied")
        for method, path, body in calls:
            kwargs = {"headers": world.outsider_headers}
            if body is not None:
                kwargs["json"] = body
            response = getattr(client, method)(path, **kwargs)
            assert response.status_code in (403, 404), response.text
        response = client.get(_base(world))
        assert response.status_code == 401
