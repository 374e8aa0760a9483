"""/projects/{id}/labeling-functions: create, list, edit, preview, suggestions, coverage, for
project admins only, with bad input refused as 4xx naming the field."""

from __future__ import annotations

import pytest

from tests.server.conftest import assert_error
from tests.service.word_embedder import fake_minilm

KEYWORD = {"name": "kw_hello", "kind": "keyword", "label": "greet", "keywords": ["hello"]}
ZERO_SHOT = {"name": "zero_shot", "kind": "zero_shot", "labels": ["bye", "greet"], "threshold": 0.5}


@pytest.fixture(autouse=True)
def _no_minilm(client):
    client.app.state.sentence_vectors = fake_minilm()


@pytest.fixture
def base(factory, world):
    factory.items(
        world.project,
        [
            {"text": "hello there", "label": "greet"},
            {"text": "hello again", "label": "greet"},
            {"text": "hello friend", "label": "greet"},
            {"text": "bye now", "label": "bye"},
            {"text": "bye for now", "label": "bye"},
            {"text": "bye then", "label": "bye"},
            {"text": "what is this"},
        ],
    )
    return f"/api/projects/{world.project.id}/labeling-functions"


def _create(client, world, base, body=None, headers=None):
    return client.post(base, json=body or KEYWORD, headers=headers or world.admin_headers)


class TestCreateAndList:
    def test_created_with_its_numbers_and_listed(self, client, world, base):
        response = _create(client, world, base)
        assert response.status_code == 201, response.text
        made = response.json()
        assert (made["name"], made["version"], made["origin"]) == ("kw_hello", 1, "person")
        assert made["stats"]["votes"] == 3 and made["stats"]["accuracy"] == 1.0
        assert made["stats"]["accuracy_low"] < 1.0 == made["stats"]["accuracy_high"]
        listed = client.get(base, headers=world.admin_headers).json()
        assert [f["id"] for f in listed["functions"]] == [made["id"]]
        assert listed["coverage"] == pytest.approx(3 / 7)
        assert (listed["n_items"], listed["gold_items"]) == (7, 6)
        got = client.get(f"{base}/{made['id']}", headers=world.admin_headers).json()
        assert got["spec"] == KEYWORD

    def test_a_taken_name_is_a_conflict(self, client, world, base):
        _create(client, world, base)
        assert_error(_create(client, world, base), 409, "conflict")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**KEYWORD, "label": "nope"}, "label"),
            ({k: v for k, v in KEYWORD.items() if k != "keywords"}, "keywords"),
            ({**KEYWORD, "kind": "regex", "pattern": "(unclosed"}, "pattern"),
            ({**KEYWORD, "kind": "regex", "pattern": "(a|aa)+$"}, "pattern"),
        ],
    )
    def test_a_bad_spec_names_the_field(self, client, world, base, body, field):
        error = assert_error(_create(client, world, base, body), 422, "input_error")
        assert error["field"] == field

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**KEYWORD, "kind": "python"}, "kind"),
            ({**KEYWORD, "keywords": [""]}, "keywords.0"),
            ({**KEYWORD, "name": "   "}, "name"),
            ({**KEYWORD, "code": "import os"}, "code"),
        ],
    )
    def test_a_malformed_body_names_the_field(self, client, world, base, body, field):
        error = assert_error(_create(client, world, base, body), 422, "request_validation_error")
        assert error["field"] == field

    def test_annotators_and_outsiders_may_not(self, client, world, base):
        assert_error(
            _create(client, world, base, headers=world.annotator_headers), 403, "permission_denied"
        )
        assert_error(client.get(base, headers=world.annotator_headers), 403, "permission_denied")
        assert_error(client.get(base, headers=world.outsider_headers), 404, "not_found")
        assert client.get(base).status_code == 401


class TestEditAndDelete:
    def test_an_edit_is_a_new_version_and_disabling_keeps_it(self, client, world, base):
        made = _create(client, world, base).json()
        url = f"{base}/{made['id']}"
        edited = client.patch(
            url, json={"keywords": ["bye"], "label": "bye"}, headers=world.admin_headers
        )
        assert edited.status_code == 200, edited.text
        assert (edited.json()["version"], edited.json()["stats"]["votes"]) == (2, 3)
        off = client.patch(url, json={"enabled": False}, headers=world.admin_headers).json()
        assert (off["enabled"], off["version"]) == (False, 2)
        versions = client.get(f"{url}/versions", headers=world.admin_headers).json()
        assert [v["spec"]["keywords"] for v in versions] == [["hello"], ["bye"]]
        bad = client.patch(url, json={"label": "nope"}, headers=world.admin_headers)
        assert assert_error(bad, 422, "input_error")["field"] == "label"

    def test_delete_then_not_found(self, client, world, base):
        made = _create(client, world, base).json()
        url = f"{base}/{made['id']}"
        assert client.delete(url, headers=world.admin_headers).status_code == 204
        assert_error(client.get(url, headers=world.admin_headers), 404, "not_found")
        assert_error(client.delete(url, headers=world.admin_headers), 404, "not_found")
        assert_error(
            client.get(f"{base}/0", headers=world.admin_headers), 422, "request_validation_error"
        )


class TestPreviewSuggestionsCoverage:
    def test_a_preview_stores_nothing(self, client, world, base):
        _create(client, world, base)
        body = {"name": "kw_now", "kind": "keyword", "label": "greet", "keywords": ["now"]}
        preview = client.post(f"{base}/preview", json=body, headers=world.admin_headers)
        assert preview.status_code == 200, preview.text
        found = preview.json()
        assert found["stats"]["votes"] == 2 and found["stats"]["correct"] == 0
        assert {h["text"] for h in found["sample"]} == {"bye now", "bye for now"}
        assert found["conflicts"] == {}
        assert len(client.get(base, headers=world.admin_headers).json()["functions"]) == 1

    def test_suggestions_accepted_and_rejected(self, client, world, base):
        suggestions = client.get(f"{base}/suggestions", headers=world.admin_headers).json()
        keys = {s["key"] for s in suggestions}
        assert {"kw_greet_hello", "kw_bye_bye"} <= keys
        accepted = client.post(
            f"{base}/suggestions/kw_greet_hello/accept", headers=world.admin_headers
        )
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["origin"] == "suggestion"
        rejected = client.post(f"{base}/suggestions/kw_bye_bye/reject", headers=world.admin_headers)
        assert rejected.status_code == 204
        left = {
            s["key"] for s in client.get(f"{base}/suggestions", headers=world.admin_headers).json()
        }
        assert not left & {"kw_greet_hello", "kw_bye_bye"}
        again = client.post(f"{base}/suggestions/kw_bye_bye/reject", headers=world.admin_headers)
        assert_error(again, 404, "not_found")
        denied = client.post(f"{base}/suggestions/x/accept", headers=world.annotator_headers)
        assert_error(denied, 403, "permission_denied")

    def test_coverage_counts_items_by_who_labels_them(self, client, world, base):
        _create(client, world, base)
        coverage = client.get(f"{base}/coverage", headers=world.admin_headers).json()
        assert coverage == {
            "n_items": 7,
            "human": 6,
            "weak": 3,
            "both": 3,
            "neither": 1,
            "functions": 1,
            "enabled": 1,
        }

    def test_weak_labels_are_listed_with_their_provenance(self, client, world, base):
        made = _create(client, world, base).json()
        listed = client.get(f"{base}/weak-labels", params={"limit": 2}, headers=world.admin_headers)
        assert listed.status_code == 200, listed.text
        rows = listed.json()
        assert [r["text"] for r in rows] == ["hello there", "hello again"]
        assert rows[0]["source"] == "rule"
        assert rows[0]["votes"] == [{"function": made["name"], "version": 1, "label": "greet"}]
        denied = client.get(f"{base}/weak-labels", headers=world.annotator_headers)
        assert_error(denied, 403, "permission_denied")


class TestSimilarityKinds:
    def test_a_zero_shot_function_votes_over_its_labels(self, client, world, base):
        response = _create(client, world, base, ZERO_SHOT)
        assert response.status_code == 201, response.text
        made = response.json()
        assert (made["kind"], made["label"], made["spec"]) == ("zero_shot", "*", ZERO_SHOT)
        # "bye now", "bye then" (1/sqrt(2)) and "bye for now" (1/sqrt(3)) are near the
        # name "bye"; no item holds the word "greet".
        assert (made["stats"]["votes"], made["stats"]["correct"]) == (3, 3)
        listed = client.get(base, headers=world.admin_headers).json()
        assert listed["similarity_refused"] is None

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**ZERO_SHOT, "labels": ["bye", "nope"]}, "labels"),
            ({**ZERO_SHOT, "kind": "label_name", "label": "nope"}, "label"),
            ({"name": "ex", "kind": "exemplar", "label": "bye", "threshold": 0.5}, "exemplars"),
        ],
    )
    def test_a_bad_spec_names_the_field(self, client, world, base, body, field):
        error = assert_error(_create(client, world, base, body), 422, "input_error")
        assert error["field"] == field

    def test_a_threshold_outside_the_cosines_is_malformed(self, client, world, base):
        response = _create(client, world, base, {**ZERO_SHOT, "threshold": 1.5})
        assert assert_error(response, 422, "request_validation_error")["field"] == "threshold"

    def test_refused_naming_kind_without_sentence_embeddings(self, client, world, base, factory):
        tfidf = factory.project(world.admin, name="plain", settings={"features": "tfidf"})
        url = f"/api/projects/{tfidf.id}/labeling-functions"
        error = assert_error(_create(client, world, url, ZERO_SHOT), 422, "input_error")
        assert error["field"] == "kind" and "'tfidf'" in error["message"]
        refused = client.get(url, headers=world.admin_headers).json()["similarity_refused"]
        assert "'tfidf'" in refused
        client.app.state.sentence_vectors = None  # a server without the embeddings extra
        error = assert_error(_create(client, world, base, ZERO_SHOT), 422, "input_error")
        assert error["field"] == "kind" and "embeddings extra" in error["message"]

    def test_the_zero_shot_suggestion_is_accepted(self, client, world, base):
        suggestions = client.get(f"{base}/suggestions", headers=world.admin_headers).json()
        by_key = {s["key"]: s for s in suggestions}
        assert by_key["zero_shot"]["label"] == "*"
        assert by_key["zero_shot"]["spec"]["labels"] == list(world.project.labels)
        accepted = client.post(f"{base}/suggestions/zero_shot/accept", headers=world.admin_headers)
        assert accepted.status_code == 201, accepted.text
        assert (accepted.json()["kind"], accepted.json()["label"]) == ("zero_shot", "*")
