"""Are the clustering defaults CLINC-only? HDBSCAN settings on two other labeled sets.

Clusters a seeded sample of 2,000 SNIPS utterances (7 intents) and 3,000 TREC questions
(50 fine question types) with :func:`labelwise.discovery.discover_intents` under the
defaults and three alternatives, and scores the clusters against the gold labels: how
many messages land in a cluster, size-weighted purity (share of each cluster in its
majority label), how many labels lead at least one cluster, the largest clusters' names.

    python benchmarks/discovery_defaults.py [--data-dir ../shared/data]

Prints a table and writes ``benchmarks/results/discovery_defaults.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.discovery import discover_intents
from labelwise.features import EmbeddingCache, SentenceEmbedder

HERE = Path(__file__).resolve().parent
SETTINGS: list[dict[str, Any]] = [
    {},
    {"cluster_selection_method": "eom"},
    {"min_cluster_size": 8},
    {"min_cluster_size": 3, "min_samples": 2},
]
SETS = {"snips": ("label", 2000), "trec": ("fine_label", 3000)}


def score(
    X: np.ndarray, texts: list[str], y: np.ndarray, settings: dict[str, Any]
) -> dict[str, Any]:
    clusters = discover_intents(X, texts, **settings)
    clustered = sum(c.size for c in clusters)
    majority = []
    for c in clusters:
        names, counts = np.unique(y[c.members], return_counts=True)
        majority.append((str(names[counts.argmax()]), int(counts.max())))
    return {
        "settings": settings or "defaults",
        "clusters": len(clusters),
        "clustered": clustered / len(y),
        "purity": sum(n for _, n in majority) / clustered if clustered else 0.0,
        "labels_leading_a_cluster": len({name for name, _ in majority}),
        "labels": len(set(y.tolist())),
        "largest": [c.name for c in clusters[:5]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "labelwise" / "embeddings"
    )
    args = parser.parse_args()
    embedder = SentenceEmbedder(cache=EmbeddingCache(args.cache_dir))
    rows_out: list[dict[str, Any]] = []
    for name, (field, n) in SETS.items():
        rows = [json.loads(line) for line in (args.data_dir / name / "train.jsonl").open()]
        chosen = np.sort(np.random.default_rng(0).choice(len(rows), n, replace=False))
        texts = [rows[i]["text"] for i in chosen]
        y = np.asarray([rows[i][field] for i in chosen])
        X = np.asarray(embedder.transform(texts), dtype=np.float32)
        for settings in SETTINGS:
            rows_out.append(
                {"data": f"{name} ({field}, {n} sampled)", **score(X, texts, y, settings)}
            )
    lines = [
        "| data | settings | clusters | clustered | purity | labels leading a cluster | largest clusters |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows_out:
        lines.append(
            f"| {r['data']} | {r['settings']} | {r['clusters']} | {r['clustered']:.3f} | "
            f"{r['purity']:.3f} | {r['labels_leading_a_cluster']} / {r['labels']} | "
            f"{', '.join(r['largest'])} |"
        )
    print("\n".join(lines))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "discovery_defaults.json").write_text(json.dumps(rows_out, indent=2) + "\n")
    (out / "discovery_defaults.md").write_text(
        "# HDBSCAN defaults beyond CLINC150\n\nCommand: `python benchmarks/discovery_defaults.py`\n\n"
        + "\n".join(lines)
        + "\n"
    )


if __name__ == "__main__":
    main()
