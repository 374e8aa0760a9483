"""Replay the query–train cycle against a ground-truth oracle and record learning curves."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from labelwise._validation import check_positive_int
from labelwise.data.pool import Pool
from labelwise.data.schema import LabelSchema
from labelwise.evaluation.curves import area_under_curve, labels_to_reach, score_predictions
from labelwise.loop import ActiveLearningLoop
from labelwise.simulation.oracle import SimulatedOracle
from labelwise.stopping.criteria import StoppingCriterion
from labelwise.strategies.base import QueryStrategy

RANDOM = "random"


@dataclass(frozen=True)
class SimulationConfig:
    """How a simulation runs.

    Attributes
    ----------
    init_size : int
        Random seed-set size (the same seed set for every strategy under one seed).
    batch_size : int
        Labels per query round.
    budget : int
        Total labels (seed set included) every strategy gets; learning curves and their
        area are compared over ``[init_size, budget]``.
    seeds : tuple of int
    target_fraction : float
        The target is this fraction of the full-data score (0.99 = 99%).
    continue_to_target : bool
        Run each strategy to the target: a run stops as soon as it first reaches the
        target, before the budget or past it (until the pool runs out), so labels-to-target
        is measured, not censored, and no run labels on once it is there. A run stopped
        before the budget keeps its last score to the budget in the summary's final score
        and AULC (it stopped labeling there), a floor on what more labels would give.
    n_jobs : int
        Runs (strategy × seed) in parallel processes.
    start_random_share : float in [0, 1]
        For arms with a cold start: this share of the seed set is drawn at random under
        the seed, the rest chosen by the cold start. A deterministic cold start (zero-shot)
        with a deterministic strategy (margin) otherwise repeats one run under every seed
        (sd 0); with a share each seed is a different draw. Arms without a cold start
        already draw their whole seed set at random.
    """

    init_size: int = 150
    batch_size: int = 100
    budget: int = 5000
    seeds: tuple[int, ...] = (0, 1, 2)
    target_fraction: float = 0.99
    continue_to_target: bool = False
    n_jobs: int = 1
    start_random_share: float = 0.0

    def validate(self, n_pool: int) -> None:
        for name in ("init_size", "batch_size", "budget", "n_jobs"):
            check_positive_int(getattr(self, name), name, "SimulationConfig")
        if self.init_size > min(self.budget, n_pool):
            raise ValueError(
                f"init_size ({self.init_size}) must not exceed the budget ({self.budget}) "
                f"or the pool ({n_pool})."
            )
        if not self.seeds:
            raise ValueError("SimulationConfig needs at least one seed.")
        if not 0 < self.target_fraction <= 1:
            raise ValueError(f"target_fraction must be in (0, 1]. Got {self.target_fraction}.")
        if not 0 <= self.start_random_share <= 1:
            raise ValueError(
                f"start_random_share must be in [0, 1]. Got {self.start_random_share}."
            )


@dataclass(frozen=True)
class Arm:
    """One configuration to simulate: a strategy, optionally with its own learner and cold start.

    Attributes
    ----------
    strategy : QueryStrategy
    learner : scikit-learn classifier, optional
        Replaces the simulation's default learner for this arm (e.g. a ``Committee`` for
        committee strategies, or a ``SelfTrainingClassifier``).
    cold_start : object with ``select(pool, n, *, random_state) -> Query``, optional
        Picks the seed set (e.g. ``RepresentativeSeedSet``); default: the random seed set
        shared by every arm under the same seed.
    """

    strategy: QueryStrategy
    learner: Any = None
    cold_start: Any = None


@dataclass(frozen=True)
class CurvePoint:
    """One evaluation of one run: a point of a learning curve."""

    strategy: str
    seed: int
    n_labels: int
    score: float
    query_seconds: float
    fit_seconds: float


@dataclass(frozen=True)
class StrategySummary:
    """One row of the summary table (means and standard deviations over seeds)."""

    strategy: str
    final_score_mean: float
    final_score_sd: float
    aulc_mean: float
    aulc_sd: float
    labels_to_target: list[int | None]
    labels_to_target_mean: float | None
    ratio_random_over_strategy: float | None
    ratio_is_lower_bound: bool
    median_query_seconds: float

    def labels_to_target_text(self) -> tuple[str, str]:
        """(mean, per seed) as display text; ``not reached`` where a run never got there."""
        mean = self.labels_to_target_mean
        per_seed = ", ".join("—" if h is None else f"{h:,}" for h in self.labels_to_target)
        return ("not reached" if mean is None else f"{mean:,.0f}"), per_seed

    def ratio_text(self) -> str:
        """Random ÷ strategy as display text: ``5.80×``, ``> 1.20×`` (random censored) or ``—``."""
        ratio = self.ratio_random_over_strategy
        if ratio is None:
            return "—"
        return f"> {ratio:.2f}×" if self.ratio_is_lower_bound else f"{ratio:.2f}×"


@dataclass
class SimulationResult:
    """Curves of every run, the full-data reference and the per-strategy summary."""

    config: SimulationConfig
    metric: str
    full_data_score: float
    target_score: float
    curves: list[CurvePoint] = field(default_factory=list)
    stops: list[StopEvent] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)

    def curve(self, strategy: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
        pts = [p for p in self.curves if p.strategy == strategy and p.seed == seed]
        return np.array([p.n_labels for p in pts]), np.array([p.score for p in pts])

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(p.strategy for p in self.curves))

    def summary(self) -> list[StrategySummary]:
        cfg = self.config
        rows = []
        reached: dict[str, float | None] = {}
        # Labels random is known to need at least: exact where it reached the target,
        # else more than the last label count it was evaluated at.
        random_floor: float | None = None
        per_strategy: dict[str, dict[str, Any]] = {}
        for name in self.strategies:
            finals, aulcs, hits = [], [], []
            for seed in cfg.seeds:
                x, y = self.curve(name, seed)
                if cfg.continue_to_target and x[-1] < cfg.budget and y[-1] >= self.target_score:
                    # Stopped at the target: its last score holds to the budget.
                    x, y = np.append(x, cfg.budget), np.append(y, y[-1])
                within = x <= cfg.budget
                finals.append(float(y[within][-1]))
                aulcs.append(area_under_curve(x, y, start=cfg.init_size, stop=cfg.budget))
                hits.append(labels_to_reach(x, y, self.target_score))
            mean_hit = None if any(h is None for h in hits) else float(np.mean(hits))  # type: ignore[arg-type]
            reached[name] = mean_hit
            if name == RANDOM:
                last = [int(self.curve(name, seed)[0][-1]) for seed in cfg.seeds]
                random_floor = float(
                    np.mean([h if h is not None else n for h, n in zip(hits, last, strict=True)])
                )
            query_times = [
                p.query_seconds for p in self.curves if p.strategy == name and p.query_seconds > 0
            ]
            per_strategy[name] = {
                "finals": finals,
                "aulcs": aulcs,
                "hits": hits,
                "query": float(np.median(query_times)) if query_times else 0.0,
            }
        random_hit = reached.get(RANDOM)
        for name, data in per_strategy.items():
            ratio, lower_bound = None, False
            strategy_hit = reached[name]
            if strategy_hit is not None and random_hit is not None:
                ratio = random_hit / strategy_hit
            elif strategy_hit is not None and random_floor is not None:
                ratio, lower_bound = random_floor / strategy_hit, True
            rows.append(
                StrategySummary(
                    strategy=name,
                    final_score_mean=float(np.mean(data["finals"])),
                    final_score_sd=float(np.std(data["finals"])),
                    aulc_mean=float(np.mean(data["aulcs"])),
                    aulc_sd=float(np.std(data["aulcs"])),
                    labels_to_target=data["hits"],
                    labels_to_target_mean=reached[name],
                    ratio_random_over_strategy=ratio,
                    ratio_is_lower_bound=lower_bound,
                    median_query_seconds=data["query"],
                )
            )
        return rows

    def stopping_summary(self) -> list[StoppingSummary]:
        """For each strategy and criterion: how often it fired, at how many labels, and the score there."""
        criteria = list(dict.fromkeys([*self.criteria, *(e.criterion for e in self.stops)]))
        rows = []
        for name in self.strategies:
            for criterion in criteria:
                events = [e for e in self.stops if e.strategy == name and e.criterion == criterion]
                rows.append(
                    StoppingSummary(
                        strategy=name,
                        criterion=criterion,
                        runs_fired=len(events),
                        runs=len(self.config.seeds),
                        n_labels_mean=float(np.mean([e.n_labels for e in events]))
                        if events
                        else None,
                        score_mean=float(np.mean([e.score for e in events])) if events else None,
                    )
                )
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "metric": self.metric,
            "full_data_score": self.full_data_score,
            "target_score": self.target_score,
            "summary": [asdict(s) for s in self.summary()],
            "stopping": [asdict(s) for s in self.stopping_summary()],
            "stops": [asdict(e) for e in self.stops],
            "curves": [asdict(p) for p in self.curves],
        }


@dataclass(frozen=True)
class StopEvent:
    """The first round at which a stopping criterion fired in one run."""

    strategy: str
    seed: int
    criterion: str
    n_labels: int
    score: float


@dataclass(frozen=True)
class StoppingSummary:
    """Where a criterion would have stopped a strategy: means over the runs where it fired."""

    strategy: str
    criterion: str
    runs_fired: int
    runs: int
    n_labels_mean: float | None
    score_mean: float | None


StepCallback = Callable[[CurvePoint], None]


def run_simulation(
    pool: Pool,
    pool_labels: Sequence[Any],
    test_features: Any,
    test_labels: Sequence[Any],
    *,
    schema: LabelSchema,
    learner: Any,
    strategies: Mapping[str, QueryStrategy | Arm],
    config: SimulationConfig,
    stopping: Sequence[StoppingCriterion] = (),
    on_step: StepCallback | None = None,
) -> SimulationResult:
    """Simulate active learning for each strategy and seed; see :class:`SimulationConfig`.

    Parameters
    ----------
    pool : Pool
        The unlabeled pool (its true labels are hidden behind a :class:`SimulatedOracle`).
    pool_labels : sequence, length len(pool)
    test_features : feature matrix of shape (n_test, n_features)
        Held-out evaluation set, never queried.
    test_labels : sequence, length n_test
    schema : LabelSchema
    learner : scikit-learn classifier
        Cloned per run (e.g. ``ProbabilisticClassifier(classes=schema.classes)``).
    strategies : mapping of name to QueryStrategy or Arm
        An :class:`Arm` sets a learner or cold start of its own for that name.
    config : SimulationConfig
    stopping : sequence of StoppingCriterion
        Watched in every run without stopping it, so the result shows where each
        criterion *would* have stopped and the score there.
    on_step : callable, optional
        Called with each :class:`CurvePoint` as it is measured (as each run ends when
        ``n_jobs > 1``).

    Returns
    -------
    SimulationResult
    """
    config.validate(len(pool))
    if len(pool_labels) != len(pool):
        raise ValueError(f"{len(pool)} pool items but {len(pool_labels)} labels.")
    if not strategies:
        raise ValueError("run_simulation needs at least one strategy.")
    y_test = _truth(schema, test_labels)
    full = clone(learner).fit(pool.features, list(pool_labels))
    full_score = score_predictions(
        y_test, _predict(full, test_features, schema), multilabel=schema.multilabel
    )
    result = SimulationResult(
        config=config,
        metric="micro_f1" if schema.multilabel else "accuracy",
        full_data_score=full_score,
        target_score=config.target_fraction * full_score,
        criteria=[repr(c) for c in stopping],
    )
    arms = {name: s if isinstance(s, Arm) else Arm(s) for name, s in strategies.items()}
    jobs = [(name, seed) for seed in config.seeds for name in arms]
    common = {
        "pool": pool,
        "pool_labels": pool_labels,
        "test_features": test_features,
        "y_test": y_test,
        "schema": schema,
        "learner": learner,
        "config": config,
        "target": result.target_score,
        "stopping": stopping,
    }
    if config.n_jobs == 1:
        for name, seed in jobs:
            points, stops = _run_one(name, arms[name], seed, on_step=on_step, **common)
            result.curves.extend(points)
            result.stops.extend(stops)
    else:
        runs = Parallel(n_jobs=config.n_jobs, return_as="generator_unordered")(
            delayed(_run_one)(name, arms[name], seed, on_step=None, **common) for name, seed in jobs
        )
        for points, stops in runs:
            for point in points:
                if on_step is not None:
                    on_step(point)
            result.curves.extend(points)
            result.stops.extend(stops)
        order = {job: i for i, job in enumerate(jobs)}
        result.curves.sort(key=lambda p: (order[(p.strategy, p.seed)], p.n_labels))
        result.stops.sort(key=lambda e: (order[(e.strategy, e.seed)], e.n_labels))
    return result


def seed_set(n_pool: int, size: int, seed: int) -> np.ndarray:
    """The random seed set of one simulation seed, shared by every strategy."""
    return np.random.default_rng([seed, 0x5EED]).choice(n_pool, size=size, replace=False)


def mixed_seed_set(
    pool: Pool, cold_start: Any, size: int, seed: int, random_share: float
) -> np.ndarray:
    """A seed set of ``size`` positions: ``round(random_share * size)`` drawn at random under
    ``seed`` (from the items the cold start did not pick), the rest the cold start's picks."""
    n_random = int(round(random_share * size))
    chosen = (
        np.asarray(
            cold_start.select(pool, size - n_random, random_state=seed).indices, dtype=np.intp
        )
        if size > n_random
        else np.zeros(0, dtype=np.intp)
    )
    if n_random == 0:
        return chosen
    rest = np.setdiff1d(np.arange(len(pool), dtype=np.intp), chosen)
    extra = np.random.default_rng([seed, 0x5EED, 1]).choice(rest, size=n_random, replace=False)
    return np.concatenate([chosen, extra.astype(np.intp)])


def _truth(schema: LabelSchema, labels: Sequence[Any]) -> Any:
    return (
        schema.encode(list(labels)) if schema.multilabel else np.asarray(list(labels), dtype=object)
    )


def _predict(model: Any, features: Any, schema: LabelSchema) -> Any:
    pred = model.predict(features)
    return pred if schema.multilabel else np.asarray(pred, dtype=object)


def _run_one(
    name: str,
    arm: Arm,
    seed: int,
    *,
    pool: Pool,
    pool_labels: Sequence[Any],
    test_features: Any,
    y_test: Any,
    schema: LabelSchema,
    learner: Any,
    config: SimulationConfig,
    target: float,
    stopping: Sequence[StoppingCriterion],
    on_step: StepCallback | None,
) -> tuple[list[CurvePoint], list[StopEvent]]:
    oracle = SimulatedOracle(pool_labels)
    loop = ActiveLearningLoop(
        learner if arm.learner is None else arm.learner,
        # A copy per run: strategies that keep state between queries (incremental
        # rescoring, cached indexes) must not carry it from one run into the next.
        copy.deepcopy(arm.strategy),
        schema=schema,
        batch_size=config.batch_size,
        random_state=seed,
        stopping=[copy.deepcopy(criterion) for criterion in stopping],
    )
    if arm.cold_start is None:
        initial = seed_set(len(pool), config.init_size, seed)
    else:
        initial = mixed_seed_set(
            pool, arm.cold_start, config.init_size, seed, config.start_random_share
        )
    started = time.perf_counter()
    state = loop.start(pool, initial, oracle.label(initial))
    fit_seconds = time.perf_counter() - started
    points: list[CurvePoint] = []
    stops: list[StopEvent] = []
    query_seconds = 0.0
    while True:
        model = loop.fitted_learner(pool, state)
        score = score_predictions(
            y_test, _predict(model, test_features, schema), multilabel=schema.multilabel
        )
        point = CurvePoint(name, seed, state.n_labeled, score, query_seconds, fit_seconds)
        points.append(point)
        already = len(loop.fired_) if hasattr(loop, "fired_") else 0
        loop.stop_reason(pool, state)
        for criterion in list(loop.fired_)[already:]:
            stops.append(StopEvent(name, seed, criterion, state.n_labeled, score))
        if on_step is not None:
            on_step(point)
        remaining = len(state.unlabeled())
        if remaining == 0 or (config.continue_to_target and score >= target):
            break
        if state.n_labeled >= config.budget:
            if not config.continue_to_target:
                break
            n = config.batch_size
        else:
            n = min(config.batch_size, config.budget - state.n_labeled)
        started = time.perf_counter()
        query = loop.query(pool, state, n)
        query_seconds = time.perf_counter() - started
        started = time.perf_counter()
        state = loop.teach(pool, state, query.indices, oracle.label(query.indices))
        fit_seconds = time.perf_counter() - started
    return points, stops
