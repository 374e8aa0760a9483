from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from labelwise.evaluation.labels_saved import MAX_EVAL_SHIFT, MIN_AUDIT_LABELS
from labelwise.service import dashboard, importing, projects, queue, training
from labelwise.service.dashboard import VersionPoint, stopping_signals
from labelwise.service.learning_health import labels_saved_text
from tests.service.pool_factory import INTENTS, label_with_audit, make_project, make_user


def label_n(session, project, user, truth, n, *, seconds=2.0):
    for _ in range(n):
        s = queue.lease_next(session, project_id=project.id, annotator=user)
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=user,
            item_id=s.item_id,
            value=truth[s.item_id],
            seconds_spent=seconds,
        )


def test_dashboard_numbers_after_two_retrains(session, session_factory, tmp_path):
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner, settings={"audit_fraction": 0.2})
    other = make_user(session, "other")
    projects.add_member(session, project_id=project.id, user=other)
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    for _ in range(2):
        label_n(session, project, owner, truth, 8)
        label_n(session, project, other, truth, 4, seconds=5.0)
        worker.run_pending()
    s = queue.lease_next(session, project_id=project.id, annotator=other)
    queue.skip_item(session, project_id=project.id, annotator=other, item_id=s.item_id)
    board = dashboard.project_dashboard(session, project_id=project.id)
    assert board.status.annotations == 24 and board.status.skipped == 1
    assert sum(board.labels_per_class.values()) == 24
    assert set(board.labels_per_class) <= {"greet", "bye", "weather"}
    assert board.pool_predicted and board.queued > 0
    by_name = {a.username: a for a in board.annotators}
    assert by_name["owner"].labels == 16 and by_name["owner"].median_seconds == 2.0
    assert by_name["other"].labels == 8 and by_name["other"].skips == 1
    assert by_name["other"].labels_last_hour == 8
    assert [v.version for v in board.versions] == [1, 2]
    assert all(v.margin_histogram is not None for v in board.versions)
    assert board.versions[-1].stop_kappa is not None
    # Some audit items were labeled (20% of next calls are audit draws): accuracy + CI.
    assert any(v.audit_n for v in board.versions)
    assert [sig.name for sig in board.stopping] == [
        "stabilizing predictions",
        "classification change",
        "overall uncertainty",
    ]
    assert board.jobs and board.jobs[0].status.value == "done"


def test_the_dashboard_reads_the_annotations_once(session, session_factory, tmp_path):
    from sqlalchemy import event

    owner = make_user(session, "owner")
    project, truth = make_project(session, owner, settings={"audit_fraction": 0.2})
    label_n(session, project, owner, truth, 6)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    engine = session.get_bind()
    statements: list[str] = []

    def record(*args):  # (conn, cursor, statement, parameters, context, executemany)
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        board = dashboard.project_dashboard(session, project_id=project.id)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # The class counts and the failure signals share one read of the annotations' values.
    reads = [s for s in statements if "annotations.value" in s]
    assert len(reads) == 1, reads
    assert sum(board.labels_per_class.values()) == 6
    assert board.signals.active.labels + board.signals.audit.labels == 6


def point(kappa, changed=None, confidence=None):
    return VersionPoint(
        version=1,
        label_count=1,
        created_at=datetime.now(UTC),
        audit_accuracy=None,
        audit_ci95=None,
        audit_n=None,
        eval_accuracy=None,
        eval_ci95=None,
        eval_n=None,
        mean_confidence=confidence,
        stop_kappa=kappa,
        stop_changed=changed,
        margin_histogram=None,
    )


@pytest.mark.parametrize(
    ("points", "fired"),
    [
        ([point(None), point(0.995), point(0.995)], [False, False, False]),
        ([point(0.99), point(0.995), point(1.0, 0.001, 0.95)], [True, True, True]),
        ([point(0.5), point(1.0), point(1.0, 0.01, 0.85)], [False, False, False]),
    ],
)
def test_stopping_signals_follow_the_library_thresholds(points, fired):
    assert [s.fired for s in stopping_signals(points)] == fired


# -- is active learning helping? ----------------------------------------------------------


def test_before_enough_audit_labels_the_dashboard_says_what_it_lacks(
    session, session_factory, tmp_path
):
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner, settings={"audit_fraction": 0.2})
    label_with_audit(session, project, owner, truth, n_audit=10, n_trained=6)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    board = dashboard.project_dashboard(session, project_id=project.id)
    estimate = board.labels_saved
    assert estimate is not None and not estimate.estimated
    assert estimate.audit_labels == 10 and estimate.model_labels == 6
    # No evaluation set: the curve is cross-validated on the audit sample, which needs 50.
    assert estimate.audit_labels_needed == 40
    assert estimate.scored_on == "audit sample"
    assert labels_saved_text(estimate) == (
        "Not enough random audit labels to say yet: 10 so far, 40 more needed."
    )


def test_without_audit_labels_the_estimate_says_none_were_served(
    session, session_factory, tmp_path
):
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner, settings={"audit_fraction": 0.0})
    label_with_audit(session, project, owner, truth, n_audit=0, n_trained=6)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    estimate = dashboard.project_dashboard(session, project_id=project.id).labels_saved
    assert estimate is not None and not estimate.estimated
    assert estimate.audit_labels == 0 and estimate.audit_labels_needed == MIN_AUDIT_LABELS
    assert estimate.reason is not None and estimate.reason.startswith("No random audit labels")
    assert "audit_fraction" in estimate.reason  # this project serves none
    # No held-out score at all: stored as null, read back as None.
    assert estimate.model_score is None
    assert "0 so far, 40 more needed" in labels_saved_text(estimate)


def test_with_enough_audit_labels_the_estimate_appears(session, session_factory, tmp_path):
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner, copies=8, settings={"audit_fraction": 0.2})
    label_with_audit(session, project, owner, truth, n_audit=50, n_trained=6)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    board = dashboard.project_dashboard(session, project_id=project.id)
    estimate = board.labels_saved
    assert estimate is not None and estimate.estimated, estimate
    assert estimate.audit_labels == 50 and estimate.model_labels == 6
    assert estimate.random_labels is not None and math.isfinite(estimate.random_labels)
    assert estimate.low is not None and math.isfinite(estimate.low)
    assert 0 < estimate.low <= estimate.random_labels
    assert estimate.curve and all(0 <= score <= 1 for _, score in estimate.curve)
    # The model's score is the same number as the version's audit accuracy.
    assert estimate.model_score == board.versions[-1].audit_accuracy
    assert labels_saved_text(estimate).startswith("Random sampling would need about ")
    # The version also recorded how far its labels' classes are from the pool's predictions.
    assert [p.version for p in board.signals.drift] == [1]
    assert 0 <= board.signals.drift[0].class_mix_drift <= 1


@pytest.mark.parametrize("like_pool", [False, True])
def test_the_evaluation_set_trains_the_random_curve_only_when_the_project_says_it_is_like_the_pool(
    session, session_factory, tmp_path, like_pool
):
    owner = make_user(session, "owner")
    project, truth = make_project(
        session,
        owner,
        copies=8,
        # TF-IDF: on these synthetic phrasings, with MiniLM features the measured shift was
        # 0.05 (above MAX_EVAL_SHIFT) even for variants numbered like the pool's own.
        settings={"audit_fraction": 0.2, "evaluation_like_pool": like_pool, "features": "tfidf"},
    )
    # Held-out phrasings of the same intents, imported as the evaluation set.
    rows = [
        {"text": f"{phrase} please, held out {k}", "label": intent}
        for intent, phrases in INTENTS.items()
        for phrase in phrases
        for k in range(3)
    ]
    path = tmp_path / "eval.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    importing.import_items(session, project_id=project.id, path=path, user=owner, evaluation=True)
    label_with_audit(session, project, owner, truth, n_audit=50, n_trained=6)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    estimate = dashboard.project_dashboard(session, project_id=project.id).labels_saved
    assert estimate is not None and estimate.scored_on == "evaluation set"
    if like_pool:
        # Checked against the audit sample, and here as alike as the pool's own phrasings.
        assert estimate.eval_shift is not None
        assert abs(estimate.eval_shift) <= MAX_EVAL_SHIFT
        assert estimate.random_sample == 50 + len(rows)
    else:
        assert estimate.eval_shift is None and estimate.random_sample == 50
