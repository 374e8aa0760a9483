"""weak_supervision.py: the batch schedule and the summary's gain over active learning."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from tests.benchmarks.test_successor_models import BENCHMARKS


@pytest.fixture
def weak_supervision(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import weak_supervision

    return weak_supervision


def test_batches_grow_with_the_labels(weak_supervision):
    sizes = []
    n = weak_supervision.SEED_LABELS
    while n < 500:
        n += weak_supervision.next_batch(n)
        sizes.append(n)
    assert {50, 100, 200, 500} <= set(sizes)


def test_the_gain_is_paired_by_seed_against_the_better_baseline(weak_supervision):
    runs = {
        "active": [{50: {"accuracy": 0.5}}, {50: {"accuracy": 0.7}}],
        "active_zero_shot": [{50: {"accuracy": 0.4}}, {50: {"accuracy": 0.6}}],
        "weak+active": [
            {50: {"accuracy": 0.6, "end_model": 0.5}},
            {50: {"accuracy": 0.7, "end_model": 0.6}},
        ],
    }
    summary = weak_supervision.summarize(runs, [50])
    assert summary["arms"]["active"]["accuracy"]["50"]["mean"] == pytest.approx(0.6)
    assert summary["best_baseline"]["50"] == "active"  # 0.6 against 0.5
    gain = summary["gain"]["weak+active"]["50"]
    assert gain["mean"] == pytest.approx(0.05) and gain["sd"] == pytest.approx(0.05)
    assert summary["arms"]["weak+active"]["end_model"]["50"]["mean"] == pytest.approx(0.55)


def test_the_served_model_of_self_training_is_compared_with_the_baseline_too(
    weak_supervision,
):
    runs = {
        "active": [{50: {"accuracy": 0.5}}, {50: {"accuracy": 0.7}}],
        "weak+self": [
            {50: {"accuracy": 0.7, "served": 0.6}},
            {50: {"accuracy": 0.8, "served": 0.8}},
        ],
    }
    summary = weak_supervision.summarize(runs, [50])
    assert summary["gain"]["weak+self"]["50"]["mean"] == pytest.approx(0.15)
    assert summary["served_gain"]["weak+self"]["50"]["mean"] == pytest.approx(0.1)
    assert "served_gain" not in summary["gain"] and list(summary["served_gain"]) == ["weak+self"]


def test_a_file_assembled_before_names_the_runs_behind_it(weak_supervision):
    assembled = {"command": "python w.py --combine a.json b.json", "sources": ["run a", "run b"]}
    single = {"command": "run c", "sources": []}
    assert weak_supervision.source_commands([assembled, single]) == ["run a", "run b", "run c"]


def test_fitting_on_the_used_columns_finds_the_same_model(weak_supervision):
    rng = np.random.default_rng(0)
    X = sparse.random(60, 400, density=0.02, format="csr", random_state=1)
    X = sparse.hstack([sparse.csr_matrix(rng.normal(size=(60, 5))), X]).tocsr()
    y = rng.integers(0, 3, 60)
    train = np.arange(20)
    cut = weak_supervision.UsedColumns(C=10.0).fit(X[train], y[train])
    full = LogisticRegression(C=10.0, max_iter=1000).fit(X[train], y[train])
    assert cut.columns_.size < X.shape[1]
    np.testing.assert_allclose(cut.predict_proba(X), full.predict_proba(X), atol=1e-4)


class _TwoIntents:
    """What Rules reads of Data: two intents along two directions, names included."""

    rules = "suggested"
    given: list[object] = []
    classes = ["balance", "transfer"]
    texts = ["my balance", "balance now", "show balance", "transfer money", "send a transfer"]
    test_texts = texts
    y = np.array([0, 0, 0, 1, 1])

    def embed(self, texts):
        return np.array([[1.0, 0.0] if "balance" in t else [0.0, 1.0] for t in texts])

    @property
    def vectors(self):
        return self.embed(self.texts)

    test_vectors = vectors

    def gold(self, positions):
        return {int(i): self.classes[self.y[i]] for i in positions}


def test_reviews_cost_one_action_each_and_the_person_accepts_precise_functions(
    weak_supervision,
):
    data = _TwoIntents()
    rules = weak_supervision.Rules(data)
    assert rules.L.n_functions == 0
    spent = rules.review(data.gold([0, 3]), budget=1)
    # The best-ranked suggestion is the zero-shot function over both names: right on
    # every item it fires on, so accepted.
    assert spent == 1 and rules.reviews == 1
    assert [f.name for f in rules.functions] == ["zero_shot"]
    assert rules.L.covered().any()
    # Reviewed suggestions are not offered again; with nothing left, nothing is spent.
    while rules.review(data.gold([0, 3]), budget=5):
        pass
    assert rules.review(data.gold([0, 3]), budget=5) == 0
    assert rules.reviews == len(rules.reviewed)


def test_combined_runs_join_seeds_of_several_files_and_extras_run_apart(weak_supervision):
    first = {
        "first_seed": 0,
        "runs": {
            "active": [{"50": {"accuracy": 0.1}}, {"50": {"accuracy": 0.2}}],
            "weak+active_cv": [{"50": {"accuracy": 0.3}}, {"50": {"accuracy": 0.4}}],
        },
    }
    second = {
        "first_seed": 2,
        "runs": {
            "weak+active_cv": [{"50": {"accuracy": 0.5}}],
            "active": [{"50": {"accuracy": 0.6}}],
        },
    }
    extras = {
        "first_seed": 1,
        "runs": {"weak+active_cv": [{"50": {"accuracy": 0.4, "majority": 0.7}}]},
    }
    runs, seeds = weak_supervision.combine_runs([first, second, extras])
    assert seeds == [0, 1, 2]
    assert list(runs) == ["active", "weak+active_cv"]
    assert [r[50]["accuracy"] for r in runs["weak+active_cv"]] == [0.3, 0.4, 0.5]
    assert runs["weak+active_cv"][1] == {50: {"accuracy": 0.4, "majority": 0.7}}
    with pytest.raises(SystemExit, match="lack"):
        weak_supervision.combine_runs(
            [first, {"first_seed": 2, "runs": {"weak+active_cv": [{"50": {"accuracy": 0.5}}]}}]
        )


def test_classes_a_model_learned_from_weak_labels_are_not_flattened_as_unseen(
    weak_supervision,
):
    """Only what the end model was trained on counts as seen: a class it learned from the
    rules' labels keeps its probability; one it never learned gets the Good-Turing share
    of the human labels."""

    class ThreeClasses:
        classes = ["a", "b", "c"]
        y = np.array([0, 0, 1, 2])

    class Learned:
        def __init__(self, *classes):
            self.classes_ = np.array(classes)

    human = np.array([0, 2])  # people labeled a and b, once each: half are singletons
    proba = np.array([[0.3, 0.2, 0.5]])
    open_ = weak_supervision.Data.open_to_unseen
    # c was learned from the rules' labels: it keeps its 0.5.
    np.testing.assert_allclose(open_(ThreeClasses(), proba, human, Learned(0, 1, 2)), proba)
    # Never learned: c gets the unseen share (half, capped at the unseen third of classes).
    never = np.array([[0.3, 0.7, 0.0]])
    np.testing.assert_allclose(
        open_(ThreeClasses(), never, human, Learned(0, 1)), [[0.2, 7 / 15, 1 / 3]]
    )


def _blobs(weak_supervision, rules):
    """A Data of three classes in three Gaussian blobs (120 pool items, 60 test), with
    ``rules`` given."""
    rng = np.random.default_rng(3)
    centres = np.eye(3) * 2.0
    y, y_test = np.arange(120) % 3, np.arange(60) % 3
    data = object.__new__(weak_supervision.Data)
    data.classes = ["a", "b", "c"]
    data.y, data.y_test = y, y_test
    data.X = centres[y] + rng.normal(size=(120, 3))
    data.X_test = centres[y_test] + rng.normal(size=(60, 3))
    # Every sixth item names the next class: a rule for that name votes wrongly on it.
    data.texts = [f"{data.classes[(k + (i % 6 == 0)) % 3]} {i}" for i, k in enumerate(y)]
    data.test_texts = [f"{data.classes[k]} {i}" for i, k in enumerate(y_test)]
    data.vectors, data.test_vectors = data.X, data.X_test
    data.rules, data.given = "given", rules
    return data


def test_the_product_retrain_ranks_and_trains_as_the_benchmark_arms_do(weak_supervision):
    from labelwise.weak import KeywordFunction

    rules = [KeywordFunction(f"kw_{name}", name, [name]) for name in ("a", "b", "c")]
    data = _blobs(weak_supervision, rules)
    run = weak_supervision.run_arm
    checkpoints = [20, 30, 40]
    alone = run("active", data, 0, checkpoints, False)
    server = run("server", data, 0, checkpoints, False)
    assert server == alone
    self_training = run("weak+self", data, 0, checkpoints, False)
    product = run("server+self", data, 0, checkpoints, False)
    assert {c: product[c]["accuracy"] for c in checkpoints} == {
        c: self_training[c]["served"] for c in checkpoints
    }
