"""User feedback: reports linked to traffic, per-report errors, review, reliability, funnel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from labelwise.data import LabelSource
from labelwise.service import feedback, traffic
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.transactions import begin_write
from labelwise.store import (
    Annotation,
    AnnotationKind,
    FeedbackReport,
    FeedbackStatus,
    Item,
    ModelVersion,
    Project,
    TrafficMessage,
    TrafficStat,
)
from tests.service.pool_factory import make_project, make_user
from tests.service.test_predictions import classification_project


@pytest.fixture
def owner(session):
    return make_user(session, "owner", admin=True)


@pytest.fixture
def project(session, owner):
    project, _ = make_project(session, owner, copies=1)
    traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[
            {"text": "hello there 0", "external_id": "m-1", "prediction": "bye", "channel": "app"},
            {"text": "weather today 0", "external_id": "m-2", "prediction": "greet"},
            {"text": "what time is it", "external_id": "m-3", "prediction": "weather"},
        ],
    )
    return project


def test_a_report_links_the_ingested_message_by_external_id(session, project):
    receipt = feedback.report_feedback(
        session,
        project_id=project.id,
        reports=[
            {"external_id": "m-1", "meant_label": "greet", "comment": "I said hi"},
            {"external_id": "m-2", "channel": "web", "prediction": "bye"},
        ],
    )
    assert (receipt.accepted, receipt.rejected, receipt.errors) == (2, 0, [])
    first, second = (session.get(FeedbackReport, i) for i in receipt.ids)
    message = session.scalar(select(TrafficMessage).where(TrafficMessage.external_id == "m-1"))
    assert first.traffic_message_id == message.id and first.item_id == message.item_id
    assert (first.predicted, first.meant_label, first.comment) == ("bye", "greet", "I said hi")
    assert first.channel == "app"  # the message's channel when the report names none
    assert first.status is FeedbackStatus.OPEN
    # The ingested prediction is what production answered; the report's is a fallback.
    assert (second.predicted, second.channel) == ("greet", "web")


def test_an_unknown_external_id_refuses_that_report_only(session, project):
    receipt = feedback.report_feedback(
        session,
        project_id=project.id,
        reports=[{"external_id": "nope"}, {"external_id": "m-3"}],
    )
    assert (receipt.accepted, receipt.rejected) == (1, 1)
    [error] = receipt.errors
    assert (error.index, error.field) == (0, "external_id")
    assert "'nope'" in error.message
    assert str(error).startswith("reports[0].external_id:")


def test_each_bad_report_is_named_by_index_and_field(session, project):
    receipt = feedback.report_feedback(
        session,
        project_id=project.id,
        reports=[
            {"text": "hi", "meant_label": "no such label"},
            {"text": "hi", "colour": "red"},
            {},
            "not an object",
            {"text": "hi", "comment": 5},
            {"external_id": "m-1", "timestamp": "yesterday"},
            {"text": "hello there 0"},
        ],
    )
    fields = [(e.index, e.field) for e in receipt.errors]
    assert fields == [
        (0, "meant_label"),
        (1, "colour"),
        (2, "text"),
        (3, "(report)"),
        (4, "comment"),
        (5, "timestamp"),
    ]
    assert receipt.accepted == 1
    with pytest.raises(ValidationError, match="at most 1,000"):
        feedback.report_feedback(session, project_id=project.id, reports=[{}] * 1001)
    with pytest.raises(NotFoundError):
        feedback.report_feedback(session, project_id=9999, reports=[{"text": "x"}])


def test_a_report_with_text_links_the_item_or_enters_as_traffic(session, project):
    items_before = session.scalar(select(func.count()).select_from(Item))
    receipt = feedback.report_feedback(
        session,
        project_id=project.id,
        reports=[
            {"text": "Hello  there 0", "prediction": "bye"},  # a known text (normalised)
            {"text": "book me a table", "prediction": "weather", "channel": "web"},
        ],
    )
    known, new = (session.get(FeedbackReport, i) for i in receipt.ids)
    assert session.get(Item, known.item_id).text == "hello there 0"
    assert session.get(Item, new.item_id).text == "book me a table"
    assert session.scalar(select(func.count()).select_from(Item)) == items_before + 1
    stat = session.get(TrafficStat, new.item_id)
    assert stat.count == 1  # the new text went in through the traffic ingest
    assert session.get(TrafficStat, known.item_id).count == 1  # a known text is not recounted


def test_a_resent_batch_with_report_keys_stores_nothing_twice(session, project):
    batch = [
        {"external_id": "m-1", "report_key": "r-1"},
        {"text": "cancel my order", "report_key": 7},  # a number is a key too
        {"external_id": "m-2"},  # no key: stored every time it is sent
        {"external_id": "m-3", "report_key": "r-1"},  # the same key later in the batch
    ]
    first = feedback.report_feedback(session, project_id=project.id, reports=batch)
    assert (first.accepted, first.duplicates, first.rejected) == (3, 1, 0)
    assert first.ids[3] == first.ids[0]
    again = feedback.report_feedback(session, project_id=project.id, reports=batch)
    assert (again.accepted, again.duplicates, again.rejected) == (1, 3, 0)
    assert [again.ids[i] for i in (0, 1, 3)] == [first.ids[i] for i in (0, 1, 3)]
    assert again.ids[2] != first.ids[2]
    assert session.scalar(select(func.count()).select_from(FeedbackReport)) == 4
    keyed = session.scalar(select(FeedbackReport).where(FeedbackReport.report_key == "7"))
    # The resent text was not counted again as traffic.
    assert session.get(TrafficStat, keyed.item_id).count == 1
    bad = feedback.report_feedback(
        session, project_id=project.id, reports=[{"external_id": "m-1", "report_key": ""}]
    )
    assert [(e.index, e.field) for e in bad.errors] == [(0, "report_key")]


def test_the_queue_serves_reported_messages_and_labeling_reviews_them(session, project, owner):
    from labelwise.service import projects, queue

    projects.update_settings(
        session, project_id=project.id, changes={"audit_fraction": 0, "feedback_share": 0.5}
    )
    receipt = feedback.report_feedback(
        session,
        project_id=project.id,
        reports=[
            {"external_id": "m-1", "meant_label": "greet"},  # production said "bye"
            {"external_id": "m-2"},  # production said "greet"
            {"external_id": "m-2", "channel": "web"},  # the same message again
        ],
    )
    reported = {session.get(FeedbackReport, i).item_id for i in receipt.ids}
    served = {}
    labels = {"hello there 0": "greet", "weather today 0": "greet"}
    # No model yet: the ranked queue is empty, so reported messages come first.
    for _ in range(2):
        item = queue.lease_next(session, project_id=project.id, annotator=owner)
        assert item.source == "feedback" and item.strategy == "feedback"
        served[item.text] = item
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=owner,
            item_id=item.item_id,
            value=labels[item.text],
        )
    assert {s.item_id for s in served.values()} == reported
    assert "reported the bot's answer “bye” as wrong (they meant “greet”)" in (
        served["hello there 0"].why
    )
    assert "2 open reports name this message" in served["weather today 0"].why
    session.expire_all()
    rows = {r.id: r for r in session.scalars(select(FeedbackReport))}
    first, second, third = (rows[i] for i in receipt.ids)
    # "greet" is not what production answered for m-1: the report was true.
    assert first.status is FeedbackStatus.CONFIRMED and first.confirmed_label == "greet"
    annotation = session.get(Annotation, first.annotation_id)
    assert annotation.strategy == feedback.PROVENANCE and annotation.annotator_id == owner.id
    # "greet" is what production answered for m-2: both its reports were false.
    assert second.status is third.status is FeedbackStatus.REJECTED
    assert second.reviewer_id == owner.id
    funnel = feedback.feedback_funnel(session, session.get(Project, project.id))
    assert (funnel.confirmed, funnel.rejected) == (1, 2)
    # Nothing open: the source is not mixed in, and the next item comes from the pool.
    assert not feedback.has_open(session, project_id=project.id)
    nxt = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert nxt.source == "random"


def test_confirm_writes_a_human_label_with_provenance(session, project, owner):
    [rid] = feedback.report_feedback(
        session, project_id=project.id, reports=[{"external_id": "m-1"}]
    ).ids
    with pytest.raises(ValidationError):
        feedback.confirm_report(
            session, project_id=project.id, report_id=rid, reviewer=owner, label="nope"
        )
    assert session.get(FeedbackReport, rid).status is FeedbackStatus.OPEN
    view = feedback.confirm_report(
        session, project_id=project.id, report_id=rid, reviewer=owner, label="greet"
    )
    assert view.status is FeedbackStatus.CONFIRMED
    assert (view.confirmed_label, view.reviewer) == ("greet", "owner")
    report = session.get(FeedbackReport, rid)
    annotation = session.get(Annotation, report.annotation_id)
    assert annotation.item_id == report.item_id
    assert (annotation.kind, annotation.source) == (AnnotationKind.LABEL, LabelSource.HUMAN)
    assert (annotation.value, annotation.annotator_id) == ("greet", owner.id)
    assert annotation.strategy == feedback.PROVENANCE
    assert annotation.comment == f"feedback report {rid}"
    with pytest.raises(ConflictError, match="already reviewed"):
        feedback.reject_report(session, project_id=project.id, report_id=rid, reviewer=owner)
    with pytest.raises(NotFoundError):
        feedback.confirm_report(
            session, project_id=project.id, report_id=rid + 100, reviewer=owner, label="greet"
        )


def test_reject_labels_nothing_and_reliability_learns(session, project, owner):
    ids = feedback.report_feedback(
        session,
        project_id=project.id,
        reports=[{"text": f"message {k}", "channel": "voice" if k % 2 else "app"} for k in range(6)]
        + [{"text": "later app", "channel": "app"}, {"text": "later voice", "channel": "voice"}],
    ).ids
    annotations_before = session.scalar(select(func.count()).select_from(Annotation))
    for k, rid in enumerate(ids[:6]):
        if k % 2:
            feedback.reject_report(session, project_id=project.id, report_id=rid, reviewer=owner)
        else:
            feedback.confirm_report(
                session, project_id=project.id, report_id=rid, reviewer=owner, label="greet"
            )
    assert session.scalar(select(func.count()).select_from(Annotation)) == annotations_before + 3
    assert session.get(FeedbackReport, ids[1]).status is FeedbackStatus.REJECTED
    reliability = feedback.channel_reliability(session, project_id=project.id)
    assert dict(reliability.confirmed) == {"app": 3}
    assert dict(reliability.rejected) == {"voice": 3}
    assert reliability.probability("app") == pytest.approx(5 / 6)  # Beta(2, 1) + 3 confirmed
    assert reliability.probability("voice") == pytest.approx(2 / 6)  # Beta(2, 1) + 3 rejected
    # No model yet: the reliable channel's report comes first.
    page = feedback.list_reports(session, project_id=project.id)
    assert page.total == 2
    assert [v.text for v in page.reports] == ["later app", "later voice"]
    assert page.reports[0].p_true == pytest.approx(5 / 6)
    reviewed = feedback.list_reports(session, project_id=project.id, status=FeedbackStatus.REJECTED)
    assert reviewed.total == 3


def _version(session, project, number, created_at):
    begin_write(session)
    row = ModelVersion(project_id=project.id, version=number, label_count=10, created_at=created_at)
    session.add(row)
    session.commit()
    return row.id


def test_the_funnel_counts_fixes_in_the_released_model(session, project, owner):
    ids = feedback.report_feedback(
        session, project_id=project.id, reports=[{"text": f"t {k}"} for k in range(4)]
    ).ids
    for rid in ids[:2]:
        feedback.confirm_report(
            session, project_id=project.id, report_id=rid, reviewer=owner, label="bye"
        )
    feedback.reject_report(session, project_id=project.id, report_id=ids[2], reviewer=owner)
    funnel = feedback.feedback_funnel(session, session.get(Project, project.id))
    assert (funnel.reported, funnel.open, funnel.confirmed, funnel.rejected) == (4, 1, 2, 1)
    assert (funnel.fixed, funnel.released_version) == (0, None)

    now = datetime.now(UTC)
    old = _version(session, project, 1, now - timedelta(days=1))
    newer = _version(session, project, 2, now + timedelta(seconds=5))
    funnel = feedback.feedback_funnel(session, session.get(Project, project.id))
    # No production version: the latest version is the released one, trained after both.
    assert (funnel.fixed, funnel.released_version, funnel.released_is_production) == (2, 2, False)
    # Each confirmation records the first version trained after it.
    feedback.rescore(session, project_id=project.id)
    stamped = {session.get(FeedbackReport, rid).fixed_version_id for rid in ids}
    assert stamped == {None, newer}

    begin_write(session)
    session.get(Project, project.id).production_version_id = old
    session.commit()
    funnel = feedback.feedback_funnel(session, session.get(Project, project.id))
    assert (funnel.fixed, funnel.released_version, funnel.released_is_production) == (0, 1, True)
    assert list(funnel.channels) == [""]
    assert funnel.channels[""][:2] == (2, 1)
    assert funnel.channels[""][2] == pytest.approx(4 / 6)


def test_open_reports_are_scored_with_the_latest_model(session, session_factory, owner, tmp_path):
    project = classification_project(session, session_factory, owner, tmp_path)
    receipt = feedback.report_feedback(
        session,
        project_id=project.id,
        reports=[
            {"text": "hello there 1", "prediction": "greet", "channel": "web"},
            {"text": "hello there 2", "prediction": "bye", "channel": "web"},
            {"text": "goodbye now 3", "prediction": "unknown-intent", "channel": "web"},
        ],
    )
    page = feedback.list_reports(session, project_id=project.id)
    views = {v.id: v for v in page.reports}
    assert all(v.model_version == 1 for v in views.values())
    agree, disagree, unknown = (views[i] for i in receipt.ids)
    rows = {i: session.get(FeedbackReport, i) for i in receipt.ids}
    assert rows[receipt.ids[2]].model_p_production is None  # not a label of the schema
    for view in (agree, disagree):
        assert view.model_label in {"greet", "bye", "weather"}
        assert view.model_margin is not None and 0.0 <= view.model_margin <= 1.0
    # The model's probability of the production label drives P(true): a model that agrees
    # with production less backs the report more.
    p_agree = rows[receipt.ids[0]].model_p_production
    p_disagree = rows[receipt.ids[1]].model_p_production
    assert None not in (p_agree, p_disagree, agree.p_true, disagree.p_true)
    assert (agree.p_true > disagree.p_true) == (p_agree < p_disagree)  # type: ignore[operator]
    assert unknown.p_true == pytest.approx(2 / 3)  # no evidence: the channel's prior
    # Scored once per version: a second read predicts nothing.
    assert feedback.rescore(session, project_id=project.id) == 0
