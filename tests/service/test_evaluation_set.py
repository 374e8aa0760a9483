"""The held-out evaluation set: imported with reference labels, never served or trained
on, and scored by every model version."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from labelwise.data import Pool
from labelwise.evaluation.intervals import wilson_interval
from labelwise.service import importing, projects, queue, training
from labelwise.service.errors import ValidationError
from labelwise.service.importing import ImportFailedError
from labelwise.service.snapshot import take_snapshot
from labelwise.store import Annotation, Item, TaskType
from labelwise.tasks import MultiLabel, SingleLabel
from tests.service.pool_factory import INTENTS, make_project, make_user
from tests.service.test_training import label_n

#: Phrasings not in the pool (the pool has "<phrase> <k>"), with their intents.
HELD_OUT = [
    {"text": f"{phrase} please, held out", "label": intent}
    for intent, phrases in INTENTS.items()
    for phrase in phrases
]


def write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def setup(session, tmp_path):
    owner = make_user(session, "owner")
    # No audit sample: every label counted below is a training label.
    project, truth = make_project(session, owner, settings={"audit_fraction": 0})
    report = importing.import_items(
        session,
        project_id=project.id,
        path=write_jsonl(tmp_path / "eval.jsonl", HELD_OUT),
        user=owner,
        evaluation=True,
    )
    return project, truth, owner, report


def test_import_keeps_reference_labels_without_annotations(session, setup):
    project, _, _, report = setup
    assert (report.added, report.labeled, report.evaluation) == (len(HELD_OUT), 0, True)
    items = session.scalars(
        select(Item).where(Item.project_id == project.id, Item.is_evaluation.is_(True))
    ).all()
    assert sorted(i.reference_label for i in items) == sorted(r["label"] for r in HELD_OUT)
    assert session.scalar(select(func.count()).select_from(Annotation)) == 0
    status = projects.project_status(session, project_id=project.id)
    assert (status.items, status.evaluation_items, status.labeled_items) == (60, 15, 0)


def test_every_evaluation_row_needs_a_known_label(session, setup, tmp_path):
    project, _, owner, _ = setup
    before = session.scalar(select(func.count()).select_from(Item))
    path = write_jsonl(
        tmp_path / "bad-eval.jsonl",
        [{"text": "fine", "label": "greet"}, {"text": "no label"}, {"text": "x", "label": "nope"}],
    )
    with pytest.raises(ImportFailedError) as failed:
        importing.import_items(
            session, project_id=project.id, path=path, user=owner, evaluation=True
        )
    located = [(e.line, e.field) for e in failed.value.errors]
    assert located == [(2, "label"), (3, "label")]
    assert "needs a label on every row" in failed.value.errors[0].message
    assert session.scalar(select(func.count()).select_from(Item)) == before


def test_text_already_in_the_pool_is_left_out(session, setup, tmp_path):
    project, _, owner, _ = setup
    path = write_jsonl(tmp_path / "leak.jsonl", [{"text": "hello there 0", "label": "greet"}])
    report = importing.import_items(
        session, project_id=project.id, path=path, user=owner, evaluation=True
    )
    assert (report.added, report.duplicates) == (0, 1)


def test_evaluation_items_are_never_served_nor_labeled(session, setup):
    project, _, owner, _ = setup
    served = set()
    while (item := queue.lease_next(session, project_id=project.id, annotator=owner)) is not None:
        served.add(item.item_id)
        queue.skip_item(session, project_id=project.id, annotator=owner, item_id=item.item_id)
        if len(served) > 100:
            break
    evaluation_ids = set(session.scalars(select(Item.id).where(Item.is_evaluation.is_(True))).all())
    assert served and not served & evaluation_ids
    with pytest.raises(ValidationError, match="held-out evaluation set"):
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=owner,
            item_id=min(evaluation_ids),
            value="greet",
        )


def test_every_version_is_scored_on_it_and_never_trained_on_it(
    session, session_factory, setup, tmp_path
):
    project, truth, owner, _ = setup
    worker = training.RetrainWorker(session_factory, data_dir=tmp_path)
    for _ in range(2):
        label_n(session, project, owner, truth, 9)
        worker.run_pending()
    versions = training.list_model_versions(session, project_id=project.id)
    assert len(versions) == 2
    for version in versions:
        metrics = version.metrics
        assert metrics["eval_n"] == len(HELD_OUT)
        low, high = metrics["eval_ci95"]
        assert 0 <= low <= metrics["eval_accuracy"] <= high <= 1
    assert versions[-1].metrics["labeled_items"] == 18
    # The pool diagnostics cover the unlabeled pool only: not the evaluation set.
    assert sum(versions[-1].metrics["pool_predicted"].values()) == 60 - 18
    # The queue holds no evaluation item either.
    evaluation_positions = set(
        session.scalars(select(Item.position).where(Item.is_evaluation.is_(True))).all()
    )
    snapshot = take_snapshot(session, project.id)
    session.commit()
    assert evaluation_positions <= set(np.asarray(snapshot.excluded).tolist())
    assert not evaluation_positions & set(np.asarray(snapshot.positions).tolist())


class _Predicts:
    """A fitted model stand-in whose ``predict`` returns fixed outputs."""

    def __init__(self, outputs):
        self.outputs = outputs

    def predict(self, rows):
        assert rows.shape[0] == len(self.outputs)
        return self.outputs


@pytest.mark.parametrize(
    ("multilabel", "predicted", "truth", "correct"),
    [
        (False, np.array(["a", "b", "a"]), ["a", "a", "a"], 2),
        # Exact match: a right subset or superset of the labels is wrong.
        (True, np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]]), [["a"], ["a"], []], 2),
        (True, np.array([[0, 1, 1], [1, 0, 0], [0, 1, 0]]), [["c", "b"], ["a"], ["a"]], 2),
    ],
)
def test_held_out_accuracy_counts_exact_matches(multilabel, predicted, truth, correct):
    task = (MultiLabel if multilabel else SingleLabel)(["a", "b", "c"])
    pool = Pool(features=np.zeros((5, 2)))
    metrics = training._held_out_accuracy(
        _Predicts(predicted), pool, np.array([0, 2, 4]), truth, task, "eval"
    )
    assert metrics["eval_accuracy"] == pytest.approx(correct / 3)
    assert metrics["eval_n"] == 3
    assert metrics["eval_ci95"] == list(wilson_interval(correct, 3))


def test_a_multi_label_project_gets_a_learning_curve_too(session, session_factory, tmp_path):
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner, task=TaskType.MULTI_LABEL)
    rows = [{"text": r["text"], "label": [r["label"]]} for r in HELD_OUT]
    importing.import_items(
        session,
        project_id=project.id,
        path=write_jsonl(tmp_path / "eval.jsonl", rows),
        user=owner,
        evaluation=True,
    )
    label_n(session, project, owner, {i: [label] for i, label in truth.items()}, 12)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    (version,) = training.list_model_versions(session, project_id=project.id)
    metrics = version.metrics
    assert metrics["eval_n"] == len(HELD_OUT)
    low, high = metrics["eval_ci95"]
    assert 0 <= low <= metrics["eval_accuracy"] <= high <= 1
