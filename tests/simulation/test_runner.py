"""Simulation: a short real run on a CLINC150 slice with TF-IDF, and the summary arithmetic."""

import json
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from labelwise.data import LabelSchema, Pool
from labelwise.features import TfidfFeaturizer
from labelwise.learners import ProbabilisticClassifier
from labelwise.simulation import (
    CurvePoint,
    SimulatedOracle,
    SimulationConfig,
    SimulationResult,
    run_simulation,
    seed_set,
    write_report,
)
from labelwise.simulation.runner import mixed_seed_set
from labelwise.stopping import LabelBudget, StabilizingPredictions
from labelwise.strategies import MarginSampling, Query, RandomSampling


def _simulate_slice(clinc_slice, strategies, config, **kwargs):
    """``run_simulation`` on the CLINC slice: TF-IDF, logistic regression."""
    train, test = clinc_slice
    featurizer = TfidfFeaturizer(max_features=3000).fit(train.texts)
    schema = LabelSchema(train.classes())
    return run_simulation(
        Pool(featurizer.transform(train.texts), train.texts),
        train.labels,
        featurizer.transform(test.texts),
        test.labels,
        schema=schema,
        learner=ProbabilisticClassifier(
            LogisticRegression(C=10, max_iter=1000), classes=schema.classes
        ),
        strategies=strategies,
        config=config,
        **kwargs,
    )


@pytest.fixture(scope="module")
def clinc_result(clinc_slice):
    steps = []
    result = _simulate_slice(
        clinc_slice,
        {"margin": MarginSampling(), "random": RandomSampling()},
        SimulationConfig(
            init_size=24, batch_size=24, budget=240, seeds=(0, 1), continue_to_target=True
        ),
        stopping=[
            LabelBudget(120),
            StabilizingPredictions(threshold=0.8, window=2, stop_set_size=300),
        ],
        on_step=steps.append,
    )
    return result, steps


def test_short_clinc_simulation_records_every_round(clinc_result):
    result, steps = clinc_result
    assert result.metric == "accuracy"
    assert 0.8 < result.full_data_score <= 1.0
    assert result.target_score == pytest.approx(0.99 * result.full_data_score)
    assert len(steps) == len(result.curves)
    for strategy in ("margin", "random"):
        for seed in (0, 1):
            x, y = result.curve(strategy, seed)
            assert x[0] == 24
            assert (np.diff(x) == 24).all()
            assert ((0 <= y) & (y <= 1)).all()
            # continue_to_target: every run ends where it first reaches the target,
            # before the budget (240) or past it.
            assert y[-1] >= result.target_score
            assert (y[:-1] < result.target_score).all()


def test_without_continue_to_target_runs_end_at_the_budget(clinc_slice):
    result = _simulate_slice(
        clinc_slice,
        {"margin": MarginSampling()},
        SimulationConfig(init_size=24, batch_size=24, budget=240, seeds=(0,)),
    )
    x, y = result.curve("margin", 0)
    assert x[-1] == 240
    assert (y >= result.target_score).sum() > 1  # it went on past the target


def test_strategies_share_the_seed_set_and_learning_helps(clinc_result):
    result, _ = clinc_result
    for seed in (0, 1):
        first = {s: result.curve(s, seed)[1][0] for s in ("margin", "random")}
        assert first["margin"] == first["random"]  # same seed set, same first model
        x, y = result.curve("margin", seed)
        assert y[-1] > y[0] + 0.2


def test_summary_ratio_and_target_are_consistent(clinc_result):
    result, _ = clinc_result
    rows = {row.strategy: row for row in result.summary()}
    margin, random = rows["margin"], rows["random"]
    for row in (margin, random):
        # continue_to_target: every run reaches the target, so nothing is censored.
        assert all(h is not None for h in row.labels_to_target)
        assert row.labels_to_target_mean == pytest.approx(np.mean(row.labels_to_target))
    assert margin.ratio_random_over_strategy == pytest.approx(
        random.labels_to_target_mean / margin.labels_to_target_mean
    )
    assert random.ratio_random_over_strategy == pytest.approx(1.0)
    # On this slice margin sampling reaches the target with fewer labels than random.
    assert margin.labels_to_target_mean < random.labels_to_target_mean


def test_report_files(clinc_result, tmp_path):
    result, _ = clinc_result
    paths = write_report(result, tmp_path / "out")
    data = json.loads(paths["curves_json"].read_text())
    assert {row["strategy"] for row in data["summary"]} == {"margin", "random"}
    assert len(data["curves"]) == len(result.curves)
    assert (
        paths["curves_csv"].read_text().splitlines()[0].startswith("strategy,seed,n_labels,score")
    )
    assert paths["plot_png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def make_result(curves, budget=300, seeds=(0,)):
    config = SimulationConfig(init_size=100, batch_size=100, budget=budget, seeds=seeds)
    points = [CurvePoint(s, seed, n, acc, 0.0, 0.0) for s, seed, n, acc in curves]
    return SimulationResult(
        config=config, metric="accuracy", full_data_score=1.0, target_score=0.9, curves=points
    )


def test_a_run_stopped_at_the_target_keeps_its_last_score_to_the_budget():
    points = [
        ("margin", 0, 100, 0.5),
        ("margin", 0, 200, 0.9),  # the target: the run stopped here
        ("random", 0, 100, 0.5),
        ("random", 0, 200, 0.7),
        ("random", 0, 300, 0.8),
        ("random", 0, 400, 0.9),
    ]
    config = SimulationConfig(
        init_size=100, batch_size=100, budget=300, seeds=(0,), continue_to_target=True
    )
    result = SimulationResult(
        config=config,
        metric="accuracy",
        full_data_score=1.0,
        target_score=0.9,
        curves=[CurvePoint(s, seed, n, acc, 0.0, 0.0) for s, seed, n, acc in points],
    )
    rows = {r.strategy: r for r in result.summary()}
    margin = rows["margin"]
    assert margin.final_score_mean == 0.9
    # Trapezoids over [100, 300]: (0.5 + 0.9) / 2 * 100 + 0.9 * 100, divided by 200.
    assert margin.aulc_mean == pytest.approx((70 + 90) / 200)
    assert margin.labels_to_target == [200]
    assert rows["random"].final_score_mean == 0.8  # past the budget is not "final"


def test_summary_known_answer():
    result = make_result(
        [
            ("margin", 0, 100, 0.5),
            ("margin", 0, 200, 0.9),
            ("margin", 0, 300, 0.95),
            ("random", 0, 100, 0.5),
            ("random", 0, 200, 0.7),
            ("random", 0, 300, 0.8),
            ("random", 0, 400, 0.9),
        ]
    )
    rows = {r.strategy: r for r in result.summary()}
    assert rows["margin"].labels_to_target == [200]
    assert rows["random"].labels_to_target == [400]
    assert rows["margin"].ratio_random_over_strategy == 2.0
    # final score and area only look inside the budget (300), not at random's extension.
    assert rows["random"].final_score_mean == 0.8
    assert rows["margin"].aulc_mean == pytest.approx((0.7 + 0.925) / 2)


def test_summary_when_random_never_reaches_target():
    result = make_result([("margin", 0, 100, 0.95), ("random", 0, 100, 0.5)])
    rows = {r.strategy: r for r in result.summary()}
    assert rows["random"].labels_to_target_mean is None
    assert rows["margin"].labels_to_target_text() == ("100", "100")
    assert rows["random"].labels_to_target_text() == ("not reached", "—")
    # random needs more than the 100 labels it was last evaluated at: a lower bound.
    assert rows["margin"].ratio_random_over_strategy == 1.0
    assert rows["margin"].ratio_text() == "> 1.00×"
    assert rows["random"].ratio_text() == "—"


def test_config_is_validated():
    pool = Pool(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="init_size"):
        run_simulation(
            pool,
            ["a"] * 10,
            np.zeros((2, 2)),
            ["a", "a"],
            schema=LabelSchema(["a"]),
            learner=None,
            strategies={"r": RandomSampling()},
            config=SimulationConfig(init_size=20, budget=30),
        )
    with pytest.raises(ValueError, match="'batch_size' parameter of SimulationConfig"):
        SimulationConfig(batch_size=0).validate(10)


def test_seed_set_is_deterministic_and_distinct():
    a = seed_set(1000, 150, 0)
    assert a.tolist() == seed_set(1000, 150, 0).tolist()
    assert np.unique(a).size == 150
    assert a.tolist() != seed_set(1000, 150, 1).tolist()


def test_simulated_oracle_counts_labels():
    oracle = SimulatedOracle(["a", "b", None])
    assert oracle.label(np.array([2, 0])) == [None, "a"]
    assert oracle.n_queried_ == 2


def test_parallel_runs_match_sequential(clinc_slice):
    train, test = clinc_slice
    featurizer = TfidfFeaturizer(max_features=2000).fit(train.texts)
    schema = LabelSchema(train.classes())
    kwargs: dict[str, Any] = {
        "schema": schema,
        "learner": ProbabilisticClassifier(
            LogisticRegression(C=10, max_iter=500), classes=schema.classes
        ),
        "strategies": {"margin": MarginSampling(), "random": RandomSampling()},
    }
    args = (
        Pool(featurizer.transform(train.texts)),
        train.labels,
        featurizer.transform(test.texts),
        test.labels,
    )
    base: dict[str, Any] = {"init_size": 24, "batch_size": 48, "budget": 120, "seeds": (0,)}
    seq = run_simulation(*args, config=SimulationConfig(**base), **kwargs)
    par = run_simulation(*args, config=SimulationConfig(**base, n_jobs=2), **kwargs)
    assert [(p.strategy, p.n_labels, p.score) for p in seq.curves] == [
        (p.strategy, p.n_labels, p.score) for p in par.curves
    ]


def test_ratio_is_a_lower_bound_when_random_is_censored():
    result = make_result(
        [
            ("margin", 0, 100, 0.5),
            ("margin", 0, 200, 0.95),
            ("margin", 0, 300, 0.95),
            ("random", 0, 100, 0.5),
            ("random", 0, 200, 0.6),
            ("random", 0, 300, 0.7),
        ]
    )
    rows = {r.strategy: r for r in result.summary()}
    assert rows["margin"].ratio_random_over_strategy == 1.5  # random needs > 300, margin 200
    assert rows["margin"].ratio_is_lower_bound
    assert rows["random"].ratio_random_over_strategy is None


def test_stopping_criteria_are_watched_without_stopping_the_run(clinc_result):
    result, _ = clinc_result
    budget_events = [e for e in result.stops if e.criterion == "LabelBudget(max_labels=120)"]
    assert len(budget_events) == 4  # 2 strategies x 2 seeds, each at exactly 120 labels
    assert {e.n_labels for e in budget_events} == {120}
    for event in budget_events:
        x, y = result.curve(event.strategy, event.seed)
        assert event.score == y[x == 120][0]
        assert x[-1] > 120  # the run went on past the criterion
    rows = result.stopping_summary()
    assert len(rows) == 2 * len({e.criterion for e in result.stops})
    budget_rows = [r for r in rows if r.criterion.startswith("LabelBudget")]
    assert all(r.runs_fired == r.runs == 2 and r.n_labels_mean == 120 for r in budget_rows)
    assert "stopping" in result.to_dict()


class _FirstItems:
    """A deterministic cold start: always the first ``n`` positions."""

    def select(self, pool, n, *, random_state=None):  # noqa: ARG002 (the cold-start protocol)
        return Query(indices=np.arange(n, dtype=np.intp), scores=np.zeros(n), strategy="first")


def test_a_random_share_makes_each_seed_a_different_draw_of_a_deterministic_start():
    pool = Pool(np.zeros((50, 2)))
    same = [mixed_seed_set(pool, _FirstItems(), 10, seed, 0.0) for seed in (0, 1)]
    assert same[0].tolist() == same[1].tolist() == list(range(10))
    mixed = [mixed_seed_set(pool, _FirstItems(), 10, seed, 0.3) for seed in (0, 1, 0)]
    for picks in mixed:
        assert len(picks) == len(set(picks.tolist())) == 10
        assert picks[:7].tolist() == list(range(7))  # the cold start's share
        assert (picks[7:] >= 7).all()  # drawn from the items it did not pick
    assert mixed[0].tolist() != mixed[1].tolist()
    assert mixed[0].tolist() == mixed[2].tolist()  # deterministic under the seed
    assert sorted(mixed_seed_set(pool, _FirstItems(), 10, 3, 1.0).tolist()) != list(range(10))


def test_start_random_share_is_validated():
    with pytest.raises(ValueError, match="start_random_share"):
        SimulationConfig(start_random_share=1.5).validate(1000)
