"""Span projects over the API: creation, span values, serving with span suggestions,
flag resolution, recent decisions and training-data downloads."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from labelwise.server.schemas.queue import ServedItemOut
from labelwise.service.transactions import begin_write
from labelwise.store import Item, ModelVersion, Project, QueryRound, QueueEntry, TaskType
from tests.server.conftest import Factory, assert_error

TEXT = "wake me tomorrow at 7 please"  # "tomorrow at 7": 8..21
WHEN = {"start": 8, "end": 21, "label": "timeRange"}


@pytest.fixture
def nlu(factory: Factory) -> tuple[Project, dict[str, str]]:
    """An intents-and-entities project with one item, and its admin's headers."""
    admin = factory.user("root", is_admin=True)
    project = factory.project(
        admin,
        name="nlu",
        labels=("SetAlarm", "GetWeather"),
        task=TaskType.INTENTS_ENTITIES,
        entity_types=("timeRange", "city"),
        settings={"audit_fraction": 0},
    )
    factory.items(project, [{"text": TEXT}])
    return project, factory.headers(admin)


def test_create_span_projects_and_refuse_bad_entity_types(client, factory) -> None:
    headers = factory.headers(factory.user("root", is_admin=True))
    created = client.post(
        "/api/projects",
        json={"name": "ner", "task": "spans", "labels": ["PER", "LOC"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["entity_types"] == ["PER", "LOC"]
    body = {"name": "nlu", "task": "intents_entities", "labels": ["a", "b"], "entity_types": ["x"]}
    assert client.post("/api/projects", json=body, headers=headers).json()["entity_types"] == ["x"]
    refused = [
        ({"task": "intents_entities", "labels": ["a", "b"]}, "at least one entity type"),
        ({"task": "intents_entities", "labels": ["a"], "entity_types": ["x"]}, "two intents"),
        ({"task": "spans", "labels": ["a"], "entity_types": ["time range"]}, "white space"),
        ({"task": "single_label", "labels": ["a", "b"], "entity_types": ["x"]}, "Only span"),
    ]
    for fields, message in refused:
        response = client.post("/api/projects", json={"name": "bad", **fields}, headers=headers)
        assert response.status_code == 422, response.text
        assert message in response.text, (fields, response.text)


def _serve_with_suggestions(session_factory: Any, project: Project) -> None:
    """A query round whose entry carries the worker's span suggestions."""
    with session_factory() as session:
        begin_write(session)
        version = ModelVersion(project_id=project.id, version=1, label_count=10)
        session.add(version)
        session.flush()
        round_ = QueryRound(
            project_id=project.id, model_version_id=version.id, strategy="MNLP()", n_scored=1
        )
        session.add(round_)
        session.flush()
        item = session.scalars(select(Item.id).where(Item.project_id == project.id)).one()
        focus = {**WHEN, "confidence": 0.54}
        session.add(
            QueueEntry(
                round_id=round_.id,
                rank=0,
                item_id=item,
                score=0.9,
                suggestions={
                    "intents": [["SetAlarm", 0.8], ["GetWeather", 0.2]],
                    "spans": [focus],
                    "focus": focus,
                },
            )
        )
        session.execute(
            update(Project).where(Project.id == project.id).values(current_round_id=round_.id)
        )
        session.commit()


def test_serving_annotating_and_reviewing_span_values(client, factory, nlu) -> None:
    project, headers = nlu
    _serve_with_suggestions(factory.session_factory, project)
    base = f"/api/projects/{project.id}"
    served = client.post(f"{base}/queue/next", headers=headers).json()
    ServedItemOut.model_validate(served)
    assert served["tokens"][:3] == [[0, 4], [5, 7], [8, 16]]
    assert served["span_suggestions"] == [{**WHEN, "confidence": 0.54}]
    assert served["suggestions"][0] == {"label": "SetAlarm", "probability": 0.8}
    assert served["reason"]["focus"] == {"start": 8, "end": 21}
    assert served["reason"]["explanation"] == (
        "The model is least sure about “tomorrow at 7” as timeRange (54%)."
    )

    submit = f"{base}/annotations"
    bad = {"intent": "SetAlarm", "spans": [WHEN, {"start": 22, "end": 99, "label": "city"}]}
    error = assert_error(
        client.post(submit, json={"item_id": served["item_id"], "value": bad}, headers=headers),
        422,
        "validation_error",
    )
    assert "value.spans[1].end" in error["message"]
    shape = client.post(
        submit,
        json={"item_id": served["item_id"], "value": {"spans": [{"start": "8", "end": 21}]}},
        headers=headers,
    )
    assert shape.status_code == 422
    # A selection that starts inside a word takes the whole word: "morrow at" -> "tomorrow at".
    value = {"intent": "SetAlarm", "spans": [{"start": 10, "end": 19, "label": "timeRange"}]}
    done = client.post(submit, json={"item_id": served["item_id"], "value": value}, headers=headers)
    assert done.status_code == 201, done.text
    assert done.json()["value"] == {
        "intent": "SetAlarm",
        "spans": [{"start": 8, "end": 19, "label": "timeRange"}],
    }
    recent = client.get(f"{base}/annotations/recent", headers=headers).json()
    assert recent[0]["summary"] == "SetAlarm · “tomorrow at” timeRange"

    conll = client.get(f"{base}/export", params={"format": "conll"}, headers=headers)
    assert conll.status_code == 200, conll.text
    assert "tomorrow\tB-timeRange\nat\tI-timeRange\n7\tO" in conll.text
    assert (
        client.get(f"{base}/export", params={"format": "rasa"}, headers=headers).text.count(
            "[tomorrow at](timeRange)"
        )
        == 1
    )


def test_a_flag_resolves_with_a_span_value(client, nlu) -> None:
    project, headers = nlu
    base = f"/api/projects/{project.id}"
    served = client.post(f"{base}/queue/next", headers=headers).json()
    flag = client.post(
        f"{base}/annotations/flag",
        json={"item_id": served["item_id"], "comment": "which time?"},
        headers=headers,
    ).json()
    resolve = f"{base}/flags/{flag['id']}/resolve"
    wrong = {"resolution": "label", "label": {"intent": "SetAlarm", "spans": [{**WHEN, "end": 50}]}}
    assert "value.spans[0].end" in client.post(resolve, json=wrong, headers=headers).text
    right = {"resolution": "label", "label": {"intent": "SetAlarm", "spans": [WHEN]}}
    resolved = client.post(resolve, json=right, headers=headers)
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["label"] == {"intent": "SetAlarm", "spans": [WHEN]}
