"""Accuracy on live traffic from the random audit of ingested messages."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from labelwise.service import live_quality, projects, queue, traffic, users
from labelwise.service.errors import NotFoundError
from labelwise.service.transactions import begin_write
from labelwise.store import Item


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="correct horse battery")


def _project(session, owner, audit_fraction):
    return projects.create_project(
        session,
        name="bot",
        labels=["balance", "transfer", "oos"],
        owner=owner,
        settings={"audit_fraction": audit_fraction},
    )


def _label(session, project, owner, text, label):
    item = session.scalar(select(Item).where(Item.project_id == project.id, Item.text == text))
    queue.submit_annotation(
        session, project_id=project.id, item_id=item.id, annotator=owner, value=label
    )


def test_the_audit_of_live_traffic_weighs_each_message(session, owner):
    project = _project(session, owner, audit_fraction=0.5)  # every new text joins the audit
    messages = [
        *[{"text": "what is my balance", "prediction": "balance"}] * 3,  # right x3
        {"text": "send money to bob", "prediction": "balance"},  # wrong
        {"text": "move 5 dollars", "prediction": ["transfer"]},  # right (a list of one)
        {"text": "sing me a song"},  # no prediction: not in the estimate
    ]
    traffic.ingest_traffic(session, project_id=project.id, messages=messages)
    begin_write(session)
    session.execute(update(Item).where(Item.project_id == project.id).values(is_audit=True))
    session.commit()
    for text, label in [
        ("what is my balance", "balance"),
        ("send money to bob", "transfer"),
        ("move 5 dollars", "transfer"),
        ("sing me a song", "oos"),
    ]:
        _label(session, project, owner, text, label)

    live = live_quality.live_quality(session, project_id=project.id)

    assert (live.audited_texts, live.audited_messages) == (3, 5)
    assert live.accuracy == pytest.approx(4 / 5)
    # Weights 3, 1, 1: effective n = 25 / 11, far fewer than five messages.
    assert live.effective_n == pytest.approx(25 / 11)
    assert live.ci95 is not None
    low, high = live.ci95
    assert low < 0.8 < high and high - low > 0.5
    assert [(p.label, p.predicted, p.messages) for p in live.confused] == [
        ("transfer", "balance", 1)
    ]


def test_labels_outside_the_audit_feed_the_confused_pairs_only(session, owner):
    project = _project(session, owner, audit_fraction=0.0)
    traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[{"text": "send money to bob", "prediction": "balance"}] * 2,
    )
    _label(session, project, owner, "send money to bob", "transfer")

    live = live_quality.live_quality(session, project_id=project.id)

    assert live.accuracy is None and live.ci95 is None and live.audited_messages == 0
    assert [(p.label, p.predicted, p.messages) for p in live.confused] == [
        ("transfer", "balance", 2)
    ]


def test_an_unknown_project(session):
    with pytest.raises(NotFoundError):
        live_quality.live_quality(session, project_id=999)
