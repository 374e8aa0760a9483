"""Simulate active learning for entity extraction (sequence labeling) and measure it.

The pool is a list of tokenized sentences with gold BIO tags. Every strategy starts from
the same random seed sentences under one seed; each round a fresh tagger (``clone`` of the
learner) is fit on the labeled sentences and scored by strict span F1 on the test set,
then the strategy picks the next batch. Random sampling needs no model to choose, so it is
one random order evaluated on a checkpoint grid (every batch up to the budget, then coarser
steps to the whole pool): the labels random needs to reach the target are measured, not
censored. Costs are counted in sentences *and* tokens, since a strategy that prefers long
sentences can look cheap per sentence and be dear per token.

:func:`preannotation_edits` counts what a person does to turn a model's suggested spans
into the gold spans (add, delete, relabel, move an edge), against drawing every gold span
from scratch; :func:`run_preannotation` replays that on sentences a strategy queries.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone

from labelwise._validation import check_positive_int
from labelwise.data.pool import Pool
from labelwise.data.rows import iter_rows
from labelwise.data.spans import (
    Span,
    TokenizedText,
    align_tokens,
    parse_spans,
    snap_span,
    spans_to_tags,
    tags_to_spans,
    tokenize,
)
from labelwise.evaluation.curves import area_under_curve, labels_to_reach
from labelwise.evaluation.spans import SpanLike, span_scores
from labelwise.exceptions import InputError
from labelwise.simulation.runner import RANDOM, seed_set
from labelwise.strategies.base import QueryStrategy

__all__ = [
    "EditCounts",
    "PreannotationResult",
    "SequencePoint",
    "SequenceSimulationConfig",
    "SequenceSimulationResult",
    "SequenceStrategySummary",
    "preannotation_edits",
    "random_checkpoints",
    "read_tagged_sentences",
    "run_preannotation",
    "run_sequence_simulation",
    "sentence_edits",
    "tagged_sentences",
]


# -- input ------------------------------------------------------------------------------


def tagged_sentences(
    rows: Iterable[Mapping[str, Any]],
    *,
    file: str | Path | None = None,
    lines: Sequence[int] | None = None,
    text_field: str = "text",
) -> tuple[list[TokenizedText], list[list[str]]]:
    """Tokenized sentences and their IOB2 tags from span rows (the SNIPS / WNUT17 JSONL).

    A row with ``tokens`` and ``tags`` keeps those tokens (located in the text by
    :func:`~labelwise.data.spans.align_tokens`) and tags; a row with only ``spans`` (a
    list, or the same list as a JSON string: a CSV cell) is tokenized with its span edges
    as forced boundaries, then tagged.

    Parameters
    ----------
    rows : iterable of mappings with the text and either ``tokens`` + ``tags`` or ``spans``
    file : path, optional
        Named in errors.
    lines : sequence of int, optional
        Each row's 1-based line in ``file``, for errors (default: the row's position).
    text_field : str, default "text"
        The key holding the text.

    Returns
    -------
    sentences : list of TokenizedText, length (n_rows,)
    tags : list of list of str, each as long as its sentence

    Raises
    ------
    InputError
        For a row whose text, tokens, tags or spans are unusable (file, line, field).
    """
    rows = list(rows)
    if lines is not None and len(lines) != len(rows):
        raise ValueError(f"{len(lines)} line numbers for {len(rows)} rows.")
    decoded = [_decoded_spans(row.get("spans")) for row in rows]
    # Any type the rows use is allowed: this reads a data set, not a project's schema.
    types = {
        str(tag)[2:]
        for row in rows
        for tag in _list_or_empty(row.get("tags"))
        if str(tag)[:2] in ("B-", "I-")
    } | {str(s.get("label")) for spans in decoded for s in spans if isinstance(s, dict)}
    sentences: list[TokenizedText] = []
    tags: list[list[str]] = []
    for position, row in enumerate(rows):
        line = position + 1 if lines is None else lines[position]
        text = row.get(text_field)
        if not isinstance(text, str):
            raise InputError(
                f"must be a string, got {text!r:.60}", file=file, line=line, field=text_field
            )
        if not text.strip():
            raise InputError("empty text", file=file, line=line, field=text_field)
        if row.get("tokens") is not None:
            # parse_spans checks tokens against the text and the tags as strict IOB2.
            parse_spans(
                None, text, types, tokens=row["tokens"], tags=row.get("tags"), file=file, line=line
            )
            sentences.append(align_tokens(text, list(row["tokens"])))
            tags.append([str(t) for t in row["tags"]])
        else:
            # Checked (types, overlaps, offsets) on the default tokens, then re-tokenized at
            # the given edges so an edge inside a word run is kept ("one pmnear").
            parse_spans(row.get("spans"), text, types, file=file, line=line)
            raw = [(int(s["start"]), int(s["end"]), str(s["label"])) for s in decoded[position]]
            tokenized = tokenize(text, boundaries=[e for s, t, _ in raw for e in (s, t)])
            spans = [Span(*snap_span(tokenized, s, t), kind) for s, t, kind in raw]
            sentences.append(tokenized)
            tags.append(spans_to_tags(tokenized, sorted(spans)))
    return sentences, tags


def _list_or_empty(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _decoded_spans(value: Any) -> list[Any]:
    """A row's ``spans`` as a list; a JSON string (CSV cell) decoded, anything else []
    (:func:`~labelwise.data.spans.parse_spans` reports what is wrong with it)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    return _list_or_empty(value)


def read_tagged_sentences(
    path: str | Path, *, text_field: str = "text"
) -> tuple[list[TokenizedText], list[list[str]]]:
    """:func:`tagged_sentences` of the rows of a ``.jsonl``, ``.csv``, ``.parquet`` or
    ``.conll`` file (read by :func:`~labelwise.data.rows.iter_rows`).

    Returns
    -------
    sentences : list of TokenizedText, length (n_rows,)
    tags : list of list of str

    Raises
    ------
    InputError
        For the first bad row, with the file, its line and the field; for a file with no
        record.
    """
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for row in iter_rows(path, text_field=text_field):
        if isinstance(row, InputError):
            raise row
        rows.append(row.values)
        lines.append(row.line)
    if not rows:
        raise InputError("no records found", file=path)
    return tagged_sentences(rows, file=path, lines=lines, text_field=text_field)


# -- configuration and results ----------------------------------------------------------


@dataclass(frozen=True)
class SequenceSimulationConfig:
    """How a sequence-labeling simulation runs.

    Attributes
    ----------
    init_size : int
        Random seed sentences, the same for every strategy under one seed.
    batch_size : int
        Sentences per query round.
    budget : int
        Sentences (seed set included) every active strategy gets; curves and their area
        are compared over ``[init_size, budget]``.
    seeds : tuple of int
    target_fraction : float
        The target is this fraction of the full-data span F1 (0.99 = 99%).
    random_step : int
        Checkpoint spacing of the random arm past the budget.
    random_to_target : bool
        Past the budget, stop the random arm at the first checkpoint that reaches the
        target (its cost is then measured; the rest of the grid would only cost fits).
        False evaluates the whole grid to the full pool.
    n_jobs : int
        Runs (strategy x seed) in parallel processes.
    """

    init_size: int = 100
    batch_size: int = 100
    budget: int = 2000
    seeds: tuple[int, ...] = (0, 1, 2)
    target_fraction: float = 0.99
    random_step: int = 500
    random_to_target: bool = True
    n_jobs: int = 1

    def validate(self, n_pool: int) -> None:
        owner = "SequenceSimulationConfig"
        for name in ("init_size", "batch_size", "budget", "random_step", "n_jobs"):
            check_positive_int(getattr(self, name), name, owner)
        if self.init_size > min(self.budget, n_pool):
            raise ValueError(
                f"init_size ({self.init_size}) must not exceed the budget ({self.budget}) "
                f"or the pool ({n_pool} sentences)."
            )
        if not self.seeds:
            raise ValueError(f"{owner} needs at least one seed.")
        if not 0 < self.target_fraction <= 1:
            raise ValueError(f"target_fraction must be in (0, 1]. Got {self.target_fraction}.")


@dataclass(frozen=True)
class SequencePoint:
    """One evaluation of one run: a point of a learning curve.

    ``query_seconds`` is the time of the query that chose the last batch (0 for the seed
    set and for random); ``fit_seconds`` that of the fit scored here.
    """

    strategy: str
    seed: int
    n_sentences: int
    n_tokens: int
    f1: float
    fit_seconds: float
    query_seconds: float


@dataclass(frozen=True)
class SequenceStrategySummary:
    """One row of the summary table; means are over seeds.

    ``*_to_target`` is the first checkpoint whose F1 reaches ``target_fraction`` x the
    full-data F1 of that seed, ``None`` where a run never got there (then the mean, the
    fractions and the ratios are ``None``: not reached, never guessed). ``*_vs_random``
    is this strategy's mean cost divided by random's (0.3 = 30% of what random needs).
    """

    strategy: str
    sentences_to_target: list[int | None]
    tokens_to_target: list[int | None]
    sentences_to_target_mean: float | None
    tokens_to_target_mean: float | None
    sentence_fraction_of_pool: float | None
    token_fraction_of_pool: float | None
    sentences_vs_random: float | None
    tokens_vs_random: float | None
    f1_at_budget_mean: float
    f1_at_budget_sd: float
    aulc_mean: float
    median_query_seconds: float
    median_fit_seconds: float


@dataclass
class SequenceSimulationResult:
    """Curves of every run, the full-data references and the per-strategy summary."""

    config: SequenceSimulationConfig
    n_sentences: int
    n_tokens: int
    full_data_f1: list[float]
    curves: list[SequencePoint] = field(default_factory=list)

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(p.strategy for p in self.curves))

    def target_f1(self, seed: int) -> float:
        """``target_fraction`` x the full-data F1 of ``seed``."""
        return self.config.target_fraction * self.full_data_f1[self.config.seeds.index(seed)]

    def curve(
        self, strategy: str, seed: int
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """(sentences, tokens, F1) of one run, in checkpoint order."""
        pts = [p for p in self.curves if p.strategy == strategy and p.seed == seed]
        return (
            np.array([p.n_sentences for p in pts], dtype=np.int64),
            np.array([p.n_tokens for p in pts], dtype=np.int64),
            np.array([p.f1 for p in pts], dtype=np.float64),
        )

    def mean_curve(
        self, strategy: str
    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Mean over seeds at the sentence counts every seed reached.

        Returns
        -------
        sentences : ndarray of shape (n_checkpoints,)
        tokens : ndarray of shape (n_checkpoints,)
            Mean tokens labeled there (the seeds' sentences differ in length).
        f1_mean, f1_sd : ndarray of shape (n_checkpoints,)
        """
        runs = [self.curve(strategy, seed) for seed in self.config.seeds]
        common = np.array(
            sorted(set.intersection(*(set(s.tolist()) for s, _, _ in runs))), dtype=np.int64
        )
        at = [np.searchsorted(s, common) for s, _, _ in runs]
        tokens = np.array([t[i] for (_, t, _), i in zip(runs, at, strict=True)], dtype=np.float64)
        f1 = np.array([f[i] for (_, _, f), i in zip(runs, at, strict=True)], dtype=np.float64)
        return common, tokens.mean(axis=0), f1.mean(axis=0), f1.std(axis=0)

    def summary(self) -> list[SequenceStrategySummary]:
        cfg = self.config
        rows = []
        costs: dict[str, tuple[float | None, float | None]] = {}
        for name in self.strategies:
            hits_s: list[int | None] = []
            hits_t: list[int | None] = []
            at_budget, aulcs = [], []
            for seed in cfg.seeds:
                sentences, tokens, f1 = self.curve(name, seed)
                hit = labels_to_reach(sentences, f1, self.target_f1(seed))
                hits_s.append(hit)
                hits_t.append(None if hit is None else int(tokens[sentences == hit][0]))
                within = sentences <= cfg.budget
                at_budget.append(float(f1[within][-1]))
                aulcs.append(area_under_curve(sentences, f1, start=cfg.init_size, stop=cfg.budget))
            costs[name] = (_mean_or_none(hits_s), _mean_or_none(hits_t))
            points = [p for p in self.curves if p.strategy == name]
            queries = [p.query_seconds for p in points if p.query_seconds > 0]
            rows.append((name, hits_s, hits_t, at_budget, aulcs, queries, points))
        random_s, random_t = costs.get(RANDOM, (None, None))
        out = []
        for name, hits_s, hits_t, at_budget, aulcs, queries, points in rows:
            mean_s, mean_t = costs[name]
            out.append(
                SequenceStrategySummary(
                    strategy=name,
                    sentences_to_target=hits_s,
                    tokens_to_target=hits_t,
                    sentences_to_target_mean=mean_s,
                    tokens_to_target_mean=mean_t,
                    sentence_fraction_of_pool=_ratio(mean_s, self.n_sentences),
                    token_fraction_of_pool=_ratio(mean_t, self.n_tokens),
                    sentences_vs_random=_ratio(mean_s, random_s),
                    tokens_vs_random=_ratio(mean_t, random_t),
                    f1_at_budget_mean=float(np.mean(at_budget)),
                    f1_at_budget_sd=float(np.std(at_budget)),
                    aulc_mean=float(np.mean(aulcs)),
                    median_query_seconds=float(np.median(queries)) if queries else 0.0,
                    median_fit_seconds=float(np.median([p.fit_seconds for p in points])),
                )
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "metric": "strict span micro F1",
            "n_sentences": self.n_sentences,
            "n_tokens": self.n_tokens,
            "full_data_f1": self.full_data_f1,
            "target_f1": [self.target_f1(seed) for seed in self.config.seeds],
            "summary": [asdict(s) for s in self.summary()],
            "curves": [asdict(p) for p in self.curves],
            "mean_curves": {name: self._mean_curve_dict(name) for name in self.strategies},
        }

    def _mean_curve_dict(self, strategy: str) -> dict[str, list[float]]:
        sentences, tokens, f1, sd = self.mean_curve(strategy)
        return {
            "sentences": sentences.tolist(),
            "tokens": tokens.tolist(),
            "f1_mean": f1.tolist(),
            "f1_sd": sd.tolist(),
        }


def _mean_or_none(values: Sequence[int | None]) -> float | None:
    if any(v is None for v in values):
        return None
    return float(np.mean(np.asarray(values, dtype=np.float64)))


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or den is None or den == 0 else float(num / den)


# -- the simulation ---------------------------------------------------------------------


def random_checkpoints(n_pool: int, config: SequenceSimulationConfig) -> list[int]:
    """Sentence counts at which the random arm is scored.

    Every batch from ``init_size`` to ``budget``, then every ``random_step`` sentences,
    then the whole pool.

    Examples
    --------
    >>> random_checkpoints(1250, SequenceSimulationConfig(init_size=100, budget=300))
    [100, 200, 300, 800, 1250]
    """
    top = min(config.budget, n_pool)
    grid = list(range(config.init_size, top + 1, config.batch_size))
    if grid[-1] != top:
        grid.append(top)
    grid += list(range(top + config.random_step, n_pool, config.random_step))
    if grid[-1] != n_pool:
        grid.append(n_pool)
    return grid


@dataclass(frozen=True)
class _Data:
    """What every run needs, shipped once per job."""

    pool: Pool
    tokens: list[tuple[str, ...]]
    tags: list[list[str]]
    lengths: NDArray[np.int64]
    test_tokens: list[tuple[str, ...]]
    test_sentences: list[TokenizedText]
    test_gold: list[list[Span]]


def _make_data(
    pool_sentences: Sequence[TokenizedText],
    pool_tags: Sequence[Sequence[str]],
    test_sentences: Sequence[TokenizedText],
    test_tags: Sequence[Sequence[str]],
    features: Any,
) -> _Data:
    for name, sents, tags in (
        ("pool", pool_sentences, pool_tags),
        ("test", test_sentences, test_tags),
    ):
        if len(sents) != len(tags):
            raise ValueError(f"{len(sents)} {name} sentences but {len(tags)} tag sequences.")
        for i, (s, t) in enumerate(zip(sents, tags, strict=True)):
            if len(s) != len(t):
                raise ValueError(f"{name} sentence {i} has {len(s)} tokens but {len(t)} tags.")
    tokens = [s.tokens for s in pool_sentences]
    feats = np.zeros((len(tokens), 0)) if features is None else features
    return _Data(
        pool=Pool(feats, sequences=tokens),
        tokens=tokens,
        tags=[list(t) for t in pool_tags],
        lengths=np.array([len(t) for t in tokens], dtype=np.int64),
        test_tokens=[s.tokens for s in test_sentences],
        test_sentences=list(test_sentences),
        test_gold=[tags_to_spans(s, t) for s, t in zip(test_sentences, test_tags, strict=True)],
    )


def _fit(learner: Any, data: _Data, indices: Sequence[int]) -> tuple[Any, float]:
    started = time.perf_counter()
    model = clone(learner).fit([data.tokens[i] for i in indices], [data.tags[i] for i in indices])
    return model, time.perf_counter() - started


def _span_f1(model: Any, data: _Data) -> float:
    predicted = model.predict(data.test_tokens)
    spans = [tags_to_spans(s, t) for s, t in zip(data.test_sentences, predicted, strict=True)]
    return float(span_scores(data.test_gold, spans).f1)


def _accepts_labels(strategy: QueryStrategy) -> bool:
    """True when ``strategy.query`` takes a ``labels=`` keyword (newer strategy contract)."""
    try:
        params = inspect.signature(strategy.query).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return False
    return "labels" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


@dataclass(frozen=True)
class _Round:
    labeled: list[int]
    model: Any
    fit_seconds: float
    query_seconds: float


def _active_rounds(
    strategy: QueryStrategy,
    learner: Any,
    data: _Data,
    initial: Iterable[Any],
    batch_size: int,
    budget: int,
    seed: int,
) -> Iterator[_Round]:
    """Fit, yield, query, label; until ``budget`` sentences are labeled or the pool is empty.

    Each query gets its own integer seed drawn from a stream seeded by ``seed``, so a run
    is reproducible and every strategy sees the same stream.
    """
    rng = np.random.default_rng([seed, 0x5E0])
    labels_kw = _accepts_labels(strategy)
    labeled = [int(i) for i in initial]
    query_seconds = 0.0
    while True:
        model, fit_seconds = _fit(learner, data, labeled)
        yield _Round(list(labeled), model, fit_seconds, query_seconds)
        unlabeled = data.pool.complement(np.asarray(labeled, dtype=np.intp))
        if len(labeled) >= budget or unlabeled.size == 0:
            return
        n = min(batch_size, budget - len(labeled))
        kwargs: dict[str, Any] = {"random_state": int(rng.integers(2**31 - 1))}
        if labels_kw:
            kwargs["labels"] = [data.tags[i] for i in labeled]
        started = time.perf_counter()
        query = strategy.query(
            model, data.pool, np.asarray(labeled, dtype=np.intp), unlabeled, n, **kwargs
        )
        query_seconds = time.perf_counter() - started
        labeled += [int(i) for i in query.indices]


def _point(name: str, seed: int, data: _Data, rnd: _Round) -> SequencePoint:
    return SequencePoint(
        strategy=name,
        seed=seed,
        n_sentences=len(rnd.labeled),
        n_tokens=int(data.lengths[rnd.labeled].sum()),
        f1=_span_f1(rnd.model, data),
        fit_seconds=rnd.fit_seconds,
        query_seconds=rnd.query_seconds,
    )


def _run_active(
    name: str,
    strategy: QueryStrategy,
    seed: int,
    *,
    data: _Data,
    learner: Any,
    config: SequenceSimulationConfig,
    target: float,  # noqa: ARG001 - the same signature as _run_random
) -> list[SequencePoint]:
    initial = seed_set(len(data.tokens), config.init_size, seed)
    rounds = _active_rounds(
        strategy, learner, data, initial, config.batch_size, config.budget, seed
    )
    return [_point(name, seed, data, rnd) for rnd in rounds]


def _random_order(n_pool: int, init_size: int, seed: int) -> NDArray[np.intp]:
    """The seed set, then the rest of the pool in a random order of ``seed``."""
    initial = seed_set(n_pool, init_size, seed)
    rest = np.setdiff1d(np.arange(n_pool), initial)
    order = np.concatenate([initial, np.random.default_rng([seed, 0xA11]).permutation(rest)])
    return order.astype(np.intp)


def _run_random(
    name: str,
    strategy: QueryStrategy | None,  # noqa: ARG001 - random needs no strategy object
    seed: int,
    *,
    data: _Data,
    learner: Any,
    config: SequenceSimulationConfig,
    target: float,
) -> list[SequencePoint]:
    order = _random_order(len(data.tokens), config.init_size, seed)
    points = []
    for size in random_checkpoints(len(order), config):
        labeled = order[:size].tolist()
        model, fit_seconds = _fit(learner, data, labeled)
        points.append(_point(name, seed, data, _Round(labeled, model, fit_seconds, 0.0)))
        if config.random_to_target and size >= config.budget and points[-1].f1 >= target:
            break
    return points


def _full_data_f1(learner: Any, data: _Data) -> float:
    model, _ = _fit(learner, data, range(len(data.tokens)))
    return _span_f1(model, data)


def _seeded(learner: Any) -> bool:
    return "random_state" in learner.get_params(deep=False)


def _with_seed(learner: Any, seed: int) -> Any:
    """``learner`` with ``random_state=seed`` when it takes one (a seed per run)."""
    return clone(learner).set_params(random_state=seed) if _seeded(learner) else learner


def run_sequence_simulation(
    pool_sentences: Sequence[TokenizedText],
    pool_tags: Sequence[Sequence[str]],
    test_sentences: Sequence[TokenizedText],
    test_tags: Sequence[Sequence[str]],
    *,
    strategies: Mapping[str, QueryStrategy],
    learner: Any = None,
    learners: Mapping[str, Any] | None = None,
    config: SequenceSimulationConfig | None = None,
    features: Any = None,
    verbose: int = 0,
    on_run: Callable[[list[SequencePoint]], None] | None = None,
) -> SequenceSimulationResult:
    """Simulate entity-extraction active learning for each strategy and seed, plus random.

    Parameters
    ----------
    pool_sentences : sequence of TokenizedText, length (n_pool,)
        The unlabeled pool; its gold tags are revealed as sentences are "labeled".
    pool_tags : sequence of tag sequences, length (n_pool,)
        IOB2 tags, one per token.
    test_sentences, test_tags : held-out evaluation set, never queried
    strategies : mapping of name to QueryStrategy
        Sequence strategies (:mod:`labelwise.strategies.sequence`) and wrappers of them.
        The random arm (named ``"random"``) always runs, on a checkpoint grid
        (:func:`random_checkpoints`); a ``"random"`` entry here is that arm.
    learner : sequence tagger, default ``CRFTagger()``
        Cloned for every fit; ``fit(token_lists, tag_lists)`` and ``predict(token_lists)``,
        plus whatever the strategies call (``best_path_proba``, ``predict_marginals``...).
        Also the tagger of the full-data reference and of the random arm.
    learners : mapping of strategy name to learner, optional
        A learner for some arms in place of ``learner``: a committee strategy needs one
        with ``member_marginals`` (``BaggedCRF``), which the others need not pay for.
    config : SequenceSimulationConfig, optional
    features : ndarray of shape (n_pool, d), optional
        Sentence vectors for wrappers that compare sentences (``DeduplicatedBatch``);
        default a (n_pool, 0) matrix.
    verbose : int, default 0
        joblib's progress messages (> 0 prints as runs finish).
    on_run : callable, optional
        Called in this process with each finished run's curve (one strategy, one seed;
        random too), in the order runs finish: progress for a caller.

    Returns
    -------
    SequenceSimulationResult
        The full-data F1 is fit once per seed when the learner has a ``random_state``
        parameter (set to the seed), and once for all seeds otherwise (a deterministic
        learner such as ``CRFTagger`` gives the same model every time).
    """
    if learner is None:
        from labelwise.learners.crf import CRFTagger

        learner = CRFTagger()
    config = SequenceSimulationConfig() if config is None else config
    config.validate(len(pool_sentences))
    data = _make_data(pool_sentences, pool_tags, test_sentences, test_tags, features)
    arms: dict[str, QueryStrategy | None] = {
        name: s for name, s in strategies.items() if name != RANDOM
    }
    for name, s in arms.items():
        if not isinstance(s, QueryStrategy):
            raise TypeError(f"Strategy {name!r} must be a QueryStrategy; got {s!r:.60}.")
    arms[RANDOM] = None
    unknown = sorted(set(learners or ()) - set(arms))
    if unknown:
        raise ValueError(f"learners given for {unknown}, which are not among the strategies.")
    parallel = Parallel(n_jobs=config.n_jobs, verbose=verbose)
    seeded = _seeded(learner)
    if seeded:
        full = parallel(delayed(_full_data_f1)(_with_seed(learner, s), data) for s in config.seeds)
    else:
        full = [_full_data_f1(learner, data)] * len(config.seeds)
    result = SequenceSimulationResult(
        config=config,
        n_sentences=len(data.tokens),
        n_tokens=int(data.lengths.sum()),
        full_data_f1=[float(f) for f in full],
    )
    jobs = [(name, seed) for seed in config.seeds for name in arms]
    runs = Parallel(n_jobs=config.n_jobs, verbose=verbose, return_as="generator_unordered")(
        delayed(_run_random if name == RANDOM else _run_active)(
            name,
            arms[name],
            seed,
            data=data,
            learner=_with_seed((learners or {}).get(name, learner), seed),
            config=config,
            target=result.target_f1(seed),
        )
        for name, seed in jobs
    )
    for points in runs:
        if on_run is not None:
            on_run(points)
        result.curves.extend(points)
    # Runs finish in any order; the curves keep the jobs' order (strategies within seeds).
    order = {job: i for i, job in enumerate(jobs)}
    result.curves.sort(key=lambda p: (order[(p.strategy, p.seed)], p.n_sentences))
    return result


# -- pre-annotation ---------------------------------------------------------------------


@dataclass(frozen=True)
class EditCounts:
    """Edit actions that turn predicted spans into gold spans.

    Attributes
    ----------
    adds : int
        Gold spans drawn anew (no prediction could be fixed into them).
    deletes : int
        Predicted spans removed.
    relabels : int
        Predicted spans kept with their type changed.
    moves : int
        Span edges (start or end) dragged to another place.
    from_scratch : int
        Edits without pre-annotation: one add per gold span.
    """

    adds: int = 0
    deletes: int = 0
    relabels: int = 0
    moves: int = 0
    from_scratch: int = 0

    @property
    def total(self) -> int:
        return self.adds + self.deletes + self.relabels + self.moves

    @property
    def ratio(self) -> float | None:
        """``total / from_scratch`` (None with no gold span): 0.4 = 60% of the work saved."""
        return None if self.from_scratch == 0 else self.total / self.from_scratch

    def __add__(self, other: EditCounts) -> EditCounts:
        return EditCounts(*(getattr(self, k) + getattr(other, k) for k in _EDIT_FIELDS))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total, "ratio": self.ratio}


_EDIT_FIELDS = ("adds", "deletes", "relabels", "moves", "from_scratch")


def _as_span(span: SpanLike) -> tuple[int, int, str]:
    if isinstance(span, Span):
        return span.start, span.end, span.label
    start, end, label = span
    return int(start), int(end), str(label)


def _pair_cost(p: tuple[int, int, str], g: tuple[int, int, str]) -> tuple[int, int]:
    """(relabels, moves) to turn predicted ``p`` into gold ``g``."""
    return int(p[2] != g[2]), int(p[0] != g[0]) + int(p[1] != g[1])


def sentence_edits(gold: Iterable[SpanLike], predicted: Iterable[SpanLike]) -> EditCounts:
    """The fewest edit actions that turn one sentence's ``predicted`` spans into ``gold``.

    The matching, as a person correcting suggestions works:

    - a prediction equal to a gold span (same start, end and type): no edit;
    - same extent, other type: 1 relabel;
    - overlapping, same type, different edges: 1 move per edge that differs;
    - overlapping, other type and different edges: 1 relabel + 1 move per differing edge,
      unless that costs more than deleting it and drawing the gold span (2): a prediction
      wrong in type *and* both edges (3) is counted as delete + add;
    - a prediction matched to no gold span: 1 delete; a gold span matched to none: 1 add.

    Each prediction fixes at most one gold span and vice versa; among all such matchings of
    overlapping spans the cheapest total is taken (an assignment problem), and on equal
    totals fixing a prediction is preferred to delete + add.

    Parameters
    ----------
    gold, predicted : iterables of Span or (start, end, label)
        Edges in any one unit (characters or tokens), ``end`` exclusive.

    Returns
    -------
    EditCounts

    Examples
    --------
    >>> sentence_edits([(0, 2, "city")], [(0, 1, "city"), (3, 4, "date")])
    EditCounts(adds=0, deletes=1, relabels=0, moves=1, from_scratch=1)
    """
    g = sorted({_as_span(s) for s in gold})
    p = sorted({_as_span(s) for s in predicted})
    n_p, n_g = len(p), len(g)
    if not n_p or not n_g:
        return EditCounts(adds=n_g, deletes=n_p, from_scratch=n_g)
    big = 1e6
    # Square assignment: rows = predictions then one "add" row per gold span; columns =
    # gold spans then one "delete" column per prediction.
    cost = np.full((n_p + n_g, n_g + n_p), big)
    for i, ps in enumerate(p):
        for j, gs in enumerate(g):
            if ps[0] < gs[1] and gs[0] < ps[1]:
                relabel, move = _pair_cost(ps, gs)
                if relabel + move <= 2:
                    # A hair under the integer cost: on a tie, fix rather than redraw.
                    cost[i, j] = relabel + move - 1e-3
        cost[i, n_g + i] = 1.0
    cost[n_p + np.arange(n_g), np.arange(n_g)] = 1.0
    cost[n_p:, n_g:] = 0.0
    rows, cols = linear_sum_assignment(cost)
    adds = deletes = relabels = moves = 0
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        if i < n_p and j < n_g:
            relabel, move = _pair_cost(p[i], g[j])
            relabels += relabel
            moves += move
        elif i < n_p:
            deletes += 1
        elif j < n_g:
            adds += 1
    return EditCounts(adds, deletes, relabels, moves, from_scratch=n_g)


def preannotation_edits(
    gold: Sequence[Iterable[SpanLike]], predicted: Sequence[Iterable[SpanLike]]
) -> EditCounts:
    """Edits to correct ``predicted`` into ``gold``, summed over sentences.

    See :func:`sentence_edits` for the matching within a sentence.

    Parameters
    ----------
    gold, predicted : sequences of length (n_sentences,) of iterables of spans

    Returns
    -------
    EditCounts
        ``total / from_scratch`` is the share of from-scratch work pre-annotation leaves.

    Examples
    --------
    >>> gold = [[(0, 2, "city")], [(1, 3, "date")]]
    >>> predicted = [[(0, 2, "city")], [(1, 3, "time")]]
    >>> edits = preannotation_edits(gold, predicted)
    >>> edits.total, edits.from_scratch
    (1, 2)
    """
    if len(gold) != len(predicted):
        raise ValueError(
            f"gold and predicted must hold the same sentences; got {len(gold)} and "
            f"{len(predicted)}."
        )
    total = EditCounts()
    for g, p in zip(gold, predicted, strict=True):
        total = total + sentence_edits(g, p)
    return total


@dataclass(frozen=True)
class PreannotationResult:
    """Correction work on the sentences a strategy queried after ``n_labeled`` were labeled.

    Attributes
    ----------
    n_labeled : int
        Sentences labeled by hand before pre-annotation starts.
    n_corrected : int
        Sentences whose suggestions were corrected.
    retrained : EditCounts
        Suggestions from a model refit after every batch (the model a labeling server
        keeps current).
    fixed : EditCounts
        Suggestions from the model fit on the first ``n_labeled`` sentences only.
    per_batch : list of EditCounts
        ``retrained``, batch by batch.
    """

    n_labeled: int
    n_corrected: int
    retrained: EditCounts
    fixed: EditCounts
    per_batch: list[EditCounts]

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_labeled": self.n_labeled,
            "n_corrected": self.n_corrected,
            "retrained": self.retrained.to_dict(),
            "fixed": self.fixed.to_dict(),
            "per_batch": [b.to_dict() for b in self.per_batch],
        }


def _predicted_spans(model: Any, data: _Data, indices: Sequence[int]) -> list[list[Span]]:
    tags = model.predict([data.tokens[i] for i in indices])
    # Token-unit spans: edits compare edges, and tokens are the unit a person drags over.
    return [[Span(s, e, kind) for s, e, kind in _token_spans(t)] for t in tags]


def _token_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    probe = TokenizedText(" " * len(tags), tuple(range(len(tags))), tuple(range(1, len(tags) + 1)))
    return [(s.start, s.end, s.label) for s in tags_to_spans(probe, tags)]


def run_preannotation(
    pool_sentences: Sequence[TokenizedText],
    pool_tags: Sequence[Sequence[str]],
    *,
    strategy: QueryStrategy,
    learner: Any = None,
    init_size: int = 100,
    n_labeled: int = 300,
    n_corrected: int = 1000,
    batch_size: int = 100,
    seed: int = 0,
) -> PreannotationResult:
    """Label ``n_labeled`` sentences by hand with ``strategy``, then correct suggestions.

    From the random seed set of ``init_size`` the strategy queries batches until
    ``n_labeled`` sentences are labeled; on the next ``n_corrected`` sentences it queries,
    each batch is pre-annotated by the current model (refit after every batch), and the
    edits to turn its spans into the gold spans (:func:`preannotation_edits`, in token
    units) are counted, beside those of the model frozen at ``n_labeled``.

    Returns
    -------
    PreannotationResult
    """
    if learner is None:
        from labelwise.learners.crf import CRFTagger

        learner = CRFTagger()
    owner = "run_preannotation"
    for name, value in (
        ("init_size", init_size),
        ("n_labeled", n_labeled),
        ("n_corrected", n_corrected),
        ("batch_size", batch_size),
    ):
        check_positive_int(value, name, owner)
    if not init_size <= n_labeled <= len(pool_sentences) - n_corrected:
        raise ValueError(
            f"{owner} needs init_size ({init_size}) <= n_labeled ({n_labeled}) <= pool "
            f"({len(pool_sentences)}) - n_corrected ({n_corrected})."
        )
    if (n_labeled - init_size) % batch_size:
        raise ValueError(
            f"{owner}: n_labeled - init_size ({n_labeled - init_size}) must be a multiple of "
            f"batch_size ({batch_size}), so a round ends at exactly n_labeled sentences."
        )
    data = _make_data(pool_sentences, pool_tags, [], [], None)
    gold_spans = [_token_spans(t) for t in data.tags]
    initial = seed_set(len(data.tokens), init_size, seed)
    rounds = _active_rounds(
        strategy, learner, data, initial, batch_size, n_labeled + n_corrected, seed
    )
    frozen: Any = None
    per_batch: list[EditCounts] = []
    fixed = EditCounts()
    previous: list[int] = []
    model: Any = None
    for rnd in rounds:
        new = rnd.labeled[len(previous) :]
        if len(previous) >= n_labeled:
            # ``new`` was chosen by the strategy; the model before it made the suggestions.
            gold = [gold_spans[i] for i in new]
            per_batch.append(preannotation_edits(gold, _predicted_spans(model, data, new)))
            fixed = fixed + preannotation_edits(gold, _predicted_spans(frozen, data, new))
        if len(rnd.labeled) == n_labeled:
            frozen = rnd.model
        previous, model = rnd.labeled, rnd.model
    retrained = EditCounts()
    for batch in per_batch:
        retrained = retrained + batch
    return PreannotationResult(
        n_labeled=n_labeled,
        n_corrected=len(previous) - n_labeled,
        retrained=retrained,
        fixed=fixed,
        per_batch=per_batch,
    )
