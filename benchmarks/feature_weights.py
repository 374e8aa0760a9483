"""How much weight MiniLM gets beside TF-IDF in ``minilm+tfidf``, and which C, chosen on a validation split.

Logistic regression on random labeled subsets (the same draws for every weight), scored on
the validation split, never the test split: the weight is a recipe default
(``labelwise.recipes.classification.SENTENCE_WEIGHT``), so choosing it on test would make
every test figure of the recipe optimistic.

    python benchmarks/feature_weights.py --data-dir ../shared/data/clinc150 --weights 0,1,2
    python benchmarks/feature_weights.py --data-dir ../shared/data/clinc150 --weights 1 --C 3,10,30,100

Writes ``benchmarks/results/feature_weights.json`` and ``feature_weights.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from label_efficiency import results_stem  # the sibling script (benchmarks/ is on sys.path)
from labelwise.data import read_dataset
from labelwise.features import ConcatenatedFeaturizer, EmbeddingCache, SentenceEmbedder
from labelwise.features.tfidf import TfidfFeaturizer

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, default=HERE.parent.parent / "shared" / "data" / "clinc150"
    )
    parser.add_argument("--split", default="val", help="validation split's file stem")
    parser.add_argument("--labels", type=int, default=1150, help="random labeled subset size")
    parser.add_argument("--weights", default="0,1,2", help="MiniLM block weights to compare")
    parser.add_argument(
        "--C", default="10", dest="c", help="logistic regression C values to compare"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "labelwise" / "embeddings"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()

    started = time.perf_counter()
    train = read_dataset(args.data_dir / "train.jsonl", require_labels=True)
    val = read_dataset(args.data_dir / f"{args.split}.jsonl", require_labels=True)
    embedder = SentenceEmbedder(cache=EmbeddingCache(args.cache_dir))
    train_e, val_e = embedder.transform(train.texts), embedder.transform(val.texts)
    tfidf = TfidfFeaturizer().fit(train.texts)
    train_t, val_t = tfidf.transform(train.texts), tfidf.transform(val.texts)
    y_train, y_val = np.asarray(train.labels), np.asarray(val.labels)
    draws = [
        np.random.default_rng(seed).choice(len(y_train), args.labels, replace=False)
        for seed in range(args.seeds)
    ]
    rows: list[dict[str, Any]] = []
    for weight in [float(w) for w in args.weights.split(",")]:
        # Weight 0 is TF-IDF alone (a zero block changes nothing a linear model sees).
        parts = [(embedder, weight or 1.0), (tfidf, 1.0)]
        join = ConcatenatedFeaturizer(parts).join
        train_x = join([train_e * (weight > 0), train_t])
        val_x = join([val_e * (weight > 0), val_t])
        for c in [float(v) for v in args.c.split(",")]:
            scores = []
            for idx in draws:
                model = LogisticRegression(C=c, max_iter=1000).fit(train_x[idx], y_train[idx])
                scores.append(float((model.predict(val_x) == y_val).mean()))
            rows.append(
                {"weight": weight, "C": c, "scores": scores, "mean": float(np.mean(scores))}
            )
            print(f"weight {weight} C {c}: {np.mean(scores):.4f}", flush=True)
    wall = time.perf_counter() - started
    lines = [
        f"# MiniLM weight beside TF-IDF on {args.data_dir.name} ({args.split} split)",
        "",
        f"Command: `python benchmarks/feature_weights.py --data-dir {args.data_dir} --split "
        f"{args.split} --labels {args.labels} --weights {args.weights} --C {args.c} "
        f"--seeds {args.seeds}`",
        "",
        f"Logistic regression on {args.labels:,} random training labels "
        f"({args.seeds} draws, the same for every row); accuracy on {args.split}.",
        "",
        "| MiniLM weight | C | accuracy (mean) | per draw |",
        "|---:|---:|---:|---|",
        *(
            f"| {r['weight']:g} | {r['C']:g} | {r['mean']:.4f} | "
            f"{', '.join(f'{s:.4f}' for s in r['scores'])} |"
            for r in rows
        ),
        "",
        f"Wall time {wall:.0f} s on {platform.machine()}, {os.cpu_count()} CPUs.",
        "",
    ]
    table = "\n".join(lines)
    options = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = results_stem("feature_weights", args.data_dir)
    if "," in args.c:  # a C sweep keeps the weight sweep's results
        stem += "_c"
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    (args.out / f"{stem}.json").write_text(
        json.dumps({"wall_seconds": wall, "args": options, "rows": rows}, indent=2),
        encoding="utf-8",
    )
    print(table)


if __name__ == "__main__":
    main()
