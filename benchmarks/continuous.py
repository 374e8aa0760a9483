"""Continuous improvement from production, simulated on CLINC150: four simulations of
issue 12, each against its target.

- ``label_errors``: 5% realistic label noise; the relabel queue's ranking (PR-AUC) and the
  accuracy recovered after reviewing the top 2 x (number of errors).
- ``new_intents``: 25% of the intents hidden and replayed with out-of-scope traffic; share
  of hidden intents that surface as a cluster within the first 500 reviewed items.
- ``stream``: train replayed as 100,000 messages with Zipf(1.1) repeats under a 5% label
  budget, against pool-based margin sampling at the same label count.
- ``feedback``: 2,000 reports (70% true); accuracy gain per 100 reviewed reports when
  ranked by expected impact, against first-in-first-out and margin alone.

    python benchmarks/continuous.py --data-dir ../shared/data/clinc150 [--only stream] [--seeds 3]

Prints a table and writes ``benchmarks/results/continuous.json`` and ``continuous.md``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data import read_dataset
from labelwise.features import EmbeddingCache, SentenceEmbedder
from labelwise.simulation.production import ProductionData, SimulationOutcome

HERE = Path(__file__).resolve().parent

#: Simulation name -> the module whose ``simulate(data, *, seed)`` runs it.
SIMULATIONS = {
    "label_errors": "labelwise.simulation.production.label_errors",
    "new_intents": "labelwise.simulation.production.new_intents",
    "stream": "labelwise.simulation.production.stream",
    "feedback": "labelwise.simulation.production.feedback",
}


def load(data_dir: Path, cache_dir: Path) -> ProductionData:
    """CLINC150 (or any set with train/test JSONL) as MiniLM features, through the cache."""
    train = read_dataset(data_dir / "train.jsonl", require_labels=True)
    test = read_dataset(data_dir / "test.jsonl", require_labels=True)
    embedder = SentenceEmbedder(cache=EmbeddingCache(cache_dir))
    labels = set(train.labels)
    return ProductionData(
        train_texts=list(train.texts),
        test_texts=list(test.texts),
        X_train=np.asarray(embedder.transform(train.texts), dtype=np.float32),
        X_test=np.asarray(embedder.transform(test.texts), dtype=np.float32),
        y_train=np.asarray(train.labels, dtype=str),
        y_test=np.asarray(test.labels, dtype=str),
        out_of_scope="oos" if "oos" in labels else None,
    )


def summarize(outcomes: list[SimulationOutcome]) -> list[dict[str, Any]]:
    """One row per (simulation, figure): mean and sd over seeds, the target, met or not."""
    rows: list[dict[str, Any]] = []
    keys: dict[tuple[str, str], list[Any]] = {}
    for outcome in outcomes:
        for figure in outcome.figures:
            keys.setdefault((outcome.simulation, figure.name), []).append(figure)
    for (simulation, name), figures in keys.items():
        values = [f.value for f in figures]
        mean = statistics.fmean(values)
        first = figures[0]
        met = None
        if first.target is not None:
            met = mean >= first.target if first.higher_is_better else mean <= first.target
        rows.append(
            {
                "simulation": simulation,
                "figure": name,
                "mean": mean,
                "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
                "seeds": len(values),
                "target": first.target,
                "direction": ">=" if first.higher_is_better else "<=",
                "met": met,
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| simulation | figure | mean | sd | seeds | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        target = "" if r["target"] is None else f"{r['direction']} {r['target']:g}"
        met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(
            f"| {r['simulation']} | {r['figure']} | {r['mean']:.4g} | {r['sd']:.3g} | "
            f"{r['seeds']} | {target} | {met} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, default=HERE.parent.parent / "shared" / "data" / "clinc150"
    )
    parser.add_argument("--only", default="", help=f"comma-separated subset of {list(SIMULATIONS)}")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "labelwise" / "embeddings"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()] or list(SIMULATIONS)
    unknown = sorted(set(chosen) - set(SIMULATIONS))
    if unknown:
        parser.error(f"unknown simulation(s) {unknown}; choose from {list(SIMULATIONS)}")

    started = time.perf_counter()
    data = load(args.data_dir, args.cache_dir)
    outcomes: list[SimulationOutcome] = []
    timings: dict[str, float] = {}
    for name in chosen:
        simulate = importlib.import_module(SIMULATIONS[name]).simulate
        t0 = time.perf_counter()
        for seed in range(args.seeds):
            outcomes.append(simulate(data, seed=seed))
            print(f"{name} seed {seed}: done ({time.perf_counter() - t0:.0f} s)", flush=True)
        timings[name] = time.perf_counter() - t0
    rows = summarize(outcomes)
    command = f"python benchmarks/continuous.py --data-dir {args.data_dir} --seeds {args.seeds}" + (
        f" --only {','.join(chosen)}" if args.only else ""
    )
    table = render(rows)
    print("\n".join(table))

    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if not args.only else "_" + "_".join(chosen)
    payload = {
        "command": command,
        "data": str(args.data_dir),
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "seconds": {**timings, "total": time.perf_counter() - started},
        "summary": rows,
        "runs": [
            {
                "simulation": o.simulation,
                "seed": o.seed,
                "figures": {f.name: f.value for f in o.figures},
                "details": o.details,
            }
            for o in outcomes
        ],
    }
    (args.out / f"continuous{suffix}.json").write_text(json.dumps(payload, indent=2) + "\n")
    md = [
        f"# Continuous improvement from production, simulated on {args.data_dir.name}",
        "",
        f"Command: `{command}`",
        "",
        *table,
        "",
    ]
    (args.out / f"continuous{suffix}.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
