"""Do actively chosen labels help a model other than the one that chose them? (issue 13, part 3)

Lowell et al. (2019) found that labels chosen by active learning do not always help a
different model trained on them later, and teams often train their production model that
way. This benchmark has one chooser (MiniLM + logistic regression C=10, the labelwise
default) pick labels under each configuration, then trains *other* learners on the labels it
had chosen at 1,000 / 1,500 / 2,000, and on as many random labels:

- the chooser itself (MiniLM + logistic regression), for reference;
- TF-IDF (word 1-2-grams, sublinear tf) + linear SVM;
- TF-IDF + logistic regression (C=10);
- TF-IDF + complement naive Bayes;
- k nearest neighbours (k=5, cosine) on MiniLM.

Configurations: random; margin; cluster-margin (diversity-aware batches); margin with a 30%
random share of every batch (``RandomShare``); class-balanced margin. Every run starts from
100 random labels (the same under one seed for every configuration) and adds batches of 100.

    python benchmarks/successor_models.py --data-dir ../shared/data/clinc150

Writes ``benchmarks/results/successor_models[_<data set>].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC

from labelwise.data import LabelSchema, Pool, read_dataset
from labelwise.features import EmbeddingCache, SentenceEmbedder
from labelwise.learners import ProbabilisticClassifier
from labelwise.recipes.classification import (
    classification_committee,
    classification_featurizer,
    features_of,
    pool_features,
)
from labelwise.strategies import (
    ClassBalanced,
    ClusterMargin,
    KLMaxDisagreement,
    MarginSampling,
    QueryStrategy,
    RandomSampling,
    RandomShare,
    strategy_title,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from label_efficiency import results_stem  # noqa: E402

CHOOSERS: dict[str, Callable[[], QueryStrategy]] = {
    "random": RandomSampling,
    "margin": MarginSampling,
    "cluster_margin": ClusterMargin,
    "margin+random_share": lambda: RandomShare(MarginSampling(), share=0.3),
    "margin+class_balanced": lambda: ClassBalanced(MarginSampling()),
    "committee_kl": KLMaxDisagreement,
    "committee_margin": MarginSampling,
}
#: Choosers whose model is a committee of different learners (``MixedCommittee``), not
#: the one logistic regression: they need ``--chooser-features minilm+tfidf``.
COMMITTEE_CHOOSERS = frozenset({"committee_kl", "committee_margin"})
TITLES = {
    "margin+random_share": "Margin, 30% of each batch random",
    "margin+class_balanced": "Margin, class-balanced",
    "committee_kl": "Committee of different learners, KL disagreement",
    "committee_margin": "Committee of different learners, margin of the mean",
}


def title(name: str) -> str:
    return TITLES.get(name) or strategy_title(name)


def chooser(schema: LabelSchema) -> ProbabilisticClassifier:
    return ProbabilisticClassifier(
        LogisticRegression(C=10.0, max_iter=1000), classes=schema.classes
    )


#: name -> (features it reads, unfitted model); the first is the chooser's own model
SUCCESSORS: dict[str, tuple[str, Callable[[], Any]]] = {
    "MiniLM + logistic regression (the chooser)": (
        "minilm",
        lambda: LogisticRegression(C=10.0, max_iter=1000),
    ),
    "MiniLM+TF-IDF + logistic regression (the chooser)": (
        "minilm+tfidf",
        lambda: LogisticRegression(C=10.0, max_iter=1000),
    ),
    "TF-IDF + linear SVM": ("tfidf", lambda: LinearSVC(C=1.0)),
    "TF-IDF + logistic regression": ("tfidf", lambda: LogisticRegression(C=10.0, max_iter=1000)),
    "TF-IDF + naive Bayes": ("tfidf", lambda: ComplementNB(alpha=0.3)),
    "MiniLM + 5-NN (cosine)": ("minilm", lambda: KNeighborsClassifier(5, metric="cosine")),
}


def choose(
    name: str,
    seed: int,
    X: Any,
    labels: np.ndarray,
    schema: LabelSchema,
    init: int,
    batch: int,
    checkpoints: list[int],
    width: int | None = None,
) -> dict[int, np.ndarray]:
    """The labeled positions at each checkpoint when ``name`` chooses from rows ``X``;
    ``width``: the MiniLM columns of ``minilm+tfidf`` rows (committee choosers only)."""
    pool = Pool(X)
    labeled = list(
        np.random.default_rng([seed, 0x5EED]).choice(len(labels), size=init, replace=False)
    )
    strategy = CHOOSERS[name]()
    chosen: dict[int, np.ndarray] = {}
    step = 0
    while len(labeled) <= max(checkpoints):
        if len(labeled) in checkpoints:
            chosen[len(labeled)] = np.asarray(labeled)
        if len(labeled) == max(checkpoints):
            break
        learner = (
            classification_committee(schema.classes, features="minilm+tfidf", width=width)
            if name in COMMITTEE_CHOOSERS and width is not None
            else chooser(schema)
        )
        model = (
            learner.fit(X[labeled], labels[labeled].tolist()) if strategy.requires_learner else None
        )
        unlabeled = np.setdiff1d(np.arange(len(labels)), labeled)
        query = strategy.query(
            model,
            pool,
            np.asarray(labeled),
            unlabeled,
            batch,
            random_state=np.random.default_rng([seed, step]),
        )
        labeled.extend(int(i) for i in query.indices)
        step += 1
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--init", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--checkpoints", default="1000,1500,2000")
    parser.add_argument(
        "--choosers", default=",".join(n for n in CHOOSERS if n not in COMMITTEE_CHOOSERS)
    )
    parser.add_argument(
        "--chooser-features",
        choices=("minilm", "minilm+tfidf"),
        default="minilm",
        help="what the chooser reads: minilm+tfidf is the recipe's default "
        "(labelwise.recipes.classification); committee choosers need it",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "labelwise" / "embeddings"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    checkpoints = [int(c) for c in args.checkpoints.split(",")]
    names = [n for n in args.choosers.split(",") if n]
    unknown = sorted(set(names) - set(CHOOSERS))
    if unknown:
        parser.error(f"unknown chooser(s) {unknown}; choose from {', '.join(CHOOSERS)}")
    if COMMITTEE_CHOOSERS & set(names) and args.chooser_features != "minilm+tfidf":
        parser.error("committee choosers need --chooser-features minilm+tfidf")
    if any((c - args.init) % args.batch for c in checkpoints):
        parser.error("every checkpoint must be --init plus a whole number of batches")

    started = time.perf_counter()
    train = read_dataset(args.data_dir / "train.jsonl", require_labels=True)
    test = read_dataset(args.data_dir / "test.jsonl", require_labels=True)
    embedder = SentenceEmbedder(cache=EmbeddingCache(args.cache_dir))
    features = {
        "minilm": (embedder.transform(train.texts), embedder.transform(test.texts)),
    }
    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1).fit(train.texts)
    features["tfidf"] = (tfidf.transform(train.texts), tfidf.transform(test.texts))
    labels = np.asarray([str(v) for v in train.labels], dtype=object)
    y_test = np.asarray([str(v) for v in test.labels], dtype=object)
    schema = LabelSchema(sorted(set(labels.tolist()) | set(y_test.tolist())))
    chooser_X: Any = features["minilm"][0]
    width = None
    if args.chooser_features == "minilm+tfidf":
        width = chooser_X.shape[1]
        featurizer = classification_featurizer(args.chooser_features, embedder=embedder)
        chooser_X = sp.csr_matrix(pool_features(featurizer, train.texts, embeddings=chooser_X))

    if width is not None:
        features["minilm+tfidf"] = (
            chooser_X,
            sp.csr_matrix(features_of(featurizer, test.texts, embeddings=features["minilm"][1])),
        )
    # The chooser's own model first, then the others.
    successors = [
        name
        for name, (space, _) in SUCCESSORS.items()
        if "(the chooser)" not in name or space == args.chooser_features
    ]
    rows = []
    for seed in range(args.seeds):
        for name in names:
            t0 = time.perf_counter()
            chosen = choose(
                name, seed, chooser_X, labels, schema, args.init, args.batch, checkpoints, width
            )
            for count, positions in chosen.items():
                for successor in successors:
                    space, make = SUCCESSORS[successor]
                    X, X_test = features[space]
                    model = make().fit(X[positions], labels[positions])
                    score = float(np.mean(model.predict(X_test) == y_test))
                    rows.append(
                        {
                            "chooser": name,
                            "seed": seed,
                            "labels": count,
                            "successor": successor,
                            "accuracy": score,
                        }
                    )
            print(
                f"seed {seed} {name}: "
                + ", ".join(
                    f"{r['labels']}/{r['successor'].split(' (')[0]}: {r['accuracy']:.3f}"
                    for r in rows
                    if r["chooser"] == name and r["seed"] == seed
                )
                + f" ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
    table = summarize(rows, names, checkpoints, successors)
    meta = {
        "command": "python benchmarks/successor_models.py " + " ".join(sys.argv[1:]),
        "data": args.data_dir.name,
        "seeds": args.seeds,
        "init": args.init,
        "batch": args.batch,
        "chooser_features": args.chooser_features,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "seconds": time.perf_counter() - started,
    }
    stem = results_stem("successor_models", args.data_dir)
    if args.chooser_features != "minilm":  # MiniLM's results keep their names
        stem += "_" + args.chooser_features.replace("+", "_")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(
        json.dumps({"meta": meta, "summary": table, "runs": rows}, indent=1)
    )
    text = markdown(table, meta, names, checkpoints, successors)
    (args.out / f"{stem}.md").write_text(text, encoding="utf-8")
    print(text)


def summarize(
    rows: list[dict[str, Any]], names: list[str], checkpoints: list[int], successors: list[str]
) -> list[dict[str, Any]]:
    """Mean accuracy per (successor, chooser, labels), its gain over random at the same
    count, and in how many seeds the chooser beat random."""
    out = []
    for successor in successors:
        for count in checkpoints:
            random = {
                r["seed"]: r["accuracy"]
                for r in rows
                if r["chooser"] == "random" and r["labels"] == count and r["successor"] == successor
            }
            for name in names:
                mine = {
                    r["seed"]: r["accuracy"]
                    for r in rows
                    if r["chooser"] == name and r["labels"] == count and r["successor"] == successor
                }
                gains = [mine[s] - random[s] for s in mine if s in random]
                out.append(
                    {
                        "successor": successor,
                        "labels": count,
                        "chooser": name,
                        "accuracy": float(np.mean(list(mine.values()))),
                        "gain_over_random": float(np.mean(gains))
                        if gains and name != "random"
                        else None,
                        "seeds_better": sum(g > 0 for g in gains) if name != "random" else None,
                        "seeds": len(gains),
                    }
                )
    return out


def markdown(
    table: list[dict[str, Any]],
    meta: dict[str, Any],
    names: list[str],
    checkpoints: list[int],
    successors: list[str],
) -> str:
    lines = [
        f"# Actively chosen labels, other models: {meta['data']}",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"One chooser ({meta.get('chooser_features', 'minilm')} + logistic regression C=10; the "
        "committee choosers add naive Bayes on its TF-IDF block and 5-NN on its MiniLM block) "
        "picks labels under each configuration "
        f"from {meta['init']} random labels in batches of {meta['batch']}; each other learner is "
        "trained on the labels chosen by each count and scored on the test split. Cells: mean "
        f"test accuracy over {meta['seeds']} seeds; in brackets the change against random "
        "labels of the same count, in points, and the seeds where it was better.",
        "",
    ]
    header = (
        "| learner trained on the labels | labels | " + " | ".join(title(n) for n in names) + " |"
    )
    lines += [header, "|" + "---|" * (2 + len(names))]
    for successor in successors:
        for count in checkpoints:
            cells = []
            for name in names:
                row = next(
                    r
                    for r in table
                    if (r["successor"], r["labels"], r["chooser"]) == (successor, count, name)
                )
                cell = f"{row['accuracy']:.3f}"
                if row["gain_over_random"] is not None:
                    cell += f" ({100 * row['gain_over_random']:+.1f}, {row['seeds_better']}/{row['seeds']})"
                cells.append(cell)
            lines.append(f"| {successor} | {count:,} | " + " | ".join(cells) + " |")
    lines += ["", f"Machine: {meta['machine']}; {meta['seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
