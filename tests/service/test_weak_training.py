"""The retrain worker trains on weak and human labels when ``weak_label_weight`` says so
(on SQLite and PostgreSQL): off, the model is the one before; on, the labeling functions'
answer trains on covered items nobody labeled, never on audit items, and the retrain
cadence still counts human labels only."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sqlalchemy import func, insert, select, update

from labelwise import load_model
from labelwise.data import Pool
from labelwise.recipes.classification import (
    classification_featurizer,
    classification_learner,
    pool_features,
)
from labelwise.service import projects, queue, training, weak_training
from labelwise.service.labeling_functions import create_labeling_function
from labelwise.service.snapshot import take_snapshot
from labelwise.service.transactions import begin_write
from labelwise.store import Item, Job, JobStatus, QueryRound
from labelwise.weak import LabelMatrix, WeightedVote
from tests.service.pool_factory import make_project, make_user

#: The rule under test: "quux" means bye, and no person ever labels a "quux" item.
QUUX = {"name": "kw_quux", "kind": "keyword", "label": "bye", "keywords": ["quux"]}
#: Items only the rule covers. They share "good" with the labeled greetings ("good
#: morning"), so a model of the human labels alone calls them greet.
RULE_ITEMS = [f"good quux {k}" for k in range(20)]
#: What a person labels: four items of each class.
LABELED = {
    "greet": [f"good morning {k}" for k in range(4)],
    "bye": [f"see you later {k}" for k in range(4)],
    "weather": [f"weather today {k}" for k in range(4)],
}
#: A covered item nobody labels, audit or not.
PROBE = "good quux 7"


@pytest.fixture
def setup(session: Any) -> Any:
    """A single-label project on TF-IDF features with the rule's items added; no audit
    share (the audit test marks its audit items by hand)."""
    owner = make_user(session, "owner")
    project, _ = make_project(session, owner, settings={"features": "tfidf", "audit_fraction": 0.0})
    _add_items(session, project, RULE_ITEMS)
    return project, owner


def _add_items(session: Any, project: Any, texts: list[str]) -> None:
    begin_write(session)
    start = session.scalar(select(func.count()).where(Item.project_id == project.id))
    session.execute(
        insert(Item),
        [
            {
                "project_id": project.id,
                "position": start + k,
                "text": text,
                "meta": {},
                "source": "test",
                "content_hash": hashlib.sha256(text.encode()).hexdigest(),
                "is_audit": False,
            }
            for k, text in enumerate(texts)
        ],
    )
    session.commit()


def _item_id(session: Any, project: Any, text: str) -> int:
    item_id = session.scalar(
        select(Item.id).where(Item.project_id == project.id, Item.text == text)
    )
    session.commit()
    return int(item_id)


def _label(session: Any, project: Any, owner: Any, start: int = 0, stop: int = 12) -> None:
    """Label items ``start`` to ``stop`` of LABELED, the classes in turn."""
    in_turn = [text for group in zip(*LABELED.values(), strict=True) for text in group]
    for text in in_turn[start:stop]:
        label = next(name for name, texts in LABELED.items() if text in texts)
        _submit(session, project, owner, text, label)


def _submit(session: Any, project: Any, owner: Any, text: str, label: str) -> None:
    queue.submit_annotation(
        session,
        project_id=project.id,
        annotator=owner,
        item_id=_item_id(session, project, text),
        value=label,
    )


def _add_rule(session: Any, project: Any, owner: Any) -> None:
    create_labeling_function(session, project_id=project.id, spec=QUUX, user=owner)


def _set_weight(session: Any, project: Any, weight: float) -> None:
    projects.update_settings(session, project_id=project.id, changes={"weak_label_weight": weight})


def _retrain(session: Any, session_factory: Any, project: Any, tmp_path: Any) -> Any:
    """Run a retrain now; its model version."""
    job = training.request_retrain(session, project_id=project.id)
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    session.refresh(job)
    assert job.status is JobStatus.DONE, job.error
    return training.list_model_versions(session, project_id=project.id)[-1]


def _predict(version: Any, texts: list[str]) -> list[Any]:
    return list(load_model(version.artifact_path).predict(texts))


def test_weight_zero_trains_exactly_the_model_of_human_labels(
    session, session_factory, setup, tmp_path
):
    project, owner = setup
    _label(session, project, owner)
    before = _retrain(session, session_factory, project, tmp_path)
    _add_rule(session, project, owner)
    assert take_snapshot(session, project.id).weak_votes is None
    session.commit()
    after = _retrain(session, session_factory, project, tmp_path)
    texts = [*RULE_ITEMS, "good morning 9", "weather today 9"]
    np.testing.assert_array_equal(
        load_model(after.artifact_path).predict_proba(texts),
        load_model(before.artifact_path).predict_proba(texts),
    )
    assert not {"weak_label_weight", "weak_items", "weak_skipped"} & set(after.metrics)


def test_weak_labels_teach_the_rule_on_covered_items_nobody_labeled(
    session, session_factory, setup, tmp_path
):
    project, owner = setup
    _label(session, project, owner)
    _add_rule(session, project, owner)
    human_only = _retrain(session, session_factory, project, tmp_path)
    assert _predict(human_only, [PROBE]) == ["greet"]
    _set_weight(session, project, 0.5)
    weak = _retrain(session, session_factory, project, tmp_path)
    assert weak.metrics["weak_label_weight"] == 0.5
    assert weak.metrics["weak_items"] == len(RULE_ITEMS)
    assert _predict(weak, [PROBE]) == ["bye"]
    # Human labels are what the version counts and what it is scored on.
    assert weak.label_count == weak.metrics["labeled_items"] == 12


def test_the_worker_votes_the_functions_on_items_added_since_they_ran(
    session, session_factory, setup, tmp_path
):
    project, owner = setup
    _label(session, project, owner)
    _add_rule(session, project, owner)
    _add_items(session, project, ["quux again", "nothing to see"])
    _set_weight(session, project, 0.5)
    version = _retrain(session, session_factory, project, tmp_path)
    assert version.metrics["weak_items"] == len(RULE_ITEMS) + 1


def test_audit_items_weak_votes_are_never_trained_on(session, session_factory, setup, tmp_path):
    project, owner = setup
    audit = RULE_ITEMS[:12]
    begin_write(session)
    session.execute(
        update(Item)
        .where(Item.project_id == project.id, Item.text.in_(audit))
        .values(is_audit=True)
    )
    session.commit()
    _label(session, project, owner)
    _add_rule(session, project, owner)
    _set_weight(session, project, 0.5)
    snapshot = take_snapshot(session, project.id)
    session.commit()
    audit_positions = set(
        session.scalars(
            select(Item.position).where(Item.project_id == project.id, Item.text.in_(audit))
        )
    )
    session.commit()
    assert snapshot.weak_votes is not None
    assert snapshot.weak_votes.n_votes == len(RULE_ITEMS) - len(audit)
    assert not audit_positions & set(snapshot.weak_votes.positions.tolist())
    version = _retrain(session, session_factory, project, tmp_path)
    assert version.metrics["weak_items"] == len(RULE_ITEMS) - len(audit)


def test_the_retrain_cadence_counts_human_labels_only(session, session_factory, setup, tmp_path):
    project, owner = setup
    _set_weight(session, project, 0.5)
    _add_rule(session, project, owner)
    # 20 weak labels and 5 human ones: min_labels (6) not reached, no retrain queued.
    _label(session, project, owner, 0, 5)
    assert session.scalar(select(func.count()).select_from(Job)) == 0
    session.commit()
    _label(session, project, owner, 5, 6)
    job = session.scalar(select(Job))
    session.commit()
    assert job is not None and job.label_count == 6
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    (version,) = training.list_model_versions(session, project_id=project.id)
    assert version.label_count == 6
    assert version.metrics["weak_items"] == len(RULE_ITEMS)


def test_without_votes_or_sample_weights_the_model_trains_on_human_labels(session, setup):
    project, owner = setup
    _label(session, project, owner)
    _set_weight(session, project, 0.5)
    snapshot = take_snapshot(session, project.id)
    session.commit()
    learner = training.base_learner(snapshot)
    pool = Pool(np.zeros((len(RULE_ITEMS) + 60, 1)))
    none = weak_training.weak_rows(snapshot, pool, learner)
    assert none.rows is None
    assert none.metrics == {
        "weak_label_weight": 0.5,
        "weak_items": 0,
        "weak_skipped": weak_training.NO_VOTES,
    }
    _add_rule(session, project, owner)
    snapshot = take_snapshot(session, project.id)
    session.commit()

    class Unweighted:
        def fit(self, X: Any, y: Any) -> Unweighted:  # noqa: ARG002
            return self

    refused = weak_training.weak_rows(snapshot, pool, Unweighted())
    assert refused.rows is None
    assert "takes no sample weights" in refused.metrics["weak_skipped"]
    used = weak_training.weak_rows(snapshot, pool, learner)
    assert used.rows is not None and used.metrics["weak_items"] == len(RULE_ITEMS)
    # Every human label trains at weight 1; weak rows weigh at most the setting.
    assert used.rows.weights[used.rows.human].tolist() == [1.0] * 12
    assert 0 < used.rows.weights[~used.rows.human].max() <= 0.5


@pytest.fixture
def judged_project(session: Any) -> Any:
    """Eight labelable variants of each phrase and the rule's items: enough human labels
    (22) for cross-validation to judge."""
    owner = make_user(session, "owner")
    project, _ = make_project(
        session, owner, copies=8, settings={"features": "tfidf", "audit_fraction": 0.0}
    )
    _add_items(session, project, RULE_ITEMS)
    return project, owner


def _label_for_cv(session: Any, project: Any, owner: Any) -> None:
    """Greetings and weather eight times each, and six rule items as bye."""
    texts = {
        "greet": [f"good morning {k}" for k in range(8)],
        "weather": [f"weather today {k}" for k in range(8)],
        "bye": RULE_ITEMS[:6],
    }
    for label, group in texts.items():
        for text in group:
            _submit(session, project, owner, text, label)


def _by_cv(session: Any, project: Any) -> None:
    projects.update_settings(
        session,
        project_id=project.id,
        changes={"weak_label_weight": 0.5, "weak_label_weight_by_cv": True},
    )


def test_by_cv_right_rules_train_at_the_weight(session, session_factory, judged_project, tmp_path):
    project, owner = judged_project
    _label_for_cv(session, project, owner)
    _add_rule(session, project, owner)
    _by_cv(session, project)
    version = _retrain(session, session_factory, project, tmp_path)
    assert version.metrics["weak_label_weight_by_cv"] is True
    assert version.metrics["weak_cv_judged"] == 22
    assert version.metrics["weak_label_weight"] == 0.5
    assert version.metrics["weak_items"] == len(RULE_ITEMS) - 6
    assert "weak_skipped" not in version.metrics


def test_by_cv_wrong_rules_are_turned_down(session, session_factory, judged_project, tmp_path):
    project, owner = judged_project
    _label_for_cv(session, project, owner)
    # The rule calls the items people label bye a greeting.
    create_labeling_function(
        session, project_id=project.id, spec={**QUUX, "label": "greet"}, user=owner
    )
    _by_cv(session, project)
    version = _retrain(session, session_factory, project, tmp_path)
    assert version.metrics["weak_label_weight"] == 0.0
    assert version.metrics["weak_items"] == 0
    assert version.metrics["weak_skipped"].startswith("Cross-validation on 22 human labels")
    human_only_probe = _predict(version, [PROBE])
    assert human_only_probe == ["bye"]


def test_by_cv_with_too_few_human_labels_trains_on_them_alone(
    session, session_factory, setup, tmp_path
):
    project, owner = setup
    _label(session, project, owner)  # 12 human labels
    _add_rule(session, project, owner)
    _by_cv(session, project)
    version = _retrain(session, session_factory, project, tmp_path)
    assert (version.metrics["weak_label_weight"], version.metrics["weak_items"]) == (0.0, 0)
    assert version.metrics["weak_skipped"] == (
        "Cross-validation needs 20 human labels to judge whether weak labels help; there were 12."
    )


def _from_model_and_rules(session: Any, project: Any) -> None:
    projects.update_settings(
        session,
        project_id=project.id,
        changes={"weak_label_weight": 0.5, "weak_labels_from": "model_and_rules"},
    )


def _pool_of(session: Any, project: Any) -> tuple[Pool, list[str]]:
    """The project's items on TF-IDF features, as the worker builds them; their texts."""
    texts = list(
        session.scalars(
            select(Item.text).where(Item.project_id == project.id).order_by(Item.position)
        )
    )
    session.commit()
    return Pool(pool_features(classification_featurizer("tfidf"), texts)), texts


def _weak_labels(train: Any, texts: list[str]) -> dict[str, int]:
    """Text → label index of each weak row."""
    return {
        texts[int(p)]: int(label)
        for p, label, human in zip(train.positions, train.labels, train.human, strict=True)
        if not human
    }


def _model_and_rules_rows(session: Any, project: Any) -> tuple[Any, list[str], list[str]]:
    """weak_rows under ``weak_labels_from="model_and_rules"``; the pool's texts; the
    schema's classes."""
    snapshot = take_snapshot(session, project.id)
    session.commit()
    pool, texts = _pool_of(session, project)
    learner = training.base_learner(snapshot)
    human = clone(learner).fit(pool.rows(snapshot.positions), snapshot.values)
    weak = weak_training.weak_rows(snapshot, pool, learner, human_model=lambda: human)
    return weak, texts, list(snapshot.task.schema.classes)


def test_model_and_rules_trains_where_the_model_and_the_rules_agree_firmly(session, judged_project):
    project, owner = judged_project
    _label_for_cv(session, project, owner)  # six quux items labeled bye, as the rule says
    _add_rule(session, project, owner)
    _from_model_and_rules(session, project)
    weak, texts, classes = _model_and_rules_rows(session, project)
    taught = _weak_labels(weak.rows, texts)
    assert taught == {text: classes.index("bye") for text in RULE_ITEMS[6:]}
    assert weak.metrics == {
        "weak_label_weight": 0.5,
        "weak_items": len(RULE_ITEMS) - 6,
        "weak_labels_from": "model_and_rules",
        "weak_answer_weight": 1.0,  # 22 human labels: cross-validation judged
    }
    # Each weighs the setting times the joint answer's confidence, at least 97%.
    weights = weak.rows.weights[~weak.rows.human]
    assert (weights >= 0.5 * 0.97).all() and (weights <= 0.5).all()
    assert weak.answer is not None and weak.answer.label_weight == 1.0
    assert weak.answer.learned == ("bye", "greet", "weather")


def test_the_joint_teacher_opens_the_classes_the_model_of_the_human_labels_never_saw():
    # The project's learner lists every class of the schema, 0 for those it never saw.
    pool = Pool(np.array([[0.0], [1.0], [0.0], [1.0], [0.5]]))
    classes = ("a", "b", "c")
    labels = ["a", "b", "a", "b"]
    model = classification_learner(classes).fit(pool.rows(np.arange(4)), labels)
    assert model.predict_proba(pool.rows(np.array([4])))[0, 2] == 0.0
    matrix = LabelMatrix.from_dense([[-1]] * 4 + [[2]], list(classes))
    voter = WeightedVote().fit(matrix)
    teacher = weak_training._JointTeacher(model, pool, classes, labels, voter, 1.0)
    assert teacher.seen.tolist() == [True, True, False]
    # Each class has two labels: Good-Turing says none is left unseen, so nothing opens.
    assert teacher.mass == 0.0
    once = weak_training._JointTeacher(model, pool, classes, ["a", "b"], voter, 1.0)
    assert once.mass == pytest.approx(1 / 3)  # two labels, each seen once; a third unseen
    closed = model.predict_proba(pool.rows(np.array([4])))[0]
    np.testing.assert_allclose(
        once.model_answer(np.array([4]))[0], [closed[0] * 2 / 3, closed[1] * 2 / 3, 1 / 3]
    )


def test_model_and_rules_never_trains_a_rule_against_the_model_of_the_human_labels(
    session, judged_project
):
    project, owner = judged_project
    _label_for_cv(session, project, owner)
    # The rule calls the items people label bye a greeting.
    create_labeling_function(
        session, project_id=project.id, spec={**QUUX, "label": "greet"}, user=owner
    )
    _from_model_and_rules(session, project)
    weak, texts, classes = _model_and_rules_rows(session, project)
    taught = _weak_labels(weak.rows, texts)
    # Where the rule and the model disagree, the model's firm answer (bye) may train; the
    # rule's greeting never does.
    assert set(taught.values()) <= {classes.index("bye")}
    # The label model alone, which never saw those items, teaches them something else.
    projects.update_settings(session, project_id=project.id, changes={"weak_labels_from": "rules"})
    snapshot = take_snapshot(session, project.id)
    session.commit()
    pool, _ = _pool_of(session, project)
    rules = weak_training.weak_rows(snapshot, pool, training.base_learner(snapshot))
    assert rules.answer is None
    assert classes.index("bye") not in _weak_labels(rules.rows, texts).values()


def _ranked_by(session: Any, version: Any) -> str:
    """The strategy the version's query round ranked with."""
    strategy = session.scalar(
        select(QueryRound.strategy).where(QueryRound.model_version_id == version.id)
    )
    session.commit()
    return str(strategy)


def test_model_and_rules_ranks_the_queue_on_the_joint_answer(
    session, session_factory, judged_project, tmp_path
):
    project, owner = judged_project
    _label_for_cv(session, project, owner)
    _add_rule(session, project, owner)
    _from_model_and_rules(session, project)
    version = _retrain(session, session_factory, project, tmp_path)
    assert _ranked_by(session, version) == (
        "CombinedAnswerSampling(MarginSampling(chunk_size=16384), label_weight=1.0)"
    )
    assert version.metrics["weak_items"] == len(RULE_ITEMS) - 6
    assert _predict(version, [PROBE]) == ["bye"]
    # Class balance wraps the joint answer; a strategy that reads no probabilities
    # ranks as it is.
    projects.update_settings(session, project_id=project.id, changes={"class_balanced": True})
    balanced = _retrain(session, session_factory, project, tmp_path)
    assert _ranked_by(session, balanced).startswith("ClassBalanced(CombinedAnswerSampling(")
    projects.update_settings(
        session, project_id=project.id, changes={"class_balanced": False, "strategy": "random"}
    )
    plain = _retrain(session, session_factory, project, tmp_path)
    assert _ranked_by(session, plain).startswith("RandomSampling(")
