"""labelwise's strategies beside modAL, small-text and scikit-activeml, in one loop.

Every strategy runs in the same process and the same simulation (labelwise's
``run_simulation``): MiniLM embeddings (cached under ``~/.cache/labelwise/embeddings``),
``ProbabilisticClassifier(LogisticRegression(C=10, max_iter=1000))``, the same random seed
set of 150 per seed, batches of 100. The peers' selection code is called through thin
adapters (``QueryStrategy`` subclasses defined here) on the loop's fitted learner and the
same feature rows, so only the selection rule differs between rows of the table:

- modAL: ``ActiveLearner(estimator=<fitted learner>, query_strategy=margin_sampling |
  entropy_sampling).query(X_unlabeled, n_instances=n)``
- small-text: ``BreakingTies``, ``GreedyCoreset(distance_metric="euclidean")`` and
  ``EmbeddingKMeans()`` with ``SklearnClassifier(<fitted learner>, n_classes)`` over a
  ``SklearnDataset`` of the pool; the embedding strategies get the MiniLM rows as
  ``embeddings=`` (a scikit-learn model has no ``embed``)
- scikit-activeml: ``UncertaintySampling(method="margin_sampling")``, ``CoreSet()`` and
  ``Badge()`` with ``fit_clf=False`` and a ``skactiveml.classifier.SklearnClassifier`` around
  the fitted learner (its ``fit`` is a no-op wrapper, so nothing is refitted)

Peers that draw from NumPy's global generator (small-text's k-means) are seeded from the
loop's per-round generator, so runs repeat. Each adapter keeps the peer's own ranking
(ordering an unordered pick by the peer's own utility); ``Query.scores`` are ranks.

Datasets: CLINC150 (``../shared/data/clinc150``, 150 intents) and, because no BANKING77
copy is available here, TREC with its 50 fine-grained labels (``label_field="fine_label"``)
as the closest fine-grained intent-style set.

    python benchmarks/peers.py --datasets clinc150 --seeds 3

Needs the peers' environment (``benchmarks/requirements-peers.txt``; see
``benchmarks/query_speed.py``). A peer that cannot be imported is left out with the
reason in the output. Writes ``benchmarks/results/peers.json`` and ``peers.md``; with
``--merge``, datasets already in ``peers.json`` and not run now are kept.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from labelwise._typing import IndexArray
from labelwise.data import LabelSchema, Pool, read_dataset
from labelwise.features import EmbeddingCache, SentenceEmbedder
from labelwise.learners import ProbabilisticClassifier
from labelwise.simulation import SimulationConfig, SimulationResult, run_simulation
from labelwise.strategies import STRATEGIES, Query, QueryStrategy
from labelwise.strategies.context import QueryContext

HERE = Path(__file__).resolve().parent

DATASETS = {
    "clinc150": {"dir": "clinc150", "label_field": "label", "note": "CLINC150 (150 intents)"},
    "trec": {
        "dir": "trec",
        "label_field": "fine_label",
        "note": "TREC fine labels (50 classes), standing in for BANKING77, which is not "
        "available here",
    },
}

OURS = ("margin", "entropy", "coreset", "badge", "cluster_margin", "random")
PEERS = {
    "modal_margin": ("modAL", "margin_sampling"),
    "modal_entropy": ("modAL", "entropy_sampling"),
    "smalltext_breaking_ties": ("small-text", "BreakingTies"),
    "smalltext_greedy_coreset": ("small-text", "GreedyCoreset"),
    "smalltext_embedding_kmeans": ("small-text", "EmbeddingKMeans"),
    "skactiveml_margin": ("scikit-activeml", "UncertaintySampling"),
    "skactiveml_coreset": ("scikit-activeml", "CoreSet"),
    "skactiveml_badge": ("scikit-activeml", "Badge"),
}
PACKAGES = {
    "modAL": "modAL-python",
    "small-text": "small-text",
    "scikit-activeml": "scikit-activeml",
}
MODULES = {"modAL": "modAL", "small-text": "small_text", "scikit-activeml": "skactiveml"}


class _PeerStrategy(QueryStrategy):
    """Adapter: call a peer library's selection, answer with a labelwise :class:`Query`.

    Parameters
    ----------
    method : str
        The peer's strategy name (see :data:`PEERS`).
    """

    library = ""

    def __init__(self, method: str) -> None:
        self.method = method

    def _select(self, ctx: QueryContext, n: int) -> Query:
        seed = int(ctx.rng.integers(2**31 - 1))
        lab = ctx.labeled
        with warnings.catch_warnings():
            # Peers warn about defaults and deprecations on every call; the table is the output.
            warnings.simplefilter("ignore")
            picked = np.asarray(
                self.select(ctx.learner, ctx.pool, lab, ctx.unlabeled, n, seed, ctx.labels)
            )
        picked = picked.astype(np.intp).reshape(-1)
        if picked.size != n or np.unique(picked).size != n or np.isin(picked, lab).any():
            raise RuntimeError(f"{self!r} returned an invalid batch: {picked[:10].tolist()}...")
        # The peers return indices only: scores are ranks, best first, in the peer's order.
        return Query(
            indices=picked, scores=np.arange(n, 0, -1, dtype=np.float64), strategy=repr(self)
        )

    def select(
        self,
        learner: Any,
        pool: Pool,
        labeled: IndexArray,
        unlabeled: IndexArray,
        n: int,
        seed: int,
        labels: Any,
    ) -> NDArray[np.intp]:
        """Pool positions of the peer's batch, best first."""
        raise NotImplementedError


class ModalStrategy(_PeerStrategy):
    """modAL's ``margin_sampling`` / ``entropy_sampling`` through an ``ActiveLearner``."""

    library = "modAL"

    def select(
        self,
        learner: Any,
        pool: Pool,
        labeled: IndexArray,  # noqa: ARG002
        unlabeled: IndexArray,
        n: int,
        seed: int,  # noqa: ARG002
        labels: Any,  # noqa: ARG002
    ) -> NDArray[np.intp]:
        models = importlib.import_module("modAL.models")
        uncertainty = importlib.import_module("modAL.uncertainty")
        active = models.ActiveLearner(
            estimator=learner, query_strategy=getattr(uncertainty, self.method)
        )
        idx, _, metric = active.query(pool.rows(unlabeled), n_instances=n, return_metrics=True)
        # margin: smaller is better; entropy: larger is better. argpartition leaves them unordered.
        order = np.argsort(metric if self.method == "margin_sampling" else -metric, kind="stable")
        return np.asarray(unlabeled[np.asarray(idx)[order]], dtype=np.intp)


class SmallTextStrategy(_PeerStrategy):
    """small-text's ``BreakingTies``, ``GreedyCoreset`` and ``EmbeddingKMeans``."""

    library = "small-text"

    def select(
        self,
        learner: Any,
        pool: Pool,
        labeled: IndexArray,
        unlabeled: IndexArray,
        n: int,
        seed: int,
        labels: Any,  # noqa: ARG002
    ) -> NDArray[np.intp]:
        st = importlib.import_module("small_text")
        dataset = st.SklearnDataset(pool.features, np.full(len(pool), st.LABEL_UNLABELED))
        clf = st.SklearnClassifier(learner, len(learner.classes_))
        y = np.zeros(labeled.size, dtype=int)  # unused by these three strategies
        if self.method == "BreakingTies":
            strategy = st.BreakingTies()
            idx = np.asarray(strategy.query(clf, dataset, unlabeled, labeled, y, n=n))
            order = np.argsort(strategy.scores_[idx], kind="stable")  # margin, smaller first
            return np.asarray(idx[order], dtype=np.intp)
        embeddings = np.asarray(pool.features)[np.concatenate([unlabeled, labeled])]
        if self.method == "GreedyCoreset":
            strategy = st.GreedyCoreset(distance_metric="euclidean")
        else:
            strategy = st.EmbeddingKMeans()
            # KMeans(n_clusters=n) inside small-text takes no seed: it draws from NumPy's
            # global generator, which is seeded from the loop's generator for repeatability.
            np.random.seed(seed)
        idx = strategy.query(clf, dataset, unlabeled, labeled, y, n=n, embeddings=embeddings)
        return np.asarray(idx, dtype=np.intp)


class _Prefitted(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """An already fitted labelwise learner seen by scikit-activeml: ``fit`` changes nothing."""

    def __init__(self, model: Any = None) -> None:
        self.model = model

    def fit(self, X: Any, y: Any) -> Self:  # noqa: ARG002
        self.classes_ = np.arange(len(self.model.classes_), dtype=float)
        return self

    def predict_proba(self, X: Any) -> Any:
        return self.model.predict_proba(X)


class SkactivemlStrategy(_PeerStrategy):
    """scikit-activeml's ``UncertaintySampling(margin_sampling)``, ``CoreSet`` and ``Badge``."""

    library = "scikit-activeml"

    def select(
        self,
        learner: Any,
        pool: Pool,
        labeled: IndexArray,
        unlabeled: IndexArray,
        n: int,
        seed: int,
        labels: Any,
    ) -> NDArray[np.intp]:
        sk_pool = importlib.import_module("skactiveml.pool")
        sk_clf = importlib.import_module("skactiveml.classifier")
        lookup = {c: i for i, c in enumerate(learner.classes_.tolist())}
        y = np.full(len(pool), np.nan)
        y[labeled] = [lookup[label] for label in labels]
        X = pool.features
        if self.method == "CoreSet":
            idx = sk_pool.CoreSet(random_state=seed).query(X, y, candidates=unlabeled, batch_size=n)
            return np.asarray(idx, dtype=np.intp)
        classes = np.arange(len(learner.classes_), dtype=float)
        clf = sk_clf.SklearnClassifier(_Prefitted(learner), classes=classes)
        clf.fit(pool.rows(labeled), y[labeled])
        if self.method == "UncertaintySampling":
            strategy = sk_pool.UncertaintySampling(method="margin_sampling", random_state=seed)
        else:
            strategy = sk_pool.Badge(random_state=seed)
        idx = strategy.query(X, y, clf, fit_clf=False, candidates=unlabeled, batch_size=n)
        return np.asarray(idx, dtype=np.intp)


ADAPTERS: dict[str, type[_PeerStrategy]] = {
    "modAL": ModalStrategy,
    "small-text": SmallTextStrategy,
    "scikit-activeml": SkactivemlStrategy,
}


def peer_status() -> dict[str, str]:
    """For each peer: its version, or why it cannot be used (not installed / import error)."""
    status = {}
    for library, package in PACKAGES.items():
        try:
            version = importlib.metadata.version(package)
            importlib.import_module(MODULES[library])
            status[library] = version
        except ImportError as exc:  # PackageNotFoundError is an ImportError too
            status[library] = f"unavailable: {exc!r}"
    return status


def build_strategies(
    names: list[str], status: dict[str, str]
) -> tuple[dict[str, QueryStrategy], dict[str, str]]:
    strategies: dict[str, QueryStrategy] = {}
    skipped: dict[str, str] = {}
    for name in names:
        if name in OURS:
            strategies[name] = STRATEGIES[name]()
        elif name in PEERS:
            library, method = PEERS[name]
            if status[library].startswith("unavailable"):
                skipped[name] = status[library]
            else:
                strategies[name] = ADAPTERS[library](method)
        else:
            raise SystemExit(f"Unknown strategy {name!r}; use names from {[*OURS, *PEERS]}.")
    return strategies, skipped


def library_of(name: str) -> str:
    return PEERS[name][0] if name in PEERS else "labelwise"


def run_dataset(
    key: str, args: argparse.Namespace, names: list[str], status: dict[str, str]
) -> dict[str, Any]:
    spec = DATASETS[key]
    folder = args.data_root / str(spec["dir"])
    splits = {
        name: read_dataset(
            folder / f"{name}.jsonl", label_field=str(spec["label_field"]), require_labels=True
        )
        for name in ("train", "test")
    }
    embedder = SentenceEmbedder(cache=EmbeddingCache(args.cache_dir))
    X = {name: embedder.transform(ds.texts) for name, ds in splits.items()}
    y = {name: [str(label) for label in ds.labels] for name, ds in splits.items()}
    schema = LabelSchema(sorted(set(y["train"]) | set(y["test"])))
    learner = ProbabilisticClassifier(
        LogisticRegression(C=10.0, max_iter=1000), classes=schema.classes
    )
    strategies, skipped = build_strategies(names, status)
    config = SimulationConfig(
        init_size=args.init,
        batch_size=args.batch,
        budget=args.budget,
        seeds=tuple(range(args.seeds)),
        continue_to_target=not args.no_continue,
        n_jobs=args.jobs,
    )
    started = time.perf_counter()

    def progress(point: Any) -> None:
        if args.verbose:
            print(
                f"  {key} {point.strategy} seed {point.seed}: {point.n_labels} labels, "
                f"acc {point.score:.4f}, query {point.query_seconds:.2f} s",
                flush=True,
            )

    result = run_simulation(
        Pool(X["train"]),
        y["train"],
        X["test"],
        y["test"],
        schema=schema,
        learner=learner,
        strategies=strategies,
        config=config,
        on_step=progress,
    )
    return {
        "dataset": key,
        "note": spec["note"],
        "n_pool": len(y["train"]),
        "n_test": len(y["test"]),
        "n_classes": schema.n_classes,
        "skipped": skipped,
        "libraries": {name: library_of(name) for name in strategies},
        "wall_seconds": time.perf_counter() - started,
        "command": command_line(args, key),
        **result.to_dict(),
        "table": table_rows(result),
    }


def table_rows(result: SimulationResult) -> list[dict[str, Any]]:
    rows = []
    for row in result.summary():
        mean, per_seed = row.labels_to_target_text()
        rows.append(
            {
                "strategy": row.strategy,
                "labels_to_target": mean,
                "per_seed": per_seed,
                "random_over_strategy": row.ratio_text(),
                "final_score": f"{row.final_score_mean:.4f} ± {row.final_score_sd:.4f}",
                "aulc": f"{row.aulc_mean:.4f}",
                "median_query_seconds": row.median_query_seconds,
            }
        )
    return rows


def command_line(args: argparse.Namespace, dataset: str) -> str:
    parts = [
        "python benchmarks/peers.py",
        f"--datasets {dataset}",
        f"--seeds {args.seeds}",
        f"--init {args.init}",
        f"--batch {args.batch}",
        f"--budget {args.budget}",
        f"--jobs {args.jobs}",
        f"--strategies {args.strategies}",
    ]
    if args.no_continue:
        parts.append("--no-continue")
    if args.variant:
        parts.append(f"--variant '{args.variant}'")
    return " ".join(parts)


def markdown(runs: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# labelwise beside modAL, small-text and scikit-activeml",
        "",
        "Same process, same loop (labelwise `run_simulation`), same MiniLM embeddings, same "
        "`ProbabilisticClassifier(LogisticRegression(C=10, max_iter=1000))`, same random seed "
        "set per seed; peers called through adapters on the loop's fitted learner. "
        "Labels to target = labels to reach 99% of the full-data test accuracy (runs continue "
        "past the budget until they do, unless `--no-continue`); AULC over "
        "[seed set, budget]; median query seconds per batch (2 shared CPU cores, other jobs "
        "running: compare within a table only).",
        "",
        "Peers: " + ", ".join(f"{lib} {ver}" for lib, ver in meta["peers"].items()) + ".",
        "",
    ]
    for run in runs.values():
        cfg = run["config"]
        lines += [
            f"## {run['note']}",
            "",
            f"Command: `{run['command']}`",
            "",
            f"Pool {run['n_pool']:,}, test {run['n_test']:,}, {run['n_classes']} classes. Seed set "
            f"{cfg['init_size']}, batch {cfg['batch_size']}, budget {cfg['budget']:,}, seeds "
            f"{', '.join(str(seed) for seed in cfg['seeds'])}. Full-data test accuracy {run['full_data_score']:.4f}; target "
            f"{cfg['target_fraction']:.0%} = {run['target_score']:.4f}. "
            f"Wall time {run['wall_seconds']:.0f} s.",
            "",
            "| strategy | library | labels to target (mean) | per seed | random ÷ strategy | "
            f"AULC {cfg['init_size']}–{cfg['budget']} | final acc at {cfg['budget']:,} | "
            "median query s |",
            "|---|---|---:|---|---:|---:|---:|---:|",
        ]
        for row in run["table"]:
            lines.append(
                f"| {row['strategy']} | {run['libraries'][row['strategy']]} | "
                f"{row['labels_to_target']} | {row['per_seed']} | "
                f"{row['random_over_strategy']} | {row['aulc']} | {row['final_score']} | "
                f"{row['median_query_seconds']:.3f} |"
            )
        for name, why in run["skipped"].items():
            lines.append(f"| {name} | {library_of(name)} | not run: {why} | | | | | |")
        lines.append("")
    lines += [*meta.get("notes", []), "", f"Machine: {meta['machine']}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", default="clinc150,trec")
    parser.add_argument("--data-root", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--strategies", default=",".join([*OURS, *PEERS]))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--init", type=int, default=150)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--budget", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--no-continue",
        action="store_true",
        help="stop every run at the budget (labels to target is then censored there)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "labelwise" / "embeddings"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--merge", action="store_true", help="keep other datasets in peers.json")
    parser.add_argument("--note", action="append", default=[], help="a line for the report")
    parser.add_argument(
        "--variant",
        default="",
        help="names a second table for the same dataset (e.g. 'continued to target'); "
        "with --merge, tables of other variants are kept",
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()

    status = peer_status()
    print("peers:", status, flush=True)
    names = [s.strip() for s in args.strategies.split(",") if s.strip()]
    runs: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    path = args.out / "peers.json"
    if args.merge and path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        runs.update(previous.get("runs", {}))
        notes = list(previous.get("notes", []))
    for key in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        if key not in DATASETS:
            raise SystemExit(f"Unknown dataset {key!r}; use one of {list(DATASETS)}.")
        print(f"{key}: running {len(names)} strategies x {args.seeds} seeds", flush=True)
        run = run_dataset(key, args, names, status)
        if args.variant:
            run["note"] = f"{run['note']} — {args.variant}"
            key = f"{key}_{'_'.join(args.variant.lower().split())}"
        runs[key] = run
    notes += [f"- {line}" for line in args.note]
    meta = {
        "peers": status,
        "python": sys.executable,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "notes": notes,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**meta, "runs": runs}, indent=2), encoding="utf-8")
    text = markdown(runs, meta)
    (args.out / "peers.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
