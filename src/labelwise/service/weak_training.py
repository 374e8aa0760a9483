"""The rows a retrain fits when the project trains on weak labels (``weak_label_weight``).

Every trainable label annotation trains at weight 1, as without weak labels, and wins over
any vote. Every other item the enabled labeling functions voted on trains with the label
model's answer at ``weak_label_weight`` times its confidence
(:func:`labelwise.weak.weak_training_set`). The label model is a :class:`WeightedVote`
fitted gold-aware on the human labels of the training items: audit and evaluation items
never reach the snapshot's votes nor its labels, so they are neither trained on nor used
to weigh the functions, and held-out and audit scores stay human-only.

With ``weak_label_weight_by_cv`` the weight is chosen each retrain, between 0 and the
setting, by cross-validation on the human labels (:func:`choose_weak_weight`, three folds):
the rules' labels train while they help the model answer held-out human labels. On
CLINC150 with the functions labelwise suggests, that choice is worth +31.7, +24.2, +15.0
and +3.8 points of accuracy over active learning alone at 50, 100, 200 and 500 actions (5
seeds); on TREC-6, whose shared rules are noisy, +4.7, -0.6, +1.1 and +0.9 (20 seeds,
``benchmarks/results/weak_supervision_*.md``).

With ``weak_labels_from="model_and_rules"`` the answer that labels the weak items is
self-training's, with the rules as a second opinion: the model trained on the human labels
and the label model answer together (the label model's exponent chosen by
cross-validation, :func:`choose_label_weight`), and only the covered items where that
answer is at least 97% sure train (:func:`labelwise.weak.combine.self_training_set`).
The queue is then ranked on the retrained model and the rules answering together
(:class:`labelwise.weak.CombinedAnswerSampling`, ``WeakRows.answer``). The served model
answers alone: the rules taught it, they do not vote at prediction time. Its gain over
active learning alone at 50, 100, 200 and 500 actions: +10.0, +4.4, +2.9 and +0.7 points on
TREC-6 (20 seeds), +25.0, +18.2, +1.4 and -1.6 on CLINC150 (5 seeds), where the rules'
labels by cross-validation do better (``benchmarks/weak_supervision.py``, arm
``weak+self``, row "served"; the arm ``server+self`` runs this code).

Nothing here reads the database: the snapshot carries the votes (``Snapshot.weak_votes``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import has_fit_parameter

from labelwise.data import LabelSource, Pool
from labelwise.service.snapshot import Snapshot
from labelwise.strategies import QueryStrategy
from labelwise.strategies.base import UtilityStrategy
from labelwise.weak import (
    CombinedAnswerSampling,
    LabelMatrix,
    WeakTrainingSet,
    WeightedVote,
    weak_training_set,
)
from labelwise.weak.combine import (
    MIN_JUDGED,
    choose_label_weight,
    choose_weak_weight,
    self_training_set,
    unseen_class_mass,
    with_unseen_classes,
)

#: Items the label model (and the model of the human labels) answer at once.
LABEL_MODEL_CHUNK = 50_000
#: Why a project with a weight above 0 trained on human labels only, most often.
NO_VOTES = (
    "No enabled labeling function voted on an item the model may train on (audit and "
    "evaluation items never train)."
)


@dataclass(frozen=True)
class JointAnswer:
    """The rules answering beside the model when the queue is ranked.

    Attributes
    ----------
    matrix : LabelMatrix
        The pool's votes (rows are pool positions).
    label_model : WeightedVote
        Fitted on the human labels.
    label_weight : float
        The label model's exponent in the joint answer.
    learned : tuple of str
        The classes the retrained model learned (from human or weak labels); the others
        keep their Good-Turing share in the joint answer.
    """

    matrix: LabelMatrix
    label_model: WeightedVote
    label_weight: float
    learned: tuple[str, ...]

    def around(self, strategy: QueryStrategy) -> QueryStrategy:
        """``strategy`` scored on the joint answer where it scores class probabilities
        (margin, entropy, least confidence); any other strategy as it is."""
        if not isinstance(strategy, UtilityStrategy):
            return strategy
        return CombinedAnswerSampling(
            strategy,
            self.matrix,
            self.label_model,
            label_weight=self.label_weight,
            learned=self.learned,
        )


@dataclass(frozen=True)
class WeakRows:
    """What a retrain fits on, and what its model version records about weak labels.

    ``rows`` is None when the model trains on human labels only: the setting is 0 (then
    ``metrics`` is empty), or weak labels could not be used (``metrics`` says why).
    ``answer`` is set when the queue is ranked with the rules beside the model
    (``weak_labels_from="model_and_rules"``).
    """

    rows: WeakTrainingSet | None
    metrics: dict[str, Any] = field(default_factory=dict)
    answer: JointAnswer | None = None


def weak_rows(
    snapshot: Snapshot,
    pool: Pool,
    learner: Any,
    human_model: Callable[[], Any] | None = None,
) -> WeakRows:
    """Human and weak training rows over ``pool`` for ``learner``.

    The metrics are ``weak_label_weight`` (the weight trained with) and ``weak_items``
    (items trained on a weak label), plus ``weak_skipped`` (why none) when the setting is
    above 0 but weak labels could not be used: the task takes no labeling functions, no
    enabled function voted on an item that may train, the learner's ``fit`` takes no
    ``sample_weight``, or cross-validation chose human labels alone. With
    ``weak_label_weight_by_cv`` also ``weak_label_weight_by_cv`` (true) and, once
    cross-validation ran, ``weak_cv_judged`` (human labels held out and scored). With
    ``weak_labels_from="model_and_rules"``: ``weak_labels_from`` and ``weak_answer_weight``
    (the label model's exponent in the joint answer).

    ``human_model`` returns the learner fitted on the snapshot's labels alone; only
    ``weak_labels_from="model_and_rules"`` calls it (once).
    """
    settings = snapshot.settings
    weight = settings.weak_label_weight
    if weight == 0:
        return WeakRows(None)
    metrics: dict[str, Any] = {"weak_label_weight": weight, "weak_items": 0}
    if settings.weak_label_weight_by_cv:
        metrics["weak_label_weight_by_cv"] = True
    if settings.weak_labels_from == "model_and_rules":
        metrics["weak_labels_from"] = settings.weak_labels_from
    skipped = _why_not(snapshot, learner)
    if skipped is not None or snapshot.weak_votes is None:
        return WeakRows(None, {**metrics, "weak_skipped": skipped})
    classes = snapshot.task.schema.classes
    matrix = snapshot.weak_votes.matrix(
        len(pool),
        tuple(classes),
        leave_out=np.concatenate([snapshot.excluded, snapshot.audit, snapshot.evaluation]),
    )
    covered = np.flatnonzero(matrix.covered())
    if covered.size == 0:
        return WeakRows(None, {**metrics, "weak_skipped": NO_VOTES})
    known = set(classes)
    labeled = [
        (int(p), str(value), str(source))
        for p, value, source in zip(
            snapshot.positions, snapshot.values, snapshot.sources, strict=True
        )
        if value in known
    ]
    labeled_positions = np.asarray([p for p, _, _ in labeled], dtype=np.intp)
    # The label model reads the covered items and the labeled ones only: the rest of the
    # pool has no votes and no label, so it changes neither the functions' accuracies
    # nor the class prior, and its size costs nothing here.
    rows = np.union1d(covered, labeled_positions)
    votes = matrix.rows(rows)
    labeled_rows = np.searchsorted(rows, labeled_positions)
    gold = {int(k): value for k, (_, value, _) in zip(labeled_rows, labeled, strict=True)}
    human = {
        int(k): value
        for k, (_, value, source) in zip(labeled_rows, labeled, strict=True)
        if source == LabelSource.HUMAN
    }
    if settings.weak_label_weight_by_cv:
        choice = choose_weak_weight(
            ClassIndexed(learner, tuple(classes)),
            pool.rows(rows),
            votes,
            WeightedVote(),
            human,
            weights=(0.0, weight),
            random_state=snapshot.project_id,
        )
        weight = choice.weight
        metrics |= {"weak_label_weight": weight, "weak_cv_judged": choice.judged}
        if weight == 0:
            return WeakRows(None, {**metrics, "weak_skipped": _cv_chose_human(choice.judged)})
    label_model = WeightedVote().fit(votes, human)
    if settings.weak_labels_from == "model_and_rules":
        if human_model is None:
            raise ValueError(
                "weak_labels_from 'model_and_rules' needs the model of the human labels"
            )
        label_weight = choose_label_weight(
            ClassIndexed(learner, tuple(classes)),
            pool.rows(rows),
            votes,
            WeightedVote(),
            human,
            random_state=snapshot.project_id,
        ).weight
        teacher: _Teacher = _JointTeacher(
            human_model(), pool, tuple(classes), list(gold.values()), label_model, label_weight
        )
        train = _in_chunks(votes, rows, gold, teacher, weight)
        metrics |= {"weak_answer_weight": label_weight, "weak_items": train.n_weak_items}
        learned = tuple(classes[k] for k in np.unique(train.labels))
        return WeakRows(train, metrics, JointAnswer(matrix, label_model, label_weight, learned))
    train = _in_chunks(votes, rows, gold, _RulesTeacher(label_model), weight)
    return WeakRows(train, {**metrics, "weak_items": train.n_weak_items})


class ClassIndexed(BaseEstimator):  # type: ignore[misc]
    """``learner`` fitted and read in class indices of ``classes``, as
    :func:`choose_weak_weight` speaks, where the project's learner takes label names.

    Parameters
    ----------
    learner : classifier
        ``fit(X, names, sample_weight=...)``, ``predict_proba``, ``classes_`` (names).
    classes : tuple of str
        The label matrix's classes: index ``k`` is ``classes[k]``.
    """

    def __init__(self, learner: Any, classes: tuple[str, ...]) -> None:
        self.learner = learner
        self.classes = classes

    def fit(
        self, X: Any, y: NDArray[np.intp], sample_weight: NDArray[np.float64] | None = None
    ) -> ClassIndexed:
        names = [self.classes[int(k)] for k in y]
        self.model_ = clone(self.learner).fit(X, names, sample_weight=sample_weight)
        index = {name: k for k, name in enumerate(self.classes)}
        self.classes_ = np.array([index[c] for c in self.model_.classes_], dtype=np.intp)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        return np.asarray(self.model_.predict_proba(X), dtype=np.float64)


class _Teacher(Protocol):
    """Labels the items of a chunk of the votes nobody labeled."""

    def __call__(
        self,
        part: LabelMatrix,
        positions: NDArray[np.intp],
        gold: dict[int, str],
        weight: float,
    ) -> WeakTrainingSet:
        """Training rows of ``part`` (pool positions ``positions``; ``gold`` by row)."""
        ...


class _RulesTeacher:
    """The label model's answer on every covered item."""

    def __init__(self, label_model: WeightedVote) -> None:
        self.label_model = label_model

    def __call__(
        self,
        part: LabelMatrix,
        positions: NDArray[np.intp],  # noqa: ARG002 - the votes alone answer
        gold: dict[int, str],
        weight: float,
    ) -> WeakTrainingSet:
        return weak_training_set(
            part, self.label_model.predict_proba(part), gold, weak_weight=weight
        )


class _JointTeacher:
    """The model of the human labels and the label model answering together, where sure
    (:func:`self_training_set`). Classes none of its ``labels`` has (the project's learner
    lists every class of the schema, with probability 0 for those) keep their Good-Turing
    share of them, as in the joint answer the queue is ranked on."""

    def __init__(
        self,
        model: Any,
        pool: Pool,
        classes: tuple[str, ...],
        labels: list[str],
        label_model: WeightedVote,
        label_weight: float,
    ) -> None:
        self.model, self.pool, self.n_classes = model, pool, len(classes)
        self.label_model, self.label_weight = label_model, label_weight
        index = {name: k for k, name in enumerate(classes)}
        self.columns = np.array([index[str(c)] for c in model.classes_], dtype=np.intp)
        self.seen = np.isin(np.asarray(classes, dtype=object), np.asarray(labels, dtype=object))
        self.mass = unseen_class_mass(labels, len(classes))

    def model_answer(self, positions: NDArray[np.intp]) -> NDArray[np.float64]:
        """The model's probabilities at pool ``positions`` over the schema's classes, the
        unseen ones opened."""
        end = np.zeros((positions.size, self.n_classes))
        end[:, self.columns] = self.model.predict_proba(self.pool.rows(positions))
        return with_unseen_classes(end, self.seen, self.mass)

    def __call__(
        self,
        part: LabelMatrix,
        positions: NDArray[np.intp],
        gold: dict[int, str],
        weight: float,
    ) -> WeakTrainingSet:
        return self_training_set(
            part,
            self.model_answer(positions),
            self.label_model.predict_proba(part),
            gold,
            label_weight=self.label_weight,
            weak_weight=weight,
        )


def _cv_chose_human(judged: int) -> str:
    """Why cross-validation kept to human labels, in plain words."""
    if judged < MIN_JUDGED:
        return (
            f"Cross-validation needs {MIN_JUDGED} human labels to judge whether weak labels "
            f"help; there were {judged}."
        )
    return (
        f"Cross-validation on {judged} human labels: the model trained on human labels "
        "alone answered them better."
    )


def _why_not(snapshot: Snapshot, learner: Any) -> str | None:
    """Why the snapshot's model cannot train on weak labels, in plain words; None: it can."""
    task = snapshot.task
    if not task.labeling_functions:
        return f"A {task.kind.replace('_', '-')} project has no labeling functions."
    if snapshot.weak_votes is None or snapshot.weak_votes.n_votes == 0:
        return NO_VOTES
    if not has_fit_parameter(learner, "sample_weight"):
        return f"The learner ({type(learner).__name__}) takes no sample weights."
    return None


def _in_chunks(
    votes: LabelMatrix,
    rows: NDArray[np.intp],
    gold: dict[int, str],
    teacher: _Teacher,
    weight: float,
) -> WeakTrainingSet:
    """``teacher``'s training rows of ``votes`` (whose row ``k`` is pool position
    ``rows[k]``; ``gold`` by row), chunk by chunk of ``LABEL_MODEL_CHUNK`` rows: the
    answers of a chunk take ``chunk x n_classes`` floats, whatever the pool's size."""
    parts = []
    for start in range(0, rows.size, LABEL_MODEL_CHUNK):
        stop = min(start + LABEL_MODEL_CHUNK, rows.size)
        part = votes.rows(np.arange(start, stop, dtype=np.intp))
        part_gold = {k - start: label for k, label in gold.items() if start <= k < stop}
        train = teacher(part, rows[start:stop], part_gold, weight)
        parts.append(
            WeakTrainingSet(
                positions=rows[start + train.positions],
                labels=train.labels,
                weights=train.weights,
                human=train.human,
            )
        )
    return WeakTrainingSet(
        positions=np.concatenate([p.positions for p in parts]).astype(np.intp),
        labels=np.concatenate([p.labels for p in parts]).astype(np.intp),
        weights=np.concatenate([p.weights for p in parts]),
        human=np.concatenate([p.human for p in parts]),
    )
