"""Weak supervision × active learning against active learning alone (issue 14).

Every human action is one unit: an item label (here; accepting or rejecting a suggested
function would be one too). The arms share each seed's first 10 random labels, then add
margin-chosen batches (10 at a time to 100 labels, 25 to 200, 50 after); the arms:

- ``active``: MiniLM beside TF-IDF + logistic regression (the recipe) on the human labels,
  ranking by its own margin.
- ``weak+active``: the same end model, answering together with the labeling functions
  (``labelwise.weak.combined_proba``: the product with the label model where a rule
  fires), the label model an accuracy-weighted vote calibrated on the human labels
  (``WeightedVote`` fitted with gold); margin of the combined answer ranks.
- ``weak+active_audit``: the same, but 20% of every batch is drawn at random and only
  those (and the seed set) calibrate the label model and choose its weight in the
  product (``labelwise.weak.combine.choose_label_weight``, 5-fold cross-validation:
  0, 0.25, 0.5 or 1; 1 below 20 such labels): actively chosen items are the hard ones.

At each checkpoint the ``weak+active`` arm also reports, on the same human labels: the
label model alone, Dawid-Skene fitted gold-aware, the end model trained on the human
labels plus the label model's on every other covered item (``weak_training_set``, weak
weight 0.5), and the unsupervised majority vote (Snorkel's ``LabelModel`` too when the
``snorkel`` package is installed; it is not a dependency). Test accuracy throughout;
rows no function covers fall to the model's prior (label models) or the end model.

    python benchmarks/weak_supervision.py --data-dir ../shared/data/trec

Writes ``benchmarks/results/weak_supervision[_<data set>].json`` and ``.md``. Needs
``labeling_functions.jsonl`` in the data folder (TREC's 68 shared rules, used as given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from labelwise.data import read_dataset
from labelwise.features import EmbeddingCache, SentenceEmbedder
from labelwise.recipes.classification import (
    DEFAULT_C,
    classification_featurizer,
    features_of,
    pool_features,
)
from labelwise.strategies._measures import margin
from labelwise.weak import (
    DawidSkene,
    LabelMatrix,
    MajorityVote,
    WeightedVote,
    apply_functions,
    read_labeling_functions,
    weak_training_set,
)
from labelwise.weak.combine import DEFAULT_LABEL_WEIGHT, choose_label_weight, combined_proba

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from label_efficiency import results_stem  # noqa: E402

SEED_LABELS = 10
ARMS = ("active", "weak+active", "weak+active_audit")
#: Share of each batch the audit arm draws at random: its label model and label weight
#: are fitted on these (and the seed set) only, since margin-chosen items are the hard
#: ones and make every rule look worse than it is.
AUDIT_SHARE = 0.2
WEAK_WEIGHT = 0.5
#: What each checkpoint reports for the weak+active arm, beside its combined answer.
MEASURES = ("combined", "end_model", "label_model", "dawid_skene", "weak_and_gold", "majority")
TITLES = {
    "active": "active learning alone (end model)",
    "combined": "weak × active: end model with the rules (combined)",
    "end_model": "weak × active: its end model alone",
    "label_model": "weak × active: label model alone (weighted vote, gold-calibrated)",
    "dawid_skene": "weak × active: Dawid-Skene, gold-aware",
    "weak_and_gold": f"weak × active: end model trained on weak ∪ gold (weight {WEAK_WEIGHT})",
    "majority": "majority vote of the rules (no human label)",
    "snorkel": "Snorkel LabelModel (unsupervised)",
    "combined_audit": "weak × active, rules calibrated on a 20% random share (combined)",
    "label_weight": "the label weight it chose on that share (mean)",
}


def next_batch(n_labeled: int) -> int:
    return 10 if n_labeled < 100 else 25 if n_labeled < 200 else 50


class Data:
    """Features, labels and the rules' votes for the pool (train) and the test split."""

    def __init__(self, data_dir: Path, cache_dir: Path) -> None:
        train = read_dataset(data_dir / "train.jsonl", require_labels=True)
        test = read_dataset(data_dir / "test.jsonl", require_labels=True)
        self.classes = sorted(set(train.labels))
        index = {c: k for k, c in enumerate(self.classes)}
        self.y = np.array([index[v] for v in train.labels])
        self.y_test = np.array([index[v] for v in test.labels])
        embedder = SentenceEmbedder(cache=EmbeddingCache(cache_dir))
        featurizer = classification_featurizer("minilm+tfidf", embedder=embedder)
        self.X = pool_features(featurizer, train.texts)
        self.X_test = features_of(featurizer, test.texts)
        functions = read_labeling_functions(data_dir / "labeling_functions.jsonl")
        self.n_functions = len(functions)
        self.L = apply_functions(functions, train.texts, self.classes)
        self.L_test = apply_functions(functions, test.texts, self.classes)
        self.covered = self.L.covered()
        self.covered_test = self.L_test.covered()

    def gold(self, positions: np.ndarray) -> dict[int, str]:
        return {int(i): self.classes[self.y[i]] for i in positions}

    def fit(self, rows: np.ndarray, labels: np.ndarray, weights: Any = None) -> Any:
        model = LogisticRegression(C=DEFAULT_C, max_iter=1000)
        return model.fit(self.X[rows], labels, sample_weight=weights)

    def proba(self, model: Any, X: Any) -> np.ndarray:
        out = np.zeros((X.shape[0], len(self.classes)))
        out[:, model.classes_] = model.predict_proba(X)
        return out

    def accuracy(self, proba: np.ndarray) -> float:
        return float((proba.argmax(axis=1) == self.y_test).mean())


def snorkel_accuracy(data: Data) -> float | None:
    """Snorkel's label model on the same votes, when the package is there (a comparator)."""
    try:
        from snorkel.labeling.model import (  # type: ignore[import-not-found]
            LabelModel as SnorkelLabelModel,
        )
    except ImportError:
        return None
    model = SnorkelLabelModel(cardinality=len(data.classes), verbose=False)
    model.fit(data.L.dense(), n_epochs=500, seed=0)
    return float((model.predict_proba(data.L_test.dense()).argmax(axis=1) == data.y_test).mean())


def label_model_accuracy(model: Any, data: Data, matrix: LabelMatrix) -> float:
    return data.accuracy(model.predict_proba(matrix))


def run_arm(arm: str, data: Data, seed: int, checkpoints: list[int]) -> dict[int, dict[str, float]]:
    rng = np.random.default_rng(seed)
    labeled = list(rng.choice(data.y.size, SEED_LABELS, replace=False))
    audit = list(labeled)  # items drawn at random: the seed set, then each batch's share
    out: dict[int, dict[str, float]] = {}
    while True:
        rows = np.array(labeled)
        end = data.fit(rows, data.y[rows])
        pool_proba = data.proba(end, data.X)
        voter, weight = None, DEFAULT_LABEL_WEIGHT
        if arm == "weak+active":
            voter = WeightedVote().fit(data.L, data.gold(rows))
        elif arm == "weak+active_audit":
            calibration = data.gold(np.array(audit))
            voter = WeightedVote().fit(data.L, calibration)
            weight = choose_label_weight(
                LogisticRegression(C=DEFAULT_C, max_iter=1000), data.X, data.L, voter, calibration
            ).weight
        if voter is not None:
            pool_proba = combined_proba(
                pool_proba, voter.predict_proba(data.L), data.covered, label_weight=weight
            )
        if rows.size in checkpoints:
            out[int(rows.size)] = measure(arm, data, rows, end, voter, weight)
            if rows.size == checkpoints[-1]:
                return out
        candidates = np.setdiff1d(np.arange(data.y.size), rows)
        batch = next_batch(rows.size)
        share = int(round(AUDIT_SHARE * batch)) if arm == "weak+active_audit" else 0
        drawn = rng.choice(candidates, share, replace=False) if share else candidates[:0]
        audit += drawn.tolist()
        candidates = np.setdiff1d(candidates, drawn)
        scores = margin(pool_proba[candidates])
        # Ties (common early on) go to a seeded random order, as in labelwise's strategies.
        order = np.lexsort((rng.random(candidates.size), -scores))
        labeled += drawn.tolist() + candidates[order[: batch - share]].tolist()


def measure(
    arm: str, data: Data, rows: np.ndarray, end: Any, voter: Any, weight: float
) -> dict[str, float]:
    end_test = data.proba(end, data.X_test)
    if voter is None:
        return {"active": data.accuracy(end_test)}
    combined = data.accuracy(
        combined_proba(
            end_test, voter.predict_proba(data.L_test), data.covered_test, label_weight=weight
        )
    )
    if arm == "weak+active_audit":
        return {"combined_audit": combined, "label_weight": weight}
    gold = data.gold(rows)
    train = weak_training_set(data.L, voter.predict_proba(data.L), gold, weak_weight=WEAK_WEIGHT)
    both = data.fit(train.positions, train.labels, train.weights)
    return {
        "combined": combined,
        "end_model": data.accuracy(end_test),
        "label_model": label_model_accuracy(voter, data, data.L_test),
        "dawid_skene": label_model_accuracy(DawidSkene().fit(data.L, gold), data, data.L_test),
        "weak_and_gold": data.accuracy(data.proba(both, data.X_test)),
        "majority": label_model_accuracy(MajorityVote().fit(data.L), data, data.L_test),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=HERE.parent.parent / "shared/data/trec")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--checkpoints", default="50,100,200,500")
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "labelwise" / "embeddings"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    checkpoints = sorted(int(c) for c in args.checkpoints.split(","))
    if checkpoints[0] < SEED_LABELS:
        parser.error(f"--checkpoints start at {SEED_LABELS} labels at least (the seed set)")
    started = time.perf_counter()
    data = Data(args.data_dir, args.cache_dir)
    runs: dict[str, list[dict[int, dict[str, float]]]] = {arm: [] for arm in args.arms.split(",")}
    if "active" not in runs or not set(runs) <= set(ARMS):
        parser.error(f"--arms: 'active' and any of {', '.join(ARMS[1:])}")
    for seed in range(args.seeds):
        for arm in runs:
            runs[arm].append(run_arm(arm, data, seed, checkpoints))
            print(f"seed {seed} {arm}: {runs[arm][-1]}", flush=True)
    snorkel = snorkel_accuracy(data)
    summary = summarize(runs, checkpoints)
    wall = time.perf_counter() - started
    table = markdown(args, data, summary, checkpoints, snorkel, wall)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = results_stem("weak_supervision", args.data_dir)
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    payload = {
        "data": str(args.data_dir),
        "seeds": args.seeds,
        "checkpoints": checkpoints,
        "functions": data.n_functions,
        "snorkel": snorkel,
        "summary": summary,
        "runs": {arm: [{str(k): v for k, v in r.items()} for r in rs] for arm, rs in runs.items()},
        "wall_seconds": wall,
    }
    (args.out / f"{stem}.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")


def summarize(
    runs: dict[str, list[dict[int, dict[str, float]]]], checkpoints: list[int]
) -> dict[str, dict[str, dict[str, float]]]:
    """measure → checkpoint → mean, sd, and (for combined) the gain over active alone."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for per_seed in runs.values():
        for name in per_seed[0][checkpoints[0]]:
            out[name] = {}
            for c in checkpoints:
                values = np.array([r[c][name] for r in per_seed])
                out[name][str(c)] = {"mean": float(values.mean()), "sd": float(values.std())}
    for arm, name in (("weak+active", "combined"), ("weak+active_audit", "combined_audit")):
        for c in checkpoints if arm in runs else []:
            gains = np.array(
                [
                    w[c][name] - a[c]["active"]
                    for w, a in zip(runs[arm], runs["active"], strict=True)
                ]
            )
            out[name][str(c)]["gain"] = float(gains.mean())
            out[name][str(c)]["gain_sd"] = float(gains.std())
    return out


def markdown(
    args: argparse.Namespace,
    data: Data,
    summary: dict[str, dict[str, dict[str, float]]],
    checkpoints: list[int],
    snorkel: float | None,
    wall: float,
) -> str:
    head = " | ".join(f"{c} actions" for c in checkpoints)
    lines = [
        f"# Weak supervision × active learning on {args.data_dir.name}",
        "",
        f"Command: `python benchmarks/weak_supervision.py --data-dir {args.data_dir} "
        f"--seeds {args.seeds} --checkpoints {args.checkpoints} --arms {args.arms}`",
        "",
        f"{data.n_functions} labeling functions as given; they vote on "
        f"{data.covered.mean():.1%} of the {data.y.size:,} pool items and "
        f"{data.covered_test.mean():.1%} of the {data.y_test.size:,} test items. Test "
        f"accuracy, mean ± sd over {args.seeds} seeds; each human label is one action.",
        "",
        f"| | {head} |",
        "|---|" + "---:|" * len(checkpoints),
    ]
    for name in ("active", *MEASURES, "combined_audit", "label_weight"):
        if name not in summary:
            continue
        cells = [
            f"{summary[name][str(c)]['mean']:.3f} ± {summary[name][str(c)]['sd']:.3f}"
            for c in checkpoints
        ]
        lines.append(f"| {TITLES[name]} | " + " | ".join(cells) + " |")
    for name, words in (("combined", "label weight 1"), ("combined_audit", "random share")):
        if name not in summary:
            continue
        gains = [
            f"{summary[name][str(c)]['gain'] * 100:+.1f} ± {summary[name][str(c)]['gain_sd'] * 100:.1f}"
            for c in checkpoints
        ]
        lines.append(
            f"| **gain over active alone, {words} (points)** | " + " | ".join(gains) + " |"
        )
    snorkel_line = (
        f"Snorkel's LabelModel on the same votes: {snorkel:.3f}."
        if snorkel is not None
        else "Snorkel's LabelModel: not installed here (a comparator only, never a dependency)."
    )
    lines += [
        "",
        snorkel_line,
        "",
        f"Wall time {wall:.0f} s on {platform.machine()}, {os.cpu_count()} CPUs.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
