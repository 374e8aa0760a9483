"""The loop engine: index bookkeeping, validation, determinism and save/resume."""

import numpy as np
import pytest

from labelwise.data import LabelSchema, LabelSource, Pool
from labelwise.exceptions import StateError
from labelwise.learners import ProbabilisticClassifier
from labelwise.loop import ActiveLearningLoop, LoopState
from labelwise.simulation import SimulatedOracle
from labelwise.strategies import MarginSampling, RandomSampling
from tests.scoring.test_base import RecordingScorer

SCHEMA = LabelSchema(["a", "b", "c", "d"])


@pytest.fixture()
def blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=4.0, size=(4, 5))
    y_codes = rng.integers(0, 4, size=300)
    X = centers[y_codes] + rng.normal(size=(300, 5))
    return Pool(X), [SCHEMA.classes[c] for c in y_codes]


def make_loop(strategy=None, seed=3, batch_size=10):
    learner = ProbabilisticClassifier(classes=SCHEMA.classes)
    return ActiveLearningLoop(
        learner,
        strategy or MarginSampling(),
        schema=SCHEMA,
        batch_size=batch_size,
        random_state=seed,
    )


def run(loop, pool, labels, rounds):
    oracle = SimulatedOracle(labels)
    state = loop.start(pool, np.arange(8), oracle.label(np.arange(8)))
    queries = []
    for _ in range(rounds):
        q = loop.query(pool, state)
        queries.append(q.indices.tolist())
        state = loop.teach(pool, state, q.indices, oracle.label(q.indices))
    return state, queries


def test_start_with_seed_set_fits_and_keeps_bookkeeping(blobs):
    pool, labels = blobs
    loop = make_loop()
    state = loop.start(pool, [5, 1, 9], [labels[5], labels[1], labels[9]])
    assert state.labeled.tolist() == [5, 1, 9]
    assert SCHEMA.decode(state.labels) == [labels[5], labels[1], labels[9]]
    assert state.sources.tolist() == ["human"] * 3
    assert state.iteration == 0
    assert len(state.unlabeled()) == 297
    assert loop.learner_ is not None
    assert loop.learner_.predict_proba(pool.features[:2]).shape == (2, 4)


def test_query_returns_unlabeled_batch_and_teach_grows_state(blobs):
    pool, labels = blobs
    state, queries = run(make_loop(), pool, labels, rounds=3)
    assert state.n_labeled == 8 + 30
    assert state.iteration == 3
    flat = [i for q in queries for i in q]
    assert len(set(flat)) == 30 and not set(flat) & set(range(8))


def test_same_seed_same_queries_other_seed_differs(blobs):
    pool, labels = blobs
    _, first = run(make_loop(RandomSampling(), seed=1), pool, labels, 3)
    _, again = run(make_loop(RandomSampling(), seed=1), pool, labels, 3)
    _, other = run(make_loop(RandomSampling(), seed=2), pool, labels, 3)
    assert first == again
    assert first != other


def test_save_and_resume_round_trip(blobs, tmp_path):
    pool, labels = blobs
    loop = make_loop()
    state, _ = run(loop, pool, labels, rounds=2)
    state = loop.ignore(pool, state, [200])
    state.save(tmp_path / "state", schema=SCHEMA)
    assert not list((tmp_path / "state").glob("*.pkl"))

    loaded, schema = LoopState.load(tmp_path / "state")
    assert schema == SCHEMA
    for name in ("labeled", "labels", "sources", "ignored"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(state, name))
    assert (loaded.n_pool, loaded.iteration, loaded.seed) == (
        state.n_pool,
        state.iteration,
        state.seed,
    )
    assert loaded.fingerprint() == state.fingerprint()

    # A fresh loop resumed from disk asks exactly what the original would ask next.
    resumed = make_loop()
    assert resumed.query(pool, loaded).indices.tolist() == loop.query(pool, state).indices.tolist()


def test_load_missing_state_is_a_clear_error(tmp_path):
    with pytest.raises(StateError, match="missing state.json"):
        LoopState.load(tmp_path)


def test_teach_refuses_bad_input_naming_values(blobs):
    pool, labels = blobs
    loop = make_loop()
    state = loop.start(pool, [0, 1], [labels[0], labels[1]])
    with pytest.raises(StateError, match=r"already labeled or ignored"):
        loop.teach(pool, state, [1, 2], [labels[1], labels[2]])
    with pytest.raises(ValueError, match=r"Repeated: \[3\]"):
        loop.teach(pool, state, [3, 3], ["a", "a"])
    with pytest.raises(StateError, match="2 indices but 1 labels"):
        loop.teach(pool, state, [3, 4], ["a"])
    with pytest.raises(ValueError, match=r"Out of range: \[300\]"):
        loop.teach(pool, state, [300], ["a"])
    with pytest.raises(StateError, match="Unknown label 'zebra'"):
        loop.teach(pool, state, [3], ["zebra"])
    with pytest.raises(StateError, match="pool of 300 items; this pool has 5"):
        loop.teach(Pool(np.zeros((5, 5))), state, [3], ["a"])


def test_none_label_ignores_the_item(blobs):
    pool, labels = blobs
    loop = make_loop()
    state = loop.start(pool, [0, 1], [labels[0], labels[1]])
    state = loop.teach(pool, state, [2, 3], [None, "b"])
    assert state.ignored.tolist() == [2]
    assert state.labeled.tolist() == [0, 1, 3]
    assert 2 not in state.unlabeled()


def test_relabel_forget_and_ignore(blobs):
    pool, labels = blobs
    loop = make_loop()
    state = loop.start(pool, [0, 1, 2], ["a", "b", "c"])
    state = loop.relabel(pool, state, [1], ["d"], source=LabelSource.RULE)
    assert SCHEMA.decode(state.labels) == ["a", "d", "c"]
    assert state.sources.tolist() == ["human", "rule", "human"]
    with pytest.raises(StateError, match=r"positions \[7\] are not labeled"):
        loop.relabel(pool, state, [7], ["a"])

    state = loop.forget(pool, state, [0])
    assert state.labeled.tolist() == [1, 2]
    assert 0 in state.unlabeled()

    state = loop.ignore(pool, state, [2, 5])
    assert state.labeled.tolist() == [1]
    assert sorted(state.ignored.tolist()) == [2, 5]
    assert not {2, 5} & set(state.unlabeled().tolist())


def test_query_refits_when_the_model_is_stale(blobs):
    pool, labels = blobs
    loop = make_loop()
    state = loop.start(pool, np.arange(8), [labels[i] for i in range(8)])
    state = loop.teach(pool, state, [50, 51], [labels[50], labels[51]], retrain=False)
    stale = loop.learner_
    loop.query(pool, state)
    assert loop.learner_ is not stale
    assert loop._fitted_on == state.fingerprint()


def test_an_adopted_model_ranks_its_state_until_the_state_changes(blobs):
    pool, labels = blobs
    loop = make_loop()
    state = loop.start(pool, np.arange(8), [labels[i] for i in range(8)])
    # Fitted on more than the state's labels (as weak labels would add), elsewhere.
    more = np.arange(60)
    elsewhere = ProbabilisticClassifier(classes=SCHEMA.classes).fit(
        pool.rows(more), [labels[i] for i in more]
    )
    loop.adopt(elsewhere, state)
    q = loop.query(pool, state)
    assert loop.learner_ is elsewhere
    assert not set(q.indices.tolist()) & set(range(8))
    state = loop.teach(pool, state, q.indices[:2], [labels[i] for i in q.indices[:2]])
    assert loop.learner_ is not elsewhere


def test_random_sampling_needs_no_model(blobs):
    pool, _ = blobs
    loop = make_loop(RandomSampling())
    state = loop.start(pool)
    assert loop.learner_ is None
    q = loop.query(pool, state)
    assert len(q) == 10


def test_multilabel_loop(blobs):
    pool, labels = blobs
    schema = LabelSchema(["a", "b", "c", "d"], multilabel=True)
    loop = ActiveLearningLoop(
        ProbabilisticClassifier(classes=schema.classes, multilabel=True),
        MarginSampling(),
        schema=schema,
        batch_size=5,
        random_state=0,
    )
    multi = [[label, "d"] if i % 3 == 0 else [label] for i, label in enumerate(labels)]
    state = loop.start(pool, np.arange(20), multi[:20])
    assert state.labels.shape == (20, 4)
    q = loop.query(pool, state)
    state = loop.teach(pool, state, q.indices, [multi[i] for i in q.indices])
    assert state.n_labeled == 25
    assert loop.learner_.predict_proba(pool.features[:3]).shape == (3, 4)


def test_source_weights_reach_the_learner(blobs):
    pool, labels = blobs
    seen = {}

    class Recorder(ProbabilisticClassifier):
        def fit(self, X, y, sample_weight=None):
            seen["w"] = sample_weight
            return super().fit(X, y, sample_weight=sample_weight)

    loop = ActiveLearningLoop(
        Recorder(classes=SCHEMA.classes),
        MarginSampling(),
        schema=SCHEMA,
        random_state=0,
        source_weights={"rule": 0.25},
    )
    state = loop.start(pool, [0, 1], [labels[0], labels[1]])
    loop.teach(pool, state, [2, 3], [labels[2], labels[3]], source=LabelSource.RULE)
    assert seen["w"].tolist() == [1.0, 1.0, 0.25, 0.25]


def test_strategies_that_need_labels_get_them_from_the_state(blobs):
    from labelwise.strategies import ExpectedErrorReduction

    pool, labels = blobs
    loop = make_loop(ExpectedErrorReduction(n_candidates=6, n_eval=20, max_labels=2), batch_size=3)
    state = loop.start(pool, np.arange(12), labels[:12])
    q = loop.query(pool, state)
    assert len(q) == 3
    assert not set(q.indices.tolist()) & set(range(12))


def test_the_loop_s_scorer_scores_its_queries_without_changing_them(blobs):
    pool, labels = blobs
    _, plain = run(make_loop(), pool, labels, 3)
    loop = make_loop()
    loop.scorer = RecordingScorer()
    assert run(loop, pool, labels, 3)[1] == plain
    assert [call for call, _ in loop.scorer.calls] == ["top"] * 3
