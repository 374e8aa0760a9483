"""The active-learning loop: seed, query, teach, retrain, with plain-data state.

State is a frozen :class:`LoopState` of index arrays and label codes; every change returns a
new state. The fitted model lives in ``ActiveLearningLoop.learner_`` and is refit lazily
whenever it does not match the state it is asked about, so a resumed or edited state can
never be queried with a stale model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from sklearn.base import clone

from labelwise._typing import IndexArray, IndexLike
from labelwise._validation import check_indices, check_positive_int
from labelwise.data.pool import Pool
from labelwise.data.schema import LabelSchema, LabelSource
from labelwise.exceptions import StateError
from labelwise.scoring.base import PoolScorer
from labelwise.stopping.criteria import StoppingCriterion
from labelwise.strategies.base import Query, QueryStrategy

STATE_FORMAT = 1


class Oracle(Protocol):
    """Who answers queries: a person (through the server) or ground truth (simulation)."""

    def label(self, indices: IndexArray) -> list[Any]:
        """One label per index: a name (a list of names if multi-label), or ``None`` to ignore."""
        ...


@dataclass(frozen=True, eq=False)
class LoopState:
    """Everything a loop knows, as plain arrays.

    Attributes
    ----------
    n_pool : int
        Size of the pool the positions refer to.
    labeled : ndarray of shape (n_labeled,)
        Pool positions with a label, in the order they were labeled.
    labels : ndarray of shape (n_labeled,) int, or (n_labeled, n_classes) bool if multi-label
        Codes over the schema, aligned with ``labeled``.
    sources : ndarray of shape (n_labeled,) of str
        Provenance of each label (:class:`~labelwise.data.schema.LabelSource` values).
    ignored : ndarray of shape (n_ignored,)
        Positions excluded from queries and training.
    iteration : int
        Number of ``teach`` calls so far; with ``seed`` it fixes the next query's randomness.
    seed : int
    """

    n_pool: int
    labeled: IndexArray
    labels: NDArray[Any]
    sources: NDArray[np.str_]
    ignored: IndexArray
    iteration: int
    seed: int

    @property
    def n_labeled(self) -> int:
        return int(self.labeled.shape[0])

    def unlabeled(self) -> IndexArray:
        """Positions neither labeled nor ignored, ascending."""
        mask = np.ones(self.n_pool, dtype=bool)
        mask[self.labeled] = False
        mask[self.ignored] = False
        return np.flatnonzero(mask).astype(np.intp)

    def fingerprint(self) -> str:
        """Digest of the training data (positions + codes): equal digests, equal models."""
        h = hashlib.blake2b(digest_size=16)
        h.update(np.ascontiguousarray(self.labeled, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.labels).astype(np.int64).tobytes())
        return h.hexdigest()

    def save(self, directory: str | Path, *, schema: LabelSchema | None = None) -> Path:
        """Write ``state.json`` and one ``.npy`` per array to ``directory`` (no pickle)."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("labeled", "labels", "sources", "ignored"):
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)
        meta = {
            "format": STATE_FORMAT,
            "n_pool": self.n_pool,
            "iteration": self.iteration,
            "seed": self.seed,
            "schema": None if schema is None else schema.to_dict(),
        }
        (folder / "state.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, directory: str | Path) -> tuple[LoopState, LabelSchema | None]:
        """Read a state written by :meth:`save`; returns it with the saved schema, if any."""
        folder = Path(directory)
        meta_path = folder / "state.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StateError(f"No saved loop state at {folder} (missing state.json).") from None
        if meta.get("format") != STATE_FORMAT:
            raise StateError(f"{meta_path}: unsupported state format {meta.get('format')!r}.")
        arrays = {
            name: np.load(folder / f"{name}.npy", allow_pickle=False)
            for name in ("labeled", "labels", "sources", "ignored")
        }
        state = cls(
            n_pool=int(meta["n_pool"]),
            labeled=arrays["labeled"].astype(np.intp),
            labels=arrays["labels"],
            sources=arrays["sources"].astype(str),
            ignored=arrays["ignored"].astype(np.intp),
            iteration=int(meta["iteration"]),
            seed=int(meta["seed"]),
        )
        schema = None if meta.get("schema") is None else LabelSchema.from_dict(meta["schema"])
        return state, schema


class ActiveLearningLoop:
    """Seed → query → teach → retrain, deterministic under a seed.

    Parameters
    ----------
    learner : scikit-learn classifier
        Cloned and refit on the labeled set (e.g. ``ProbabilisticClassifier``).
    strategy : QueryStrategy
    schema : LabelSchema
        The full label list; labels are stored as codes over it.
    batch_size : int, default 100
    random_state : int or None
        Seed of the whole run. ``None`` draws one, recorded in the state so a resume
        repeats the same queries.
    source_weights : mapping of str to float, optional
        Training weight per label source (e.g. ``{"human": 1.0, "rule": 0.3}``); sources
        not named weigh 1. ``None`` fits unweighted.
    stopping : sequence of StoppingCriterion, default ()
        Watched by :meth:`stop_reason` after each round.
    scorer : PoolScorer, optional
        Where pointwise strategies score the pool; None scores in this process
        (:class:`~labelwise.scoring.LocalScorer`). A
        :class:`~labelwise.scoring.DaskScorer` scores it on a cluster, with the same
        queries.

    Attributes
    ----------
    learner_ : the fitted learner, or None before the first label
    """

    def __init__(
        self,
        learner: Any,
        strategy: QueryStrategy,
        *,
        schema: LabelSchema,
        batch_size: int = 100,
        random_state: int | None = None,
        source_weights: Mapping[str, float] | None = None,
        stopping: Sequence[StoppingCriterion] = (),
        scorer: PoolScorer | None = None,
    ) -> None:
        self.learner = learner
        self.strategy = strategy
        self.schema = schema
        self.batch_size = batch_size
        self.random_state = random_state
        self.source_weights = source_weights
        self.stopping = stopping
        self.scorer = scorer

    # -- state transitions -------------------------------------------------------------

    def start(
        self,
        pool: Pool,
        seed_indices: IndexLike = (),
        seed_labels: Sequence[Any] = (),
        *,
        source: LabelSource = LabelSource.HUMAN,
    ) -> LoopState:
        """A new state over ``pool``, with an optional labeled seed set."""
        seed = self.random_state
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        empty_codes = (
            np.zeros((0, self.schema.n_classes), dtype=bool)
            if self.schema.multilabel
            else np.zeros(0, dtype=np.intp)
        )
        state = LoopState(
            n_pool=len(pool),
            labeled=np.zeros(0, dtype=np.intp),
            labels=empty_codes,
            sources=np.zeros(0, dtype="<U5"),
            ignored=np.zeros(0, dtype=np.intp),
            iteration=0,
            seed=int(seed),
        )
        self.learner_: Any = None
        self._fitted_on: str | None = None
        self._stop_checked: tuple[int, str] | None = None
        self.fired_: dict[str, int] = {}
        for criterion in self.stopping:
            criterion.reset()
        if len(seed_indices):
            state = self.teach(pool, state, seed_indices, seed_labels, source=source)
            state = replace(state, iteration=0)
        return state

    def teach(
        self,
        pool: Pool,
        state: LoopState,
        indices: IndexLike,
        labels: Sequence[Any],
        *,
        source: LabelSource = LabelSource.HUMAN,
        retrain: bool = True,
    ) -> LoopState:
        """Add labels for unlabeled ``indices``; a ``None`` label ignores that item.

        Refuses positions already labeled or ignored (use :meth:`relabel` /
        :meth:`forget`), duplicates, and a length mismatch, naming the values.
        """
        idx = self._checked("teach", pool, state, indices, labels)
        taken = np.intersect1d(idx, np.concatenate([state.labeled, state.ignored]))
        if taken.size:
            raise StateError(
                f"Positions {taken[:10].tolist()} are already labeled or ignored; "
                "use relabel() or forget() to change them."
            )
        keep = np.array([label is not None for label in labels], dtype=bool)
        new_idx = idx[keep]
        codes = self._encode([label for label in labels if label is not None])
        state = replace(
            state,
            labeled=np.concatenate([state.labeled, new_idx]),
            labels=np.concatenate([state.labels, codes]),
            sources=np.concatenate([state.sources, np.full(new_idx.size, str(source), "<U5")]),
            ignored=np.concatenate([state.ignored, idx[~keep]]),
            iteration=state.iteration + 1,
        )
        return self._done(pool, state, retrain)

    def relabel(
        self,
        pool: Pool,
        state: LoopState,
        indices: IndexLike,
        labels: Sequence[Any],
        *,
        source: LabelSource = LabelSource.HUMAN,
        retrain: bool = True,
    ) -> LoopState:
        """Replace the labels of already-labeled ``indices``."""
        idx = self._checked("relabel", pool, state, indices, labels)
        rows = self._rows_of(state, idx, "relabel")
        new_labels = state.labels.copy()
        new_labels[rows] = self._encode(list(labels))
        new_sources = state.sources.copy()
        new_sources[rows] = str(source)
        state = replace(state, labels=new_labels, sources=new_sources)
        return self._done(pool, state, retrain)

    def forget(
        self,
        pool: Pool,
        state: LoopState,
        indices: IndexLike,
        *,
        ignore: bool = False,
        retrain: bool = True,
    ) -> LoopState:
        """Remove labels of ``indices``: back to unlabeled, or to ignored if ``ignore``."""
        idx = self._checked("forget", pool, state, indices)
        rows = self._rows_of(state, idx, "forget")
        keep = np.ones(state.n_labeled, dtype=bool)
        keep[rows] = False
        state = replace(
            state,
            labeled=state.labeled[keep],
            labels=state.labels[keep],
            sources=state.sources[keep],
            ignored=np.concatenate([state.ignored, idx]) if ignore else state.ignored,
        )
        return self._done(pool, state, retrain)

    def ignore(
        self,
        pool: Pool,
        state: LoopState,
        indices: IndexLike,
        *,
        retrain: bool = True,
    ) -> LoopState:
        """Exclude ``indices`` from queries and training, dropping their labels if any."""
        idx = self._checked("ignore", pool, state, indices)
        labeled_part = np.intersect1d(idx, state.labeled)
        state = self.forget(pool, state, labeled_part, ignore=True, retrain=False)
        fresh = np.setdiff1d(idx, np.concatenate([state.ignored, labeled_part]))
        state = replace(state, ignored=np.concatenate([state.ignored, fresh]).astype(np.intp))
        return self._done(pool, state, retrain)

    # -- model -----------------------------------------------------------------------

    def retrain(self, pool: Pool, state: LoopState) -> Any:
        """Fit a fresh clone of ``learner`` on the labeled set of ``state``; returns it."""
        self._check_pool(pool, state)
        if state.n_labeled == 0:
            self.learner_ = None
        else:
            y = self.schema.decode(state.labels)
            kwargs: dict[str, Any] = {}
            if getattr(self.learner, "uses_unlabeled", False):
                # Semi-supervised learners also see the unlabeled rows (never their labels).
                kwargs["X_unlabeled"] = pool.rows(state.unlabeled())
            if self.source_weights is not None:
                weights = self.source_weights
                kwargs["sample_weight"] = np.array(
                    [weights.get(str(s), 1.0) for s in state.sources]
                )
            self.learner_ = clone(self.learner).fit(pool.rows(state.labeled), y, **kwargs)
        self._fitted_on = state.fingerprint()
        return self.learner_

    def fitted_learner(self, pool: Pool, state: LoopState) -> Any:
        """The learner fitted on exactly ``state``'s labels, refitting only if needed."""
        if getattr(self, "_fitted_on", None) != state.fingerprint():
            self.retrain(pool, state)
        return self.learner_

    def adopt(self, learner: Any, state: LoopState) -> None:
        """Use ``learner``, fitted elsewhere, as the model of ``state`` instead of a refit.

        For a model trained on more than the state's labels (weak labels beside the human
        ones) that must still rank the state's unlabeled items: :meth:`query` and
        :meth:`stop_reason` read it until the state changes.
        """
        self.learner_ = learner
        self._fitted_on = state.fingerprint()

    def query(self, pool: Pool, state: LoopState, n: int | None = None) -> Query:
        """The next batch (``batch_size`` items unless ``n`` is given) to label.

        Randomness comes from ``(seed, iteration)``, so the same state always gives the
        same query, also after a save and resume.
        """
        self._check_pool(pool, state)
        n = check_positive_int(self.batch_size if n is None else n, "n", "ActiveLearningLoop.query")
        learner = self.fitted_learner(pool, state) if self.strategy.requires_learner else None
        rng = np.random.default_rng([state.seed, state.iteration])
        return self.strategy.query(
            learner,
            pool,
            state.labeled,
            state.unlabeled(),
            n,
            labels=self.schema.decode(state.labels),
            random_state=rng,
            scorer=self.scorer,
        )

    def stop_reason(self, pool: Pool, state: LoopState) -> str | None:
        """Update every stopping criterion with ``state``'s model; the first that fired, or None.

        Call once per round. Each criterion sees each state once, so asking again about the
        same state does not advance windows such as the kappa average. ``fired_`` maps each
        criterion that has fired to the label count at which it first did.
        """
        key = (state.iteration, state.fingerprint())
        if not hasattr(self, "fired_"):  # resumed from a saved state without start()
            self.fired_ = {}
        if getattr(self, "_stop_checked", None) != key:
            self._stop_checked = key
            learner = self.fitted_learner(pool, state)
            for criterion in self.stopping:
                if criterion.update(pool, state, learner) and repr(criterion) not in self.fired_:
                    self.fired_[repr(criterion)] = state.n_labeled
        return next((repr(c) for c in self.stopping if repr(c) in self.fired_), None)

    # -- helpers ---------------------------------------------------------------------

    def _checked(
        self,
        verb: str,
        pool: Pool,
        state: LoopState,
        indices: IndexLike,
        labels: Sequence[Any] | None = None,
    ) -> IndexArray:
        """Validated positions for a state change, with the labels' length checked."""
        self._check_pool(pool, state)
        idx = check_indices(indices, state.n_pool)
        if labels is not None and len(labels) != idx.size:
            raise StateError(f"{verb} got {idx.size} indices but {len(labels)} labels.")
        return idx

    def _done(self, pool: Pool, state: LoopState, retrain: bool) -> LoopState:
        if retrain:
            self.retrain(pool, state)
        return state

    def _encode(self, labels: list[Any]) -> NDArray[Any]:
        try:
            return self.schema.encode(labels)
        except KeyError as exc:
            raise StateError(str(exc.args[0])) from None

    @staticmethod
    def _rows_of(state: LoopState, idx: IndexArray, verb: str) -> NDArray[np.intp]:
        position = {int(p): row for row, p in enumerate(state.labeled)}
        missing = [int(i) for i in idx if int(i) not in position]
        if missing:
            raise StateError(f"{verb}: positions {missing[:10]} are not labeled.")
        return np.array([position[int(i)] for i in idx], dtype=np.intp)

    @staticmethod
    def _check_pool(pool: Pool, state: LoopState) -> None:
        if len(pool) != state.n_pool:
            raise StateError(
                f"The state belongs to a pool of {state.n_pool} items; this pool has {len(pool)}."
            )
