"""Weak supervision × active learning against active learning alone (issue 14).

Every human action is one unit: an item label, or accepting or rejecting a suggested
labeling function. Each seed's runs start from 10 labels, then take batches of actions
(10 at a time to 100, 25 to 200, 50 after). The end model is the recipe (MiniLM beside
TF-IDF, logistic regression) on the human labels throughout. The arms:

- ``active``: the end model on a random seed set, ranking by its own margin;
- ``active_zero_shot``: the same from a zero-shot seed set (label names against the
  embeddings, picked among a random half of the pool so seeds differ). Weak arms are
  compared with the better of the two at each checkpoint: labelwise's best active learning
  (``--weak-seed-set`` gives the weak arms either start).
- ``weak+active``: the end model answering together with the labeling functions
  (``labelwise.weak.combined_proba``: the product with the label model where a rule
  fires), the label model an accuracy-weighted vote calibrated on the human labels
  (``WeightedVote`` fitted with gold); the combined answer's margin ranks;
- ``weak+end_margin``: the same answer, but the end model's own margin ranks (the items
  that teach the end model, not the ones the rules settle);
- ``weak+active_cv``: ranking as ``weak+active``, the label weight in the product chosen
  by cross-validation on the human labels (``choose_label_weight``: 0, 0.25, 0.5 or 1);
- ``weak+end_margin_cv``: the end model's margin ranks and the weight is chosen so;
- ``weak+active_audit``: 20% of every batch drawn at random and only those (and the seed
  set) calibrate the label model and choose its weight;
- ``weak+features``: as ``weak+active_cv``, and the end model also reads the rules' votes
  per class as feature columns (``labelwise.weak.vote_features``), learning from the
  human labels how far to trust each class's votes;
- ``weak+trained_cv``: as ``weak+active_cv``, but cross-validation on the human labels
  also decides whether the end model trains on the label model's labels of the covered
  items (``choose_weak_weight`` between 0 and 0.5, chosen again each time the labels
  double); when it does, the end model answers alone (the rules are in it already).
- ``weak+self``: as ``weak+active_cv``, and at every step the end model also trains on
  the combined answer's labels of the covered items it is at least 97% sure of, each
  weighing half a human label times that confidence
  (``labelwise.weak.combine.self_training_set``: self-training with the rules as a second
  opinion); the retrained model answers with the rules again. A project does this with
  ``weak_labels_from: model_and_rules`` but serves the retrained model alone: the table's
  "served" row measures that model. On TREC-6 (20 seeds, to 200 actions) none of these
  did better at 200 actions, 0.815 to 0.848 against 0.847: a threshold of 0.9 or 0.99, two
  rounds of self-training, a weight of 1, soft labels, label weight 1 throughout, the
  rules' votes as features, majority vote as the label model, the label model calibrated
  on the end model's sure answers too, or ranking by the end model's own margin. Letting
  cross-validation on the human labels decide whether to self-train failed: actively
  chosen labels are the hard items, where a self-trained model is confidently wrong, so it
  chose human labels alone at 20 to 80 labels, where self-training gains most, and
  self-training at 175.

The rules are the data folder's ``labeling_functions.jsonl`` where there is one (TREC-6's
68 shared rules, used as given), otherwise the ones labelwise suggests itself
(``--rules suggested``): one zero-shot function over every label name
(``suggest_zero_shot``), a label-name function per label (one without labeled items fires
on half its uniform share of the pool, the items nearest its name), keywords mined from the
human labels and exemplars. A fifth of every batch's actions go to reviewing the
best-ranked suggestions (estimated precision × coverage); the simulated person accepts one
when it is right on at least 70% of the pool items it fires on (their true labels), as
Interactive Weak Supervision's oracle judges functions. In every weak arm the end model's
classes no human label has reached keep their Good-Turing share
(``labelwise.weak.combine.with_unseen_classes``): a model trained on 10 of 150 intents
gives the rest probability 0, which would veto every rule voting for one of them.

At each checkpoint the first weak arm also reports, on the same human labels and rules:
the label model alone, Dawid-Skene fitted gold-aware, the end model trained on the human
labels plus the label model's on every other covered item (``weak_training_set``, weak
weight 0.5), the unsupervised majority vote and Snorkel's ``LabelModel`` (when the
``snorkel`` package is installed: a comparator, never a dependency). Test accuracy
throughout; rows no function covers fall to the model's prior (label models) or the end
model.

    python benchmarks/weak_supervision.py --data-dir ../shared/data/trec
    python benchmarks/weak_supervision.py --data-dir ../shared/data/clinc150

Writes ``benchmarks/results/weak_supervision_<data set>.json`` and ``.md``. Seeds run as
separate processes (``--first-seed``), and extras run apart, join into one table with
``--combine A.json B.json ...``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from labelwise.data import Pool, read_dataset
from labelwise.features import EmbeddingCache, SentenceEmbedder
from labelwise.recipes.classification import (
    DEFAULT_C,
    classification_featurizer,
    cold_start,
    features_of,
    pool_features,
)
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.snapshot import Snapshot, WeakVotes
from labelwise.service.training import train_and_rank
from labelwise.strategies._measures import margin
from labelwise.tasks import SingleLabel
from labelwise.weak import (
    DawidSkene,
    LabelingFunction,
    LabelMatrix,
    LabelMatrixBuilder,
    MajorityVote,
    Suggestion,
    WeightedVote,
    function_from_spec,
    read_labeling_functions,
    suggest_exemplars,
    suggest_keywords,
    suggest_label_names,
    suggest_zero_shot,
    vote_features,
    weak_training_set,
)
from labelwise.weak.combine import (
    DEFAULT_LABEL_WEIGHT,
    choose_label_weight,
    choose_weak_weight,
    combined_proba,
    self_training_set,
    unseen_class_mass,
    with_unseen_classes,
)

HERE = Path(__file__).resolve().parent

SEED_LABELS = 10
WEAK_WEIGHT = 0.5
#: The simulated person accepts a suggested function right on this share of its hits.
ACCEPT_PRECISION = 0.7
#: Share of each batch's actions spent reviewing suggestions while there are any, up to
#: REVIEWS_FULL_UNTIL actions; after that the share falls as 1 / actions. A rule labels
#: dozens of items at once while the model knows little; with hundreds of labels in, a
#: label teaches more than a review (CLINC150, 5 seeds: a flat 20% spent 98 of 500
#: actions on reviews and ended 0.7 points under active learning alone).
REVIEW_SHARE = 0.2
REVIEWS_FULL_UNTIL = 100
#: Suggestions without measured precision (a label name no labeled item carries) are
#: ranked as if right half the time.
UNMEASURED_PRECISION = 0.5


@dataclass(frozen=True)
class Arm:
    """How one arm starts, ranks and weighs the rules."""

    seed_set: str = "random"  # or "zero-shot"
    rules: bool = False
    select_by: str = "combined"  # the combined answer's margin, or the "end" model's
    weight: str = "one"  # label weight 1, "cv" on the human labels, or "audit"
    audit_share: float = 0.0
    vote_features: bool = False  # the end model also reads the votes per class
    weak_training: bool = False  # the end model may train on the rules' labels (by CV)
    # the end model also trains on the combined answer's sure labels, answering with the rules
    self_training: bool = False
    # run through the retrain worker's train_and_rank with this weak_labels_from ("" for
    # none: weak_label_weight 0), instead of the benchmark's own loop
    server: str | None = None


ARMS = {
    "active": Arm(),
    "active_zero_shot": Arm(seed_set="zero-shot"),
    "weak+active": Arm(rules=True),
    "weak+end_margin": Arm(rules=True, select_by="end"),
    "weak+active_cv": Arm(rules=True, weight="cv"),
    "weak+end_margin_cv": Arm(rules=True, select_by="end", weight="cv"),
    "weak+active_audit": Arm(rules=True, weight="audit", audit_share=0.2),
    "weak+features": Arm(rules=True, weight="cv", vote_features=True),
    "weak+trained_cv": Arm(rules=True, weight="cv", weak_training=True),
    "weak+self": Arm(rules=True, weight="cv", self_training=True),
    "server": Arm(server=""),
    "server+self": Arm(rules=True, server="model_and_rules"),
}
BASELINES = ("active", "active_zero_shot")
DEFAULT_ARMS = ("active", "active_zero_shot", "weak+active", "weak+end_margin")
#: What each checkpoint reports for the first weak arm, beside its answer.
EXTRAS = ("end_model", "label_model", "dawid_skene", "weak_and_gold", "majority", "snorkel")
TITLES = {
    "active": "active learning alone, random seed set",
    "active_zero_shot": "active learning alone, zero-shot seed set",
    "weak+active": "weak × active: end model with the rules, combined margin ranks",
    "weak+end_margin": "weak × active: end model with the rules, end model's margin ranks",
    "weak+active_cv": "weak × active: label weight by cross-validation",
    "weak+end_margin_cv": "weak × active: end model's margin ranks, label weight by cross-validation",
    "weak+active_audit": "weak × active: rules calibrated on a 20% random share",
    "weak+features": "weak × active: votes as end-model features, label weight by cross-validation",
    "weak+trained_cv": "weak × active: end model trained on the rules' labels or answering with them, by cross-validation",
    "weak+self": "weak × active: end model also trained on the combined answer's sure labels, answering with the rules",
    "server": "the retrain worker (train_and_rank), human labels only",
    "server+self": "the retrain worker, weak_labels_from model_and_rules (its served model)",
    "end_model": "its end model alone",
    "label_model": "its label model alone (weighted vote, gold-calibrated)",
    "dawid_skene": "Dawid-Skene on its rules, gold-aware",
    "weak_and_gold": f"end model trained on weak ∪ gold (weight {WEAK_WEIGHT})",
    "majority": "majority vote of its rules",
    "snorkel": "Snorkel LabelModel on its rules (unsupervised)",
    "functions": "rules in use",
    "reviews": "suggestion reviews spent",
    "label_weight": "label weight in the product",
    "weak_weight": "weak label weight in training",
    "served": "its retrained model alone, as a project serves it (no rules at prediction)",
}
#: Snorkel's LabelModel refuses fewer labeling functions.
SNORKEL_MIN_FUNCTIONS = 3
#: The weak weight is chosen again once the labels have doubled, between human labels
#: alone and weak ones at half weight: each choice fits three models on the weak items
#: (all four of choose_weak_weight's weights, every 1.5x, ran past 13 minutes a seed).
REWEIGH_GROWTH = 2.0
TRAINING_WEIGHTS = (0.0, 0.5)
#: weak+self trains the end model on the combined answer's labels of the covered items it
#: is sure of (``SELF_TRAINING_CONFIDENCE``), each weighing SELF_WEIGHT x its confidence
#: beside a human label's 1: a project's ``weak_labels_from="model_and_rules"`` at
#: ``weak_label_weight`` 0.5.
SELF_WEIGHT = 0.5


def next_batch(n_actions: int) -> int:
    return 10 if n_actions < 100 else 25 if n_actions < 200 else 50


def review_budget(n_actions: int, batch: int) -> int:
    """Actions of the next batch spent reviewing suggestions."""
    share = REVIEW_SHARE * min(1.0, REVIEWS_FULL_UNTIL / max(n_actions, 1))
    return round(share * batch)


class UsedColumns(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """The recipe's logistic regression, fitted on the columns its rows use.

    A TF-IDF column that is zero on every training row has only the L2 penalty pulling on
    its weights, so they end at 0: leaving such columns out finds the same model. With
    151 classes and a vocabulary of word and character n-grams that is most columns, and
    fitting is many times faster.
    """

    def __init__(self, C: float = DEFAULT_C) -> None:
        self.C = C

    def _cut(self, X: Any) -> Any:
        return X[:, self.columns_] if self.columns_ is not None else X

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> UsedColumns:
        self.columns_ = np.unique(X.tocsr().indices) if sparse.issparse(X) else None
        self.model_ = LogisticRegression(C=self.C, max_iter=1000)
        self.model_.fit(self._cut(X), y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(self._cut(X)))


class Data:
    """Features, labels and embeddings of the pool (train) and the test split."""

    def __init__(self, data_dir: Path, cache_dir: Path, rules: str) -> None:
        train = read_dataset(data_dir / "train.jsonl", require_labels=True)
        test = read_dataset(data_dir / "test.jsonl", require_labels=True)
        self.texts, self.test_texts = list(train.texts), list(test.texts)
        self.classes = sorted(set(train.labels) | set(test.labels))
        index = {c: k for k, c in enumerate(self.classes)}
        self.y = np.array([index[v] for v in train.labels])
        self.y_test = np.array([index[v] for v in test.labels])
        self.embedder = SentenceEmbedder(cache=EmbeddingCache(cache_dir))
        featurizer = classification_featurizer("minilm+tfidf", embedder=self.embedder)
        self.X = pool_features(featurizer, self.texts)
        self.X_test = features_of(featurizer, self.test_texts)
        self.vectors = self.embed(self.texts)
        self.test_vectors = self.embed(self.test_texts)
        self.zero_shot = cold_start(
            "zero-shot",
            features="minilm+tfidf",
            classes=self.classes,
            embedder=self.embedder,
            width=self.vectors.shape[1],
        )
        self.rules = rules
        self.given: list[LabelingFunction] = []
        if rules == "given":
            self.given = read_labeling_functions(data_dir / "labeling_functions.jsonl")

    def embed(self, texts: Any) -> np.ndarray:
        vectors: np.ndarray = np.asarray(self.embedder.transform(list(texts)), dtype=np.float64)
        norms: np.ndarray = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12))

    def gold(self, positions: Any) -> dict[int, str]:
        return {int(i): self.classes[self.y[i]] for i in positions}

    def fit(self, rows: np.ndarray, labels: np.ndarray, weights: Any = None, X: Any = None) -> Any:
        X = self.X if X is None else X
        return UsedColumns().fit(X[rows], labels, sample_weight=weights)

    def proba(self, model: Any, X: Any) -> np.ndarray:
        out = np.zeros((X.shape[0], len(self.classes)))
        out[:, model.classes_] = model.predict_proba(X)
        return out

    def open_to_unseen(self, proba: np.ndarray, rows: np.ndarray, model: Any) -> np.ndarray:
        """The end model's probabilities with classes it was never trained on (on human
        labels, or on weak ones too) given the Good-Turing share of the human labels
        ``rows``, so a rule's vote for one is not vetoed by a zero."""
        seen = np.zeros(len(self.classes), dtype=bool)
        seen[np.asarray(model.classes_, dtype=np.intp)] = True
        mass = unseen_class_mass(self.y[rows].tolist(), len(self.classes))
        return with_unseen_classes(proba, seen, mass)

    def accuracy(self, proba: np.ndarray) -> float:
        return float((proba.argmax(axis=1) == self.y_test).mean())

    def seed_set(self, arm: Arm, rng: np.random.Generator) -> list[int]:
        if arm.seed_set == "random":
            return [int(i) for i in rng.choice(self.y.size, SEED_LABELS, replace=False)]
        # Zero-shot picks are deterministic: a random half of the pool makes seeds differ.
        half = rng.choice(self.y.size, self.y.size // 2, replace=False)
        query = self.zero_shot.select(
            Pool(self.X), SEED_LABELS, candidates=half, random_state=int(rng.integers(2**31))
        )
        return [int(i) for i in query.indices]


class Rules:
    """The labeling functions one run uses, their votes on pool and test, and the human
    actions spent choosing them (none for given rules)."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self.functions: list[LabelingFunction] = list(data.given)
        self.reviewed: set[str] = set()
        self.reviews = 0
        self._pool = LabelMatrixBuilder(data.classes)
        self._test = LabelMatrixBuilder(data.classes)
        self._refresh()

    def _refresh(self) -> None:
        data = self.data
        self.L = self._pool.update(self.functions, data.texts, vectors=data.vectors)
        self.L_test = self._test.update(self.functions, data.test_texts, vectors=data.test_vectors)

    def features(self, arm: Arm) -> tuple[Any, Any]:
        """The end model's pool and test rows: the text features, and with
        ``arm.vote_features`` the votes per class beside them."""
        data = self.data
        if not arm.vote_features or not self.L.n_functions:
            return data.X, data.X_test
        return (
            sparse.hstack([data.X, vote_features(self.L)]).tocsr(),
            sparse.hstack([data.X_test, vote_features(self.L_test)]).tocsr(),
        )

    def review(self, gold: dict[int, str], budget: int) -> int:
        """Review up to ``budget`` suggestions, best first; the actions spent."""
        if self.data.rules != "suggested" or budget <= 0:
            return 0
        fresh = [s for s in self.suggest(gold) if s.spec["name"] not in self.reviewed]
        fresh.sort(key=lambda s: (-_priority(s), -s.spec.get("threshold", 0.0), s.spec["name"]))
        accepted = 0
        for suggestion in fresh[:budget]:
            self.reviewed.add(suggestion.spec["name"])
            function = function_from_spec(suggestion.spec, embed=self.data.embed)
            if self.precision(function) >= ACCEPT_PRECISION:
                self.functions.append(function)
                accepted += 1
        spent = min(budget, len(fresh))
        self.reviews += spent
        if accepted:
            self._refresh()
        return spent

    def suggest(self, gold: dict[int, str]) -> list[Suggestion]:
        data = self.data
        return [
            *suggest_zero_shot(
                data.classes, data.vectors, gold, embed=data.embed, existing=self.functions
            ),
            *suggest_label_names(
                data.classes,
                data.vectors,
                gold,
                embed=data.embed,
                unseen_coverage=0.5 / len(data.classes),
                existing=self.functions,
            ),
            *suggest_keywords(data.texts, gold, min_support=2, existing=self.functions),
            *suggest_exemplars(data.texts, data.vectors, gold, existing=self.functions),
        ]

    def precision(self, function: LabelingFunction) -> float:
        """The oracle's judgement: the share of the function's pool hits that are right."""
        votes = function.apply(self.data.texts, vectors=self.data.vectors)
        hits = [(i, v) for i, v in enumerate(votes) if v is not None]
        if not hits:
            return 0.0
        return float(sum(self.data.classes[self.data.y[i]] == v for i, v in hits) / len(hits))


def _priority(s: Suggestion) -> float:
    precision = s.precision_low if s.gold_votes >= 2 else UNMEASURED_PRECISION
    return precision * s.coverage


def snorkel_proba(L: LabelMatrix, L_test: LabelMatrix) -> np.ndarray | None:
    """Snorkel's label model on the same votes, when the package is there (a comparator)."""
    try:
        from snorkel.labeling.model import (
            LabelModel as SnorkelLabelModel,
        )
    except ImportError:
        return None
    if L.n_functions < SNORKEL_MIN_FUNCTIONS:
        return None
    model = SnorkelLabelModel(cardinality=len(L.classes), verbose=False)
    model.fit(L.dense(), n_epochs=500, seed=0, progress_bar=False)
    return np.asarray(model.predict_proba(L_test.dense()))


def run_arm(
    name: str,
    data: Data,
    seed: int,
    checkpoints: list[int],
    extras: bool,
    weak_seed_set: str = "random",
) -> dict[int, dict[str, float]]:
    arm = ARMS[name]
    if arm.rules:
        arm = replace(arm, seed_set=weak_seed_set)
    if arm.server is not None:
        return run_server_arm(replace(arm, seed_set=weak_seed_set), data, seed, checkpoints)
    rng = np.random.default_rng(seed)
    labeled = data.seed_set(arm, rng)
    audit = list(labeled)  # items drawn at random: the seed set, then each batch's share
    rules = Rules(data) if arm.rules else None
    out: dict[int, dict[str, float]] = {}
    weak_weight, weighed_at = 0.0, 0
    while True:
        rows = np.array(labeled)
        actions = rows.size + (rules.reviews if rules else 0)
        X, X_test = rules.features(arm) if rules else (data.X, data.X_test)
        end = data.fit(rows, data.y[rows], X=X)
        end_pool = data.proba(end, X)
        voter, weight = None, DEFAULT_LABEL_WEIGHT
        label_pool = None  # the label model's answer on the pool, scored once a step
        if rules is not None and rules.L.n_functions:
            calibration = data.gold(audit if arm.weight == "audit" else rows)
            voter = WeightedVote().fit(rules.L, calibration)
            label_pool = voter.predict_proba(rules.L)
            if arm.weight != "one":
                learner = UsedColumns()
                weight = choose_label_weight(learner, X, rules.L, voter, calibration).weight
        answering = voter  # the label model answering beside the end model, if any
        if label_pool is not None and rules is not None and arm.self_training:
            # The combined answer teaches the end model where it is sure; the retrained
            # model answers with the rules again (the product below).
            train = self_training_set(
                rules.L,
                data.open_to_unseen(end_pool, rows, end),
                label_pool,
                data.gold(rows),
                label_weight=weight,
                weak_weight=SELF_WEIGHT,
            )
            end = data.fit(train.positions, train.labels, train.weights, X=X)
            end_pool = data.proba(end, X)
        if arm.weak_training and voter is not None and label_pool is not None and rules:
            if rows.size >= REWEIGH_GROWTH * weighed_at:
                weak_weight = choose_weak_weight(
                    UsedColumns(),
                    X,
                    rules.L,
                    voter,
                    data.gold(rows),
                    weights=TRAINING_WEIGHTS,
                    random_state=seed,
                ).weight
                weighed_at = rows.size
            if weak_weight > 0:
                # The rules are in the end model now: answering with them again would
                # count them twice.
                train = weak_training_set(
                    rules.L, label_pool, data.gold(rows), weak_weight=weak_weight
                )
                end = data.fit(train.positions, train.labels, train.weights, X=X)
                end_pool = data.proba(end, X)
                answering, weight = None, 0.0
        answer = end_pool
        if answering is not None and label_pool is not None and rules is not None:
            answer = combined_proba(
                data.open_to_unseen(end_pool, rows, end),
                label_pool,
                rules.L.covered(),
                label_weight=weight,
            )
        if actions in checkpoints:
            out[actions] = measure(data, rows, end, X_test, answering, weight, rules, extras)
            if arm.weak_training:
                out[actions]["weak_weight"] = weak_weight
            if arm.self_training:
                # What a project with weak_labels_from="model_and_rules" serves: the
                # retrained model answering alone.
                out[actions]["served"] = data.accuracy(data.proba(end, X_test))
            if actions == checkpoints[-1]:
                return out
        batch = next_batch(actions)
        reviews = rules.review(data.gold(rows), review_budget(actions, batch)) if rules else 0
        n_labels = batch - reviews
        candidates = np.setdiff1d(np.arange(data.y.size), rows)
        share = int(round(arm.audit_share * n_labels))
        drawn = rng.choice(candidates, share, replace=False) if share else candidates[:0]
        audit += drawn.tolist()
        candidates = np.setdiff1d(candidates, drawn)
        ranked = end_pool if arm.select_by == "end" else answer
        scores = margin(ranked[candidates])
        # Ties (common early on) go to a seeded random order, as in labelwise's strategies.
        order = np.lexsort((rng.random(candidates.size), -scores))
        labeled += drawn.tolist() + candidates[order[: n_labels - share]].tolist()


def run_server_arm(
    arm: Arm, data: Data, seed: int, checkpoints: list[int]
) -> dict[int, dict[str, float]]:
    """The product's retrain (``labelwise.service.training.train_and_rank``) on the same
    seed set, batches and rules: a project with the default settings, no audit share,
    ``weak_label_weight`` 0.5 with ``weak_labels_from=arm.server`` (0 for ""). Each step
    takes the head of its ranked queue; accuracy is its served model's."""
    rng = np.random.default_rng(seed)
    labeled = data.seed_set(arm, rng)
    weak = {"weak_label_weight": SELF_WEIGHT, "weak_labels_from": arm.server} if arm.server else {}
    settings = ProjectSettings.model_validate(
        {"features": "minilm+tfidf", "audit_fraction": 0.0, "min_labels": 2, "queue_size": 100}
        | weak
    )
    votes = None
    if arm.rules:
        if data.rules != "given":
            raise SystemExit("--arms server+self: a project's rules are given (--rules given)")
        L = Rules(data).L
        dense = L.dense()  # class indices, -1 where a function abstains
        positions, functions = np.nonzero(dense >= 0)
        votes = WeakVotes(
            positions=positions.astype(np.intp),
            functions=functions.astype(np.intp),
            classes=dense[positions, functions].astype(np.intp),
            names=L.names,
        )
    pool, none = Pool(data.X), np.zeros(0, dtype=np.intp)
    out: dict[int, dict[str, float]] = {}
    while True:
        rows = np.array(labeled)
        snapshot = Snapshot(
            project_id=seed,
            labels=list(data.classes),
            task=SingleLabel(data.classes),
            settings=settings,
            positions=rows,
            values=[data.classes[k] for k in data.y[rows]],
            sources=["human"] * rows.size,
            audit=none,
            audit_values=[],
            evaluation=none,
            evaluation_values=[],
            excluded=none,
            label_count=rows.size,
            weak_votes=votes,
        )
        outcome = train_and_rank(pool, snapshot)
        if rows.size in checkpoints:
            served = np.asarray(outcome.model.predict_proba(data.X_test))
            out[rows.size] = {"accuracy": data.accuracy(served)}
            if rows.size == checkpoints[-1]:
                return out
        labeled += outcome.positions[: next_batch(rows.size)].tolist()


def measure(
    data: Data,
    rows: np.ndarray,
    end: Any,
    X_test: Any,
    voter: Any,
    weight: float,
    rules: Rules | None,
    extras: bool,
) -> dict[str, float]:
    end_test = data.proba(end, X_test)
    if rules is None:
        return {"accuracy": data.accuracy(end_test)}
    out = {
        "accuracy": data.accuracy(end_test),
        "functions": float(rules.L.n_functions),
        "reviews": float(rules.reviews),
        "label_weight": weight,
    }
    if voter is not None:
        covered = rules.L_test.covered()
        label_test = voter.predict_proba(rules.L_test)
        out["accuracy"] = data.accuracy(
            combined_proba(
                data.open_to_unseen(end_test, rows, end), label_test, covered, label_weight=weight
            )
        )
    if not extras:
        return out
    out["end_model"] = data.accuracy(end_test)
    if voter is None:
        return out
    gold = data.gold(rows)
    train = weak_training_set(rules.L, voter.predict_proba(rules.L), gold, weak_weight=WEAK_WEIGHT)
    both = data.fit(train.positions, train.labels, train.weights)
    out |= {
        "label_model": data.accuracy(label_test),
        "dawid_skene": data.accuracy(DawidSkene().fit(rules.L, gold).predict_proba(rules.L_test)),
        "weak_and_gold": data.accuracy(data.proba(both, data.X_test)),
        "majority": data.accuracy(MajorityVote().fit(rules.L).predict_proba(rules.L_test)),
    }
    snorkel = snorkel_proba(rules.L, rules.L_test)
    if snorkel is not None:
        out["snorkel"] = data.accuracy(snorkel)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=HERE.parent.parent / "shared/data/trec")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1"
    )
    parser.add_argument("--checkpoints", default="50,100,200,500")
    parser.add_argument("--arms", default=",".join(DEFAULT_ARMS))
    parser.add_argument(
        "--rules",
        choices=("given", "suggested"),
        help="the folder's labeling_functions.jsonl (the default where there is one) or "
        "the functions labelwise suggests",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "labelwise" / "embeddings"
    )
    parser.add_argument(
        "--weak-seed-set",
        choices=("random", "zero-shot"),
        default="random",
        help="the seed set of the weak arms",
    )
    parser.add_argument(
        "--extras",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the label models and weak-and-gold training beside the first weak arm",
    )
    parser.add_argument(
        "--extras-seeds",
        type=int,
        help="compute the extras on the first N seeds only (all by default): on CLINC150 "
        "Dawid-Skene, Snorkel and weak-and-gold training over 151 classes cost more than "
        "the arms",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--combine",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="instead of running, summarize the per-seed runs in these result files (seeds "
        "run as separate processes with --first-seed, or the extras of some seeds run on "
        "their own): one table over every seed",
    )
    args = parser.parse_args()
    if args.combine:
        write_combined(args)
        return
    checkpoints = sorted(int(c) for c in args.checkpoints.split(","))
    if checkpoints[0] < SEED_LABELS:
        parser.error(f"--checkpoints start at {SEED_LABELS} actions at least (the seed set)")
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if not set(arms) <= set(ARMS) or not set(arms) & set(BASELINES):
        parser.error(f"--arms: one of {', '.join(BASELINES)} and any of {', '.join(ARMS)}")
    given = (args.data_dir / "labeling_functions.jsonl").exists()
    args.rules = args.rules or ("given" if given else "suggested")
    if args.rules == "given" and not given:
        parser.error(f"--rules given: no labeling_functions.jsonl in {args.data_dir}")
    # 150 intents from a few dozen labels: scikit-learn warns that y "could be regression".
    warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    started = time.perf_counter()
    data = Data(args.data_dir, args.cache_dir, args.rules)
    weak_arm = next((a for a in arms if ARMS[a].rules), None)
    first_weak = weak_arm if args.extras else None
    runs: dict[str, list[dict[int, dict[str, float]]]] = {arm: [] for arm in arms}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for arm in arms:
            extras = arm == first_weak and seed - args.first_seed < (
                args.extras_seeds or args.seeds
            )
            runs[arm].append(run_arm(arm, data, seed, checkpoints, extras, args.weak_seed_set))
            print(f"seed {seed} {arm}: {runs[arm][-1]}", flush=True)
    write_results(args, data, runs, checkpoints, weak_arm, time.perf_counter() - started, [])


def command_line(args: argparse.Namespace) -> str:
    return (
        f"python benchmarks/weak_supervision.py --data-dir {args.data_dir} "
        f"--first-seed {args.first_seed} --seeds {args.seeds} --checkpoints {args.checkpoints} "
        f"--arms {args.arms} --rules {args.rules} --weak-seed-set {args.weak_seed_set}"
        + (f" --extras-seeds {args.extras_seeds}" if args.extras_seeds else "")
        + ("" if args.extras else " --no-extras")
    )


def write_results(
    args: argparse.Namespace,
    data: Data,
    runs: dict[str, list[dict[int, dict[str, float]]]],
    checkpoints: list[int],
    first_weak: str | None,
    wall: float,
    sources: list[str],
) -> None:
    summary = summarize(runs, checkpoints)
    table = markdown(args, data, summary, checkpoints, first_weak, wall, sources)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"weak_supervision_{args.data_dir.name}"
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    payload = {
        "data": str(args.data_dir),
        "command": command_line(args),
        "sources": sources,
        "rules": args.rules,
        "weak_seed_set": args.weak_seed_set,
        "first_seed": args.first_seed,
        "seeds": args.seeds,
        "checkpoints": checkpoints,
        "summary": summary,
        "runs": {arm: [{str(k): v for k, v in r.items()} for r in rs] for arm, rs in runs.items()},
        "wall_seconds": wall,
    }
    (args.out / f"{stem}.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")


def combine_runs(
    payloads: list[dict[str, Any]],
) -> tuple[dict[str, list[dict[int, dict[str, float]]]], list[int]]:
    """Every arm's runs by seed over several result files (arms in ``ARMS`` order), and
    the seeds; a later file's measures for a seed and arm join an earlier one's."""
    by_seed: dict[str, dict[int, dict[int, dict[str, float]]]] = {}
    for payload in payloads:
        for arm, per_seed in payload["runs"].items():
            for offset, run in enumerate(per_seed):
                slot = by_seed.setdefault(arm, {}).setdefault(payload["first_seed"] + offset, {})
                for c, measures in run.items():
                    known = slot.setdefault(int(c), {})
                    clash = {k for k, v in measures.items() if k in known and known[k] != v}
                    if clash:
                        # Runs are deterministic per seed: a difference means other code.
                        raise SystemExit(
                            f"--combine: seed {payload['first_seed'] + offset} of {arm} "
                            f"measured {sorted(clash)} differently at {c} actions"
                        )
                    known.update(measures)
    seeds = sorted({seed for runs in by_seed.values() for seed in runs})
    missing = {arm: sorted(set(seeds) - set(runs)) for arm, runs in by_seed.items()}
    if any(missing.values()):
        raise SystemExit(f"--combine: these arms lack these seeds: {missing}")
    arms = [arm for arm in ARMS if arm in by_seed]
    return {arm: [by_seed[arm][s] for s in seeds] for arm in arms}, seeds


def source_commands(payloads: list[dict[str, Any]]) -> list[str]:
    """The commands of the runs behind the result files: a file assembled before names
    the runs it came from, not the ``--combine`` that assembled it."""
    return [command for p in payloads for command in p.get("sources") or [p["command"]]]


def write_combined(args: argparse.Namespace) -> None:
    """One table over the seeds of several result files: a later file's measures for a
    seed and arm are added to an earlier one's (runs are deterministic per seed, so a
    rerun of a seed with the extras on adds them)."""
    payloads = [json.loads(path.read_text(encoding="utf-8")) for path in args.combine]
    runs, seeds = combine_runs(payloads)
    checkpoints = sorted(payloads[0]["checkpoints"])
    first = payloads[0]
    args.data_dir = Path(first["data"])
    args.rules, args.weak_seed_set = first["rules"], first["weak_seed_set"]
    args.first_seed, args.seeds = seeds[0], len(seeds)
    arms = list(runs)
    args.arms, args.checkpoints = ",".join(arms), ",".join(map(str, checkpoints))
    first_weak = next((a for a in arms if ARMS[a].rules), None)
    args.extras = first_weak is not None and any(
        name in run[checkpoints[0]] for run in runs[first_weak] for name in EXTRAS
    )
    args.extras_seeds = None
    data = Data(args.data_dir, args.cache_dir, args.rules)
    wall = sum(p["wall_seconds"] for p in payloads)
    sources = source_commands(payloads)
    write_results(args, data, runs, checkpoints, first_weak, wall, sources)


def _stats(values: np.ndarray) -> dict[str, float]:
    if not values.size:
        return {"mean": float("nan"), "sd": float("nan")}
    return {"mean": float(values.mean()), "sd": float(values.std())}


def summarize(
    runs: dict[str, list[dict[int, dict[str, float]]]], checkpoints: list[int]
) -> dict[str, Any]:
    """arm → measure → checkpoint → mean and sd; each weak arm's gain over the best
    baseline at each checkpoint (per-seed differences from that baseline arm)."""
    out: dict[str, Any] = {"arms": {}, "best_baseline": {}, "gain": {}, "served_gain": {}}
    for arm, per_seed in runs.items():
        names = sorted({k for r in per_seed for c in checkpoints for k in r[c]})
        # The extras may come from the first seeds only (--extras-seeds): "n" says how many.
        out["arms"][arm] = {
            name: {
                str(c): {
                    **_stats(np.array([r[c][name] for r in per_seed if name in r[c]])),
                    "n": sum(name in r[c] for r in per_seed),
                }
                for c in checkpoints
            }
            for name in names
        }
    baselines = [a for a in BASELINES if a in runs]
    for c in checkpoints:
        best = max(baselines, key=lambda a: out["arms"][a]["accuracy"][str(c)]["mean"])
        out["best_baseline"][str(c)] = best
        for arm in runs:
            if not ARMS[arm].rules:
                continue
            for measure, table in (("accuracy", "gain"), ("served", "served_gain")):
                if measure not in runs[arm][0][c]:
                    continue
                gains = np.array(
                    [
                        w[c][measure] - b[c]["accuracy"]
                        for w, b in zip(runs[arm], runs[best], strict=True)
                    ]
                )
                out[table].setdefault(arm, {})[str(c)] = _stats(gains)
    return out


def _cell(stats: dict[str, float], scale: float = 1.0, digits: int = 3, sign: str = "") -> str:
    return f"{stats['mean'] * scale:{sign}.{digits}f} ± {stats['sd'] * scale:.{digits}f}"


def markdown(
    args: argparse.Namespace,
    data: Data,
    summary: dict[str, Any],
    checkpoints: list[int],
    first_weak: str | None,
    wall: float,
    sources: list[str],
) -> str:
    head = " | ".join(f"{c} actions" for c in checkpoints)
    rules = (
        f"{len(data.given)} labeling functions as given"
        if args.rules == "given"
        else "labeling functions labelwise suggests, each accept or reject one action "
        f"(accepted when right on ≥ {ACCEPT_PRECISION:.0%} of their pool hits)"
    )
    lines = [
        f"# Weak supervision × active learning on {args.data_dir.name}",
        "",
        f"Command: `{command_line(args)}`"
        if not sources
        else "Assembled (`--combine`) from the runs of: "
        + "; ".join(f"`{command}`" for command in sources),
        "",
        f"{rules}; {data.y.size:,} pool items, {data.y_test.size:,} test items, "
        f"{len(data.classes)} classes. Test accuracy, mean ± sd over {args.seeds} seeds; "
        "each item label or function review is one action.",
        "",
        f"| | {head} |",
        "|---|" + "---:|" * len(checkpoints),
    ]
    arms = summary["arms"]
    for arm in arms:
        cells = [_cell(arms[arm]["accuracy"][str(c)]) for c in checkpoints]
        lines.append(f"| {TITLES[arm]} | " + " | ".join(cells) + " |")
    for arm in arms:
        if "served" in arms[arm]:
            cells = [_cell(arms[arm]["served"][str(c)]) for c in checkpoints]
            lines.append(f"| ({arm}) {TITLES['served']} | " + " | ".join(cells) + " |")
    if first_weak is not None:
        for name in (*EXTRAS, "functions", "reviews", "label_weight", "weak_weight"):
            if name not in arms[first_weak]:
                continue
            digits = 1 if name in ("functions", "reviews") else 3
            measured = [arms[first_weak][name][str(c)] for c in checkpoints]
            # Snorkel's model refuses fewer than three functions: a cell names its seeds.
            cells = [
                (_cell(m, digits=digits) if m["n"] else "—")
                + (f" ({m['n']} seed{'s' if m['n'] != 1 else ''})" if m["n"] < args.seeds else "")
                for m in measured
            ]
            lines.append(f"| ({first_weak}) {TITLES[name]} | " + " | ".join(cells) + " |")
    best = [summary["best_baseline"][str(c)] for c in checkpoints]
    lines.append("| best active learning alone (the baseline) | " + " | ".join(best) + " |")
    for arm, gains in summary["gain"].items():
        cells = [_cell(gains[str(c)], scale=100, digits=1, sign="+") for c in checkpoints]
        lines.append(f"| **gain of {arm} over it (points)** | " + " | ".join(cells) + " |")
    for arm, gains in summary.get("served_gain", {}).items():
        cells = [_cell(gains[str(c)], scale=100, digits=1, sign="+") for c in checkpoints]
        lines.append(f"| gain of {arm}'s served model alone (points) | " + " | ".join(cells) + " |")
    if first_weak is None or not args.extras:
        snorkel = (
            "The label models beside the arms (label model alone, Dawid-Skene, majority "
            "vote, Snorkel) were not computed in this run (`--no-extras`).\n\n"
        )
    elif "snorkel" in arms[first_weak]:
        snorkel = ""
    else:
        snorkel = (
            "Snorkel's LabelModel: not installed here (a comparator only, never a dependency: "
            "`pip install --no-deps snorkel munkres`).\n\n"
        )
    lines += [
        "",
        f"{snorkel}Wall time {wall:.0f} s{' in all' if sources else ''} on {platform.machine()}, {os.cpu_count()} CPUs.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
