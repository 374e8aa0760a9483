"""The live labels-saved estimate against the truth, in simulation (issue 13, part 1).

A project labeling its own data sees, on its dashboard, "random sampling would need about X
labels (interval) to reach today's accuracy". The server computes it with
:func:`labelwise.evaluation.estimate_random_labels` from the random audit sample alone. This
benchmark runs that same function inside simulated projects, where the truth is known:

- a margin-sampling run as the server runs it (MiniLM + logistic regression C=10, 150 random
  seed labels, batches of 100 served items of which ``--audit-share`` are random audit items,
  never trained on);
- at every checkpoint from ``--from`` served labels on, the estimate from the audit items,
  and for larger audit shares (``--more-audit``) the estimate from that many random items, to
  show how large an audit the estimate needs;
- the truth: the labels at which the data set's random-sampling curve (the mean of
  ``--truth-draws`` random orders of the whole pool, scored on the test split) first
  reaches the run's accuracy;
- "exact curve": the same power-law fit made to the *true* random curve over the range of
  label counts the audit sample covers, which shows what any fit to that range can do
  when the scatter of small samples is removed.

Targets (issue 13): from 1,000 labels on, the truth inside the reported interval in >= 90%
of checkpoints and the point estimate within +-25% of it.

    python benchmarks/live_savings.py --data-dir ../shared/data/clinc150 --data-dir ../shared/data/trec

Writes ``benchmarks/results/live_savings.json`` and ``live_savings.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from labelwise.data import LabelSchema, Pool, read_dataset
from labelwise.evaluation import estimate_random_labels, fit_learning_curve
from labelwise.evaluation.labels_saved import RandomLabelsEstimate
from labelwise.features import EmbeddingCache, SentenceEmbedder
from labelwise.learners import ProbabilisticClassifier
from labelwise.strategies import MarginSampling

HERE = Path(__file__).resolve().parent
TARGET_COVERAGE = 0.90
TARGET_ERROR = 0.25


@dataclass(frozen=True)
class TrueCurve:
    """The random-sampling curve of one data set: mean score per label count."""

    n_labels: np.ndarray
    scores: np.ndarray

    def labels_for(self, score: float) -> float:
        """Labels where the (running-maximum) curve first reaches ``score``, interpolated in
        log labels; ``inf`` when it never does within the pool."""
        envelope = np.maximum.accumulate(self.scores)
        hit = np.flatnonzero(envelope >= score)
        if hit.size == 0:
            return math.inf
        i = int(hit[0])
        if i == 0:
            return float(self.n_labels[0])
        logs = np.log(self.n_labels[i - 1 : i + 1])
        return float(np.exp(np.interp(score, envelope[i - 1 : i + 1], logs)))


#: Where a simulated project's evaluation set comes from.
EVAL_SETS = {
    "test": "eval = the test split",
    "pool": "eval = 20% of train held out",
}
#: The settings a project with each evaluation set runs: a slice of the pool may train the
#: curve (``evaluation_like_pool``); for a test split from elsewhere the default (audit only)
#: and, to show what it costs, the setting wrongly on.
SERVER_MODES = {"pool": [True], "test": [False, True]}
#: Share of the train split held out as the evaluation set under ``--eval-sets pool``.
HELD_OUT = 0.2


def evaluation_split(
    source: str, X: np.ndarray, y: list[str], X_test: np.ndarray, y_test: list[str]
) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """(pool, pool labels, evaluation set, its labels). ``test``: the data set's own test
    split, which may differ from the train split (CLINC150's is 18% out-of-scope, TREC's
    from another year). ``pool``: a random 20% of the train split, the way a team holds
    out a slice of its own data, so evaluation items are like the pool's."""
    if source == "test":
        return X, y, X_test, y_test
    order = np.random.default_rng(0xE7A1).permutation(len(y))
    cut = int(HELD_OUT * len(y))
    held, kept = np.sort(order[:cut]), np.sort(order[cut:])
    labels = np.asarray(y, dtype=object)
    return X[kept], labels[kept].tolist(), X[held], labels[held].tolist()


def learner_for(schema: LabelSchema) -> ProbabilisticClassifier:
    return ProbabilisticClassifier(
        LogisticRegression(C=10.0, max_iter=1000), classes=schema.classes
    )


def accuracy(model: Any, features: np.ndarray, labels: list[str]) -> float:
    return float(
        np.mean(
            np.asarray(model.predict(features), dtype=object) == np.asarray(labels, dtype=object)
        )
    )


def true_curve(
    X: np.ndarray,
    y: list[str],
    X_test: np.ndarray,
    y_test: list[str],
    schema: LabelSchema,
    draws: int,
) -> TrueCurve:
    sizes = np.unique(np.geomspace(40, len(y), 30).astype(int))
    labels = np.asarray(y, dtype=object)
    scores = np.zeros((draws, sizes.size))
    for d in range(draws):
        order = np.random.default_rng([d, 0xC0FFEE]).permutation(len(y))
        for j, n in enumerate(sizes):
            take = order[:n]
            model = learner_for(schema).fit(X[take], labels[take].tolist())
            scores[d, j] = accuracy(model, X_test, y_test)
    return TrueCurve(sizes.astype(np.float64), scores.mean(axis=0))


def cached_true_curve(path: Path, compute: Callable[[], TrueCurve]) -> TrueCurve:
    """The true curve from ``path`` when an earlier run stored it (it depends only on the
    data, the evaluation split and the number of draws), else computed and stored."""
    if path.exists():
        data = json.loads(path.read_text())
        return TrueCurve(np.asarray(data["n_labels"]), np.asarray(data["scores"]))
    curve = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"n_labels": curve.n_labels.tolist(), "scores": curve.scores.tolist()})
    )
    return curve


def exact_curve_estimate(
    truth: TrueCurve, estimate: RandomLabelsEstimate, audit_size: int, score: float
) -> float:
    """The estimator's power law fitted to the true curve over the range of label counts
    the estimate's curve spans (an eighth of the audit sample to all of it when it drew
    none)."""
    smallest, largest = (
        (estimate.curve[0][0], estimate.curve[-1][0])
        if estimate.curve
        else (audit_size / 8, audit_size)
    )
    inside = (truth.n_labels >= smallest) & (truth.n_labels <= largest)
    keep = np.flatnonzero(inside)
    if np.unique(truth.n_labels[keep]).size < 3:
        # The grid is geometric: take the three true points nearest the range's top.
        keep = np.argsort(np.abs(np.log(truth.n_labels / largest)))[:3]
    fit = fit_learning_curve(truth.n_labels[keep], truth.scores[keep], n_bootstrap=1)
    return fit.curve.labels_for(score)


def run_seed(
    name: str,
    seed: int,
    X: np.ndarray,
    y: list[str],
    X_test: np.ndarray,
    y_test: list[str],
    schema: LabelSchema,
    truth: TrueCurve,
    modes: list[bool],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    rng = np.random.default_rng([seed, 0xA0D17])
    labels = np.asarray(y, dtype=object)
    pool = Pool(X)
    n_pool = len(y)
    active = list(rng.choice(n_pool, size=args.init, replace=False))
    audit: list[int] = []
    served = args.init
    per_round_audit = int(round(args.audit_share * args.batch))
    strategy = MarginSampling()
    rows = []
    shares = [args.audit_share, *args.more_audit]
    while served <= args.budget:
        model = learner_for(schema).fit(X[active], labels[active].tolist())
        if served >= args.start and (served - args.start) % args.every == 0:
            score = accuracy(model, X_test, y_test)
            true_labels = truth.labels_for(score)
            # As the server does: the pool's class mix is the model's predicted classes.
            mix = Counter(str(c) for c in model.predict(X))
            for share, train_on_eval in [(s, t) for s in shares for t in modes]:
                items = _audit_items(audit, share, served, active, n_pool, seed)
                t0 = time.perf_counter()
                estimate = estimate_random_labels(
                    learner_for(schema),
                    X[items],
                    labels[items].tolist(),
                    model_score=score,
                    model_labels=len(active),
                    eval_features=X_test,
                    eval_labels=y_test,
                    train_on_eval=train_on_eval,
                    class_prior=mix,
                    pool_size=n_pool,
                    n_classes=len(set(labels[active].tolist())),
                    random_state=seed,
                )
                rows.append(
                    _row(
                        name,
                        seed,
                        share,
                        _mode(train_on_eval),
                        served,
                        len(active),
                        items.size,
                        score,
                        true_labels,
                        estimate,
                        exact_curve_estimate(truth, estimate, items.size, score),
                        time.perf_counter() - t0,
                    )
                )
                print(_line(rows[-1]), flush=True)
        if served == args.budget:
            break
        unlabeled = np.setdiff1d(np.arange(n_pool), np.asarray(active + audit))
        picked_audit = rng.choice(unlabeled, size=per_round_audit, replace=False)
        audit.extend(int(i) for i in picked_audit)
        unlabeled = np.setdiff1d(unlabeled, picked_audit)
        query = strategy.query(
            model,
            pool,
            np.asarray(active),
            unlabeled,
            args.batch - per_round_audit,
            random_state=seed,
        )
        active.extend(int(i) for i in query.indices)
        served += args.batch
    return rows


def _audit_items(
    audit: list[int], share: float, served: int, active: list[int], n_pool: int, seed: int
) -> np.ndarray:
    """The run's audit items, topped up with further random items (never trained on) to
    ``share`` of the served labels: what a larger audit would have held."""
    want = int(round(share * served))
    have = np.asarray(audit, dtype=np.intp)
    if want <= have.size:
        return have
    rest = np.setdiff1d(np.arange(n_pool), np.concatenate([have, np.asarray(active)]))
    extra = np.random.default_rng([seed, served, 7]).choice(
        rest, size=want - have.size, replace=False
    )
    return np.concatenate([have, extra.astype(np.intp)])


def _mode(train_on_eval: bool) -> str:
    return "audit + evaluation set" if train_on_eval else "audit only"


def _row(
    name: str,
    seed: int,
    share: float,
    mode: str,
    served: int,
    trained: int,
    audit: int,
    score: float,
    truth: float,
    estimate: RandomLabelsEstimate,
    exact: float,
    seconds: float,
) -> dict[str, Any]:
    given = estimate.estimated and estimate.random_labels is not None
    inside = None
    error = None
    if given and math.isfinite(truth):
        inside = bool(estimate.low <= truth <= estimate.high)  # type: ignore[operator]
        # No point ("at least ``low``") has no error to count.
        point = float(estimate.random_labels)  # type: ignore[arg-type]
        error = point / truth - 1 if math.isfinite(point) else None
    elif given:
        inside = bool(estimate.high == math.inf or estimate.beyond_pool)
    return {
        "data": name,
        "seed": seed,
        "audit_share": share,
        "random_labels": mode,
        "largest_subset": estimate.largest_subset,
        "eval_shift": estimate.eval_shift,
        "served": served,
        "trained": trained,
        "audit_labels": audit,
        "accuracy": score,
        "true_random_labels": None if not math.isfinite(truth) else truth,
        "estimated": given,
        "reason": estimate.reason,
        "audit_labels_needed": estimate.audit_labels_needed,
        "point": _finite(estimate.random_labels),
        "low": _finite(estimate.low),
        "high": _finite(estimate.high),
        "inside": inside,
        "relative_error": error,
        "exact_curve_point": _finite(exact),
        "exact_curve_error": (exact / truth - 1)
        if math.isfinite(truth) and math.isfinite(exact)
        else None,
        "seconds": round(seconds, 2),
    }


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _line(row: dict[str, Any]) -> str:
    truth = row["true_random_labels"]
    shown = "—" if truth is None else f"{truth:,.0f}"
    if row["estimated"]:
        high = "∞" if row["high"] is None else f"{row['high']:,.0f}"
        est = f"{row['point'] or float('inf'):,.0f} [{row['low']:,.0f}, {high}] inside={row['inside']}"
    else:
        est = "withheld"
    exact = "∞" if row["exact_curve_point"] is None else f"{row['exact_curve_point']:,.0f}"
    return (
        f"{row['data']} seed {row['seed']} audit {row['audit_share']:.0%} ({row['audit_labels']}), "
        f"{row['random_labels']} (largest subset {row['largest_subset']}, eval shift "
        f"{'—' if row['eval_shift'] is None else format(row['eval_shift'], '.3f')}) "
        f"served {row['served']:,} acc {row['accuracy']:.3f}: truth {shown}, estimate {est}, "
        f"exact-curve fit {exact} ({row['seconds']} s)"
    )


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for key in sorted({(r["data"], r["audit_share"], r["random_labels"]) for r in rows}):
        group = [r for r in rows if (r["data"], r["audit_share"], r["random_labels"]) == key]
        given = [r for r in group if r["estimated"]]
        errors = [abs(r["relative_error"]) for r in given if r["relative_error"] is not None]
        exact = [abs(r["exact_curve_error"]) for r in group if r["exact_curve_error"] is not None]
        out.append(
            {
                "data": key[0],
                "audit_share": key[1],
                "random_labels": key[2],
                "checkpoints": len(group),
                "estimated": len(given),
                "inside_of_all": sum(bool(r["inside"]) for r in group) / len(group),
                "inside_of_estimated": (sum(bool(r["inside"]) for r in given) / len(given))
                if given
                else None,
                "within_25pct_of_estimated": (sum(e <= TARGET_ERROR for e in errors) / len(errors))
                if errors
                else None,
                "median_abs_error": float(np.median(errors)) if errors else None,
                "exact_curve_median_abs_error": float(np.median(exact)) if exact else None,
                "exact_curve_within_25pct": (sum(e <= TARGET_ERROR for e in exact) / len(exact))
                if exact
                else None,
            }
        )
    return out


def markdown(summary: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.0%}"

    lines = [
        "# Live labels-saved estimate against the truth",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Margin sampling (MiniLM + logistic regression C=10, {meta['init']} random seed labels, "
        f"batches of {meta['batch']} served items), seeds {meta['seeds']}, checkpoints every "
        f"{meta['every']} served labels from {meta['start']:,} to {meta['budget']:,}. The estimate is "
        "`labelwise.evaluation.estimate_random_labels`, the function the server's retrain worker "
        "runs; the truth is the label count where the data set's random curve (mean of "
        f"{meta['truth_draws']} random orders of the whole pool) reaches the run's test accuracy. "
        f"Targets: truth inside the interval in >= {TARGET_COVERAGE:.0%} of checkpoints, point "
        f"within +-{TARGET_ERROR:.0%}. *Curve trained on*: `audit only` is a project's default; "
        "`audit + evaluation set` a project that sets `evaluation_like_pool` (its evaluation set "
        "drawn from the pool's source), still checked against the audit sample. The evaluation "
        "set is 20% of the train split held out (like the pool) or the data set's test split "
        "(not like it: there the setting is wrongly on, to show what that costs).",
        "",
        "| data | audit share | curve trained on | checkpoints | estimated | truth inside (all checkpoints) | inside (estimated) | point within ±25% | median abs. error | exact-curve fit: median abs. error | exact-curve within ±25% |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        err = "—" if s["median_abs_error"] is None else f"{s['median_abs_error']:.0%}"
        exact = (
            "—"
            if s["exact_curve_median_abs_error"] is None
            else f"{s['exact_curve_median_abs_error']:.0%}"
        )
        lines.append(
            f"| {s['data']} | {s['audit_share']:.0%} | {s['random_labels']} | {s['checkpoints']} | {s['estimated']} | "
            f"{pct(s['inside_of_all'])} | {pct(s['inside_of_estimated'])} | "
            f"{pct(s['within_25pct_of_estimated'])} | {err} | {exact} | {pct(s['exact_curve_within_25pct'])} |"
        )
    lines += [
        "",
        "*Exact-curve fit*: the estimator's power law fitted to the true random curve over the "
        "label counts the estimate's own curve spans (an eighth of the audit sample to all of it "
        "when it drew none), without the scatter of small samples: what a fit over that range "
        "can do at best.",
        "",
        f"Machine: {meta['machine']}; {meta['seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def _bad_eval_set(name: str) -> bool:
    raise argparse.ArgumentTypeError(
        f"unknown evaluation set {name!r}: choose from {', '.join(EVAL_SETS)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, action="append", required=True)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--init", type=int, default=150)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--audit-share", type=float, default=0.1)
    parser.add_argument(
        "--more-audit", type=lambda s: [float(x) for x in s.split(",") if x], default=[]
    )
    parser.add_argument(
        "--modes",
        type=lambda s: [{"audit+eval": True, "audit": False}[x] for x in s.split(",")],
        default=None,
        help="which random labels may train the curve: audit+eval (a project with "
        "evaluation_like_pool set), audit (the default setting); comma-separated. Default: "
        "audit+eval for the pool slice, which is like the pool; both for the test split, to "
        "show what setting it wrongly costs",
    )
    parser.add_argument(
        "--eval-sets",
        type=lambda s: [x for x in s.split(",") if x in EVAL_SETS or _bad_eval_set(x)],
        default=["pool", "test"],
        help="the simulated project's evaluation set: pool (20%% of train held out), test "
        "(the test split); comma-separated",
    )
    parser.add_argument("--start", type=int, default=1000, help="first checkpoint (served labels)")
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--budget", type=int, default=2500)
    parser.add_argument("--truth-draws", type=int, default=3)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path.home() / ".cache" / "labelwise" / "embeddings"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--append",
        action="store_true",
        help="add this run's checkpoints to the results already in --out (another data set "
        "or setting) and summarise them all",
    )
    args = parser.parse_args()
    if (
        (args.start - args.init) % args.batch
        or args.every % args.batch
        or (args.budget - args.init) % args.batch
    ):
        parser.error(
            "--start, --every and --budget must fall on round boundaries (init + k * batch)."
        )

    started = time.perf_counter()
    embedder = SentenceEmbedder(cache=EmbeddingCache(args.cache_dir))
    rows: list[dict[str, Any]] = []
    for data_dir in args.data_dir:
        train = read_dataset(data_dir / "train.jsonl", require_labels=True)
        test = read_dataset(data_dir / "test.jsonl", require_labels=True)
        X_train, X_test = embedder.transform(train.texts), embedder.transform(test.texts)
        y_train = [str(v) for v in train.labels]
        y_test = [str(v) for v in test.labels]
        schema = LabelSchema(sorted(set(y_train) | set(y_test)))
        for source in args.eval_sets:
            X, y, X_eval, y_eval = evaluation_split(source, X_train, y_train, X_test, y_test)
            name = f"{data_dir.name} ({EVAL_SETS[source]})"
            t0 = time.perf_counter()
            truth = cached_true_curve(
                args.cache_dir.parent
                / f"live_savings_truth_{data_dir.name}_{source}_{args.truth_draws}.json",
                partial(true_curve, X, y, X_eval, y_eval, schema, args.truth_draws),
            )
            print(
                f"{name}: true random curve in {time.perf_counter() - t0:.0f} s: "
                + ", ".join(
                    f"{n:.0f}:{s:.3f}" for n, s in zip(truth.n_labels, truth.scores, strict=True)
                ),
                flush=True,
            )
            for seed in range(args.seeds):
                modes = args.modes if args.modes is not None else SERVER_MODES[source]
                rows.extend(run_seed(name, seed, X, y, X_eval, y_eval, schema, truth, modes, args))
    command = "python benchmarks/live_savings.py " + " ".join(sys.argv[1:])
    earlier = args.out / "live_savings.json"
    seconds = time.perf_counter() - started
    if args.append and earlier.exists():
        before = json.loads(earlier.read_text())
        rows = before["checkpoints"] + rows
        command = f"{before['meta']['command']}; then {command}"
        seconds += before["meta"]["seconds"]
    summary = summarize(rows)
    meta = {
        "command": command,
        "init": args.init,
        "batch": args.batch,
        "seeds": args.seeds,
        "every": args.every,
        "start": args.start,
        "budget": args.budget,
        "truth_draws": args.truth_draws,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "seconds": seconds,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "live_savings.json").write_text(
        json.dumps({"meta": meta, "summary": summary, "checkpoints": rows}, indent=1)
    )
    text = markdown(summary, meta)
    (args.out / "live_savings.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
