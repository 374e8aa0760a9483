"""Labels needed to reach 99% of full-data accuracy on CLINC150, per strategy, vs random.

MiniLM sentence embeddings (offline package) + logistic regression with C tuned on the
val split, 150 random seed labels, batches of 100, 3 seeds. Runs past the 5,000-label
budget continue until they reach the target, so the label counts (and random ÷ strategy)
are measured rather than censored.

    python benchmarks/label_efficiency.py --data-dir ../shared/data/clinc150

``--strategies margin,margin+incremental`` compares full-pool margin with incremental
rounds (issue 15: the whole pool ranked every fifth round, in between only the previous
full ranking's shortlist and the neighbours of new labels and class anchors).

Writes ``benchmarks/results/label_efficiency.json`` and ``label_efficiency.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from labelwise.data import LabelSchema, Pool, read_dataset
from labelwise.features import EmbeddingCache, SentenceEmbedder
from labelwise.learners import ProbabilisticClassifier
from labelwise.simulation import SimulationConfig, SimulationResult, run_simulation
from labelwise.strategies import STRATEGIES, IncrementalRescoring, QueryStrategy

HERE = Path(__file__).resolve().parent


def build_strategy(name: str) -> QueryStrategy:
    """A strategy of :data:`STRATEGIES` by name; ``<name>+incremental`` ranks the whole
    pool every fifth round only (``IncrementalRescoring`` with its defaults)."""
    base, _, extra = name.partition("+")
    if extra not in ("", "incremental"):
        raise SystemExit(f"Unknown strategy {name!r}: a name, or a name + 'incremental'.")
    strategy = STRATEGIES[base]()
    return IncrementalRescoring(strategy) if extra else strategy


def tune_c(
    X: np.ndarray, y: list[str], X_val: np.ndarray, y_val: list[str], grid: list[float]
) -> tuple[float, dict[str, float]]:
    """The C with the best val accuracy when training on the whole train split."""
    scores = {}
    for c in grid:
        model = LogisticRegression(C=c, max_iter=1000).fit(X, y)
        scores[str(c)] = float(np.mean(model.predict(X_val) == np.asarray(y_val, dtype=object)))
    best = max(grid, key=lambda c: scores[str(c)])
    return best, scores


def results_stem(name: str, data_dir: Path) -> str:
    """Result file name: ``label_efficiency`` for CLINC150 (the default data set, whose
    results were always stored under that name), ``label_efficiency_trec`` for another, so
    a run on one data set never overwrites another's."""
    return name if data_dir.name == "clinc150" else f"{name}_{data_dir.name}"


def markdown(result: SimulationResult, meta: dict[str, Any]) -> str:
    lines = [
        f"# Label efficiency on {meta['data']}",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"MiniLM (all-MiniLM-L6-v2, offline package) + logistic regression, C={meta['C']} "
        f"(tuned on val: {meta['C_grid_val_accuracy']}). Seed set {result.config.init_size} random, "
        f"batch {result.config.batch_size}, seeds {list(result.config.seeds)}. "
        f"Full-data test accuracy {result.full_data_score:.4f}; target "
        f"{result.config.target_fraction:.0%} = {result.target_score:.4f}.",
        "",
        "| strategy | labels to target (mean) | per seed | random ÷ strategy | "
        f"final acc at {result.config.budget} | AULC {result.config.init_size}–{result.config.budget} "
        "| median query s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for row in result.summary():
        mean, hits = row.labels_to_target_text()
        ratio = row.ratio_text()
        lines.append(
            f"| {row.strategy} | {mean} | {hits} | {ratio} | "
            f"{row.final_score_mean:.4f} ± {row.final_score_sd:.4f} | {row.aulc_mean:.4f} | "
            f"{row.median_query_seconds:.3f} |"
        )
    lines += ["", f"Wall time {meta['wall_seconds']:.0f} s on {meta['machine']}.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, default=HERE.parent.parent / "shared" / "data" / "clinc150"
    )
    parser.add_argument("--strategies", default="margin,entropy,least_confidence,random")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--init", type=int, default=150)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--budget", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--c-grid", default="1,3,10,30,100")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "labelwise" / "embeddings"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--name", default="label_efficiency", help="result file stem (data set appended)"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    names_on_disk = [n for n in ("train", "val", "test") if (args.data_dir / f"{n}.jsonl").exists()]
    splits = {
        name: read_dataset(args.data_dir / f"{name}.jsonl", require_labels=True)
        for name in ("train", "test", *(["val"] if "val" in names_on_disk else []))
    }
    embedder = SentenceEmbedder(cache=EmbeddingCache(args.cache_dir))
    X = {name: embedder.transform(ds.texts) for name, ds in splits.items()}
    y = {name: [str(label) for label in ds.labels] for name, ds in splits.items()}
    grid = [float(c) for c in args.c_grid.split(",")]
    if "val" in X:
        best_c, c_scores = tune_c(X["train"], y["train"], X["val"], y["val"], grid)
    else:
        # No val split (TREC): tune on a fixed fifth of train held out from the tuning fit
        # (never from the simulation, whose pool stays the whole train split).
        held = np.random.default_rng(0).permutation(len(y["train"]))
        cut = len(held) // 5
        fit, val = held[cut:], held[:cut]
        best_c, c_scores = tune_c(
            X["train"][fit],
            [y["train"][i] for i in fit],
            X["train"][val],
            [y["train"][i] for i in val],
            grid,
        )
    print(f"C tuned on val: {best_c} ({c_scores})")

    schema = LabelSchema(sorted(set(y["train"]) | set(y["test"])))
    learner = ProbabilisticClassifier(
        LogisticRegression(C=best_c, max_iter=1000), classes=schema.classes
    )
    names = [s.strip() for s in args.strategies.split(",")]
    config = SimulationConfig(
        init_size=args.init,
        batch_size=args.batch,
        budget=args.budget,
        seeds=tuple(range(args.seeds)),
        continue_to_target=True,
        n_jobs=args.jobs,
    )
    result = run_simulation(
        Pool(X["train"]),
        y["train"],
        X["test"],
        y["test"],
        schema=schema,
        learner=learner,
        strategies={name: build_strategy(name) for name in names},
        config=config,
    )
    meta = {
        "data": args.data_dir.name,
        "command": "python benchmarks/label_efficiency.py "
        f"--data-dir {args.data_dir} --seeds {args.seeds} --init {args.init} --batch {args.batch} --budget {args.budget} "
        f"--jobs {args.jobs} --strategies {args.strategies} --name {args.name}",
        "C": best_c,
        "C_grid_val_accuracy": c_scores,
        "features": embedder.model_id,
        "wall_seconds": time.perf_counter() - started,
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = results_stem(args.name, args.data_dir)
    (args.out / f"{stem}.json").write_text(
        json.dumps({**meta, **result.to_dict()}, indent=2), encoding="utf-8"
    )
    table = markdown(result, meta)
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
