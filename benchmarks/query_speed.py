"""Wall time and peak memory of one margin query (top 100) over a 1,000,000-item pool.

labelwise against modAL, small-text and scikit-activeml, each in a fresh subprocess so
peak resident memory is per library. Every child builds the same pool from the same seed
(1,000,000 x 384 float32 rows, unit-normalised Gaussian: 1.536 GB) and fits the same
``LogisticRegression(C=10, max_iter=200)`` on 3,000 synthetic labeled rows (150 class
centres + noise), then times a margin query of 100 items over the whole pool:

- labelwise: ``MarginSampling().query(ProbabilisticClassifier(...).fit(...), Pool(X), ...)``
- modAL: ``ActiveLearner(estimator=<the fitted LogisticRegression>,
  query_strategy=modAL.uncertainty.margin_sampling).query(X, n_instances=100)``
- small-text: ``BreakingTies().query(SklearnClassifier(<the fitted LogisticRegression>, 150),
  SklearnDataset(X, y_unlabeled), ...)`` (a pre-fitted model is passed as ``model``;
  ``SklearnClassifier.predict_proba`` only calls ``model.predict_proba``)
- scikit-activeml: ``UncertaintySampling(method="margin_sampling").query(X, y_missing,
  clf, fit_clf=False, batch_size=100)`` with ``skactiveml.classifier.SklearnClassifier``
  fitted on the same 3,000 rows (lbfgs is deterministic: the child reports the largest
  coefficient difference to labelwise's model, and every child reports how many of its
  100 picks agree with labelwise's)

Wall time is the median of ``--repeats`` queries after one warm-up; a peer whose warm-up
exceeds ``--slow-seconds`` gets fewer repeats (reported). Peak memory is
``getrusage(RUSAGE_SELF).ru_maxrss`` of the child (pool included, nothing subtracted). A
peer that cannot be imported is reported as skipped with the error; no number is made up.
The labelwise child also reports where its query time goes (a separate child, so the
breakdown does not touch the measured peak).

The peers live in their own environment (never in pyproject.toml)::

    python3 -m venv .venv-peers && . .venv-peers/bin/activate \\
        && pip install torch==2.13.0 \\
        && pip install -e '.[embeddings]' -r benchmarks/requirements-peers.txt
    python benchmarks/query_speed.py

Writes ``benchmarks/results/query_speed.json`` and ``query_speed.md``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from labelwise.data import Pool
from labelwise.learners import ProbabilisticClassifier
from labelwise.strategies import MarginSampling
from labelwise.strategies._select import top_k

HERE = Path(__file__).resolve().parent
LIBRARIES = ("labelwise", "modAL", "small-text", "scikit-activeml")
PACKAGES = {
    "modAL": "modAL-python",
    "small-text": "small-text",
    "scikit-activeml": "scikit-activeml",
}
GB = 1e9


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_pool(n: int, dim: int, seed: int) -> NDArray[np.float32]:
    """Unit-normalised Gaussian rows (n, dim) float32, normalised in place chunk by chunk."""
    x = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    for start in range(0, n, 65536):
        block = x[start : start + 65536]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return x


def make_labeled(
    n: int, dim: int, n_classes: int, seed: int
) -> tuple[NDArray[np.float32], NDArray[np.intp]]:
    """``n`` rows around ``n_classes`` random unit centres (noise norm about 1), normalised."""
    rng = np.random.default_rng([seed, 1])
    centres = rng.standard_normal((n_classes, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    y = np.arange(n, dtype=np.intp) % n_classes
    x = centres[y] + rng.standard_normal((n, dim)) / np.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), y


def fit_labelwise(args: argparse.Namespace) -> tuple[NDArray[np.float32], Any, Any]:
    """The pool, and labelwise's learner fitted on the labeled rows."""
    x_lab, y_lab = make_labeled(args.n_labeled, args.dim, args.classes, args.seed)
    clf = ProbabilisticClassifier(
        LogisticRegression(C=10.0, max_iter=200), classes=list(range(args.classes))
    ).fit(x_lab, y_lab)
    pool = make_pool(args.n_pool, args.dim, args.seed)
    return pool, clf, (x_lab, y_lab)


def query_function(
    library: str, args: argparse.Namespace
) -> tuple[Callable[[], Any], dict[str, Any]]:
    """Set up ``library`` (imports, fitting) and return a zero-argument query call."""
    pool, clf, (x_lab, y_lab) = fit_labelwise(args)
    n, k = args.n_pool, args.batch
    extra: dict[str, Any] = {}
    if library == "labelwise":
        features = Pool(pool)
        labeled = np.zeros(0, dtype=np.intp)
        unlabeled = np.arange(n, dtype=np.intp)

        def run() -> Any:
            return (
                MarginSampling().query(clf, features, labeled, unlabeled, k, random_state=0).indices
            )

        return run, extra
    fitted = clf.estimators_[0]  # the LogisticRegression labelwise uses, fitted once
    if library == "modAL":
        models = importlib.import_module("modAL.models")
        uncertainty = importlib.import_module("modAL.uncertainty")
        learner = models.ActiveLearner(estimator=fitted, query_strategy=uncertainty.margin_sampling)

        def run() -> Any:
            return learner.query(pool, n_instances=k)[0]

        return run, extra
    if library == "small-text":
        small_text = importlib.import_module("small_text")
        dataset = small_text.SklearnDataset(pool, np.full(n, small_text.LABEL_UNLABELED))
        st_clf = small_text.SklearnClassifier(fitted, args.classes)
        strategy = small_text.BreakingTies()
        unlabeled = np.arange(n)
        labeled = np.zeros(0, dtype=int)

        def run() -> Any:
            return strategy.query(st_clf, dataset, unlabeled, labeled, np.zeros(0, dtype=int), n=k)

        return run, extra
    if library == "scikit-activeml":
        sk_pool = importlib.import_module("skactiveml.pool")
        sk_clf = importlib.import_module("skactiveml.classifier")
        model = sk_clf.SklearnClassifier(
            LogisticRegression(C=10.0, max_iter=200), classes=np.arange(args.classes)
        ).fit(x_lab, y_lab)
        extra["max_coef_diff_vs_labelwise"] = float(
            np.max(np.abs(model.estimator_.coef_ - fitted.coef_))
        )
        strategy = sk_pool.UncertaintySampling(method="margin_sampling", random_state=0)
        y_missing = np.full(n, np.nan)

        def run() -> Any:
            return strategy.query(pool, y_missing, model, fit_clf=False, batch_size=k)

        return run, extra
    raise ValueError(f"Unknown library {library!r}; use one of {LIBRARIES}.")


def child(library: str, args: argparse.Namespace) -> dict[str, Any]:
    """Measure one library in this (fresh) process; the result as a JSON-able dict."""
    out: dict[str, Any] = {"library": library}
    if library != "labelwise":
        try:
            out["version"] = importlib.metadata.version(PACKAGES[library])
        except importlib.metadata.PackageNotFoundError:
            out["error"] = f"{PACKAGES[library]} is not installed in {sys.prefix}"
            return out
    try:
        run, extra = query_function(library, args)
    except ImportError as exc:
        out["error"] = f"import failed: {exc!r}"
        return out
    out.update(extra)
    out["rss_before_query_gb"] = peak_rss_bytes() / GB
    start = time.perf_counter()
    picked = np.asarray(run()).reshape(-1)
    warmup = time.perf_counter() - start
    repeats = args.repeats
    if warmup > args.slow_seconds:
        repeats = max(1, min(repeats, int(args.slow_seconds * args.repeats // warmup)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    out.update(
        warmup_seconds=warmup,
        seconds=times,
        repeats=repeats,
        median_seconds=statistics.median(times),
        peak_rss_gb=peak_rss_bytes() / GB,
        picked=sorted(int(i) for i in picked),
    )
    return out


def profile_labelwise(args: argparse.Namespace) -> dict[str, float]:
    """Seconds per stage of labelwise's margin query, calling what its chunk loop calls.

    Per chunk of ``chunk_size`` positions: ``Pool.rows`` (a view for a consecutive run),
    ``ProbabilisticClassifier.predict_proba``, ``MarginSampling.utility`` and the running
    top-k. The matrix product alone (rows @ coef.T + intercept in the rows' dtype, which
    predict_proba also does) is timed separately as a reference, not added to the sum.
    """
    pool, clf, _ = fit_labelwise(args)
    estimator = clf.estimators_[0]
    weights = getattr(clf, "softmax_weights_", None)
    coef, intercept = (
        (estimator.coef_, estimator.intercept_) if weights is None else (weights[0], weights[1])
    )
    strategy = MarginSampling()
    features = Pool(pool)
    unlabeled = np.arange(args.n_pool, dtype=np.intp)
    rng = np.random.default_rng(0)
    stages = dict.fromkeys(
        ("argument checks", "Pool.rows", "predict_proba", "margin utility", "keys + top-k"), 0.0
    )
    reference = 0.0
    t0 = time.perf_counter()
    strategy._check_query_args(features, np.zeros(0, dtype=np.intp), unlabeled, args.batch)
    stages["argument checks"] = time.perf_counter() - t0
    best_scores = np.zeros(0)
    best_keys = np.zeros(0)
    best_pos = np.zeros(0, dtype=np.intp)
    for start in range(0, args.n_pool, strategy.chunk_size):
        block = unlabeled[start : start + strategy.chunk_size]
        t0 = time.perf_counter()
        rows = features.rows(block)
        t1 = time.perf_counter()
        proba = clf.predict_proba(rows)
        t2 = time.perf_counter()
        scores = strategy.utility(proba)
        t3 = time.perf_counter()
        keys = np.concatenate([best_keys, rng.random(block.size)])
        all_scores = np.concatenate([best_scores, scores])
        positions = np.concatenate([best_pos, block])
        keep = top_k(all_scores, keys, args.batch)
        best_pos, best_scores, best_keys = positions[keep], all_scores[keep], keys[keep]
        t4 = time.perf_counter()
        _ = rows @ coef.T + intercept
        reference += time.perf_counter() - t4
        stages["Pool.rows"] += t1 - t0
        stages["predict_proba"] += t2 - t1
        stages["margin utility"] += t3 - t2
        stages["keys + top-k"] += t4 - t3
    stages["sum of stages"] = sum(stages.values())
    stages[f"reference: matrix product alone ({np.result_type(pool, coef)})"] = reference
    stages.update(lower_precision_reference(pool, np.asarray(coef), np.asarray(intercept), args))
    return stages


def lower_precision_reference(
    pool: NDArray[np.float32],
    coef: NDArray[np.floating[Any]],
    intercept: NDArray[np.floating[Any]],
    args: argparse.Namespace,
) -> dict[str, float]:
    """Would a bfloat16 matrix product (torch on CPU) rank the same top-``batch`` items?

    Exact margin scoring cannot beat the float32 product above; the only faster products on
    this CPU are reduced-precision ones. This times the bfloat16 product of the whole pool
    (conversion included) and reports how many of the float32 top-``batch`` margin picks
    its probabilities reproduce, so the trade is measured, not argued. Empty when torch is
    missing.
    """
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(os.cpu_count() or 1)
    weights = torch.from_numpy(np.ascontiguousarray(coef, dtype=np.float32)).to(torch.bfloat16)
    bias = torch.from_numpy(np.asarray(intercept, dtype=np.float32))
    chunk = 16384
    exact = np.empty(len(pool))
    approx = np.empty(len(pool))
    seconds = 0.0
    with torch.inference_mode():
        for start in range(0, len(pool), chunk):
            rows = pool[start : start + chunk]
            t0 = time.perf_counter()
            logits = torch.from_numpy(rows).to(torch.bfloat16) @ weights.T
            seconds += time.perf_counter() - t0
            approx[start : start + len(rows)] = _margin_of_logits(
                logits.float().numpy() + bias.numpy()
            )
            exact[start : start + len(rows)] = _margin_of_logits(
                rows @ coef.T.astype(np.float32) + intercept
            )
    k = args.batch
    same = np.intersect1d(np.argpartition(exact, k)[:k], np.argpartition(approx, k)[:k]).size
    return {
        "reference: bfloat16 matrix product alone (torch)": seconds,
        f"bfloat16: float32 top-{k} picks it reproduces (count, not seconds)": float(same),
    }


def _margin_of_logits(logits: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    """``p_(1) - p_(2)`` per row of softmax(logits), in float64."""
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    top2 = np.partition(z, -2, axis=1)[:, -2:]
    return np.asarray(top2[:, 1] - top2[:, 0], dtype=np.float64)


def run_child(library: str, args: argparse.Namespace, mode: str = "--child") -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its JSON is the last stdout line."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        mode,
        library,
        *(f"--{k.replace('_', '-')}={v}" for k, v in sorted(common_options(args).items())),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"library": library, "error": f"exit {proc.returncode}: {proc.stderr[-2000:]}"}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def common_options(args: argparse.Namespace) -> dict[str, Any]:
    names = ("n_pool", "dim", "classes", "n_labeled", "batch", "repeats", "seed", "slow_seconds")
    return {name: getattr(args, name) for name in names}


def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    emb_gb = meta["embedding_gb"]
    lines = [
        "# Margin query speed and memory on a 1M-item pool",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Pool {meta['n_pool']:,} x {meta['dim']} float32 (embedding matrix {emb_gb:.3f} GB), "
        f"{meta['classes']} classes, LogisticRegression(C=10, max_iter=200) fitted on "
        f"{meta['n_labeled']:,} labeled rows; top {meta['batch']} by margin over the whole pool. "
        "Each library in a fresh process; wall = median of the timed queries after one warm-up; "
        "peak RSS = the child's ru_maxrss (pool and model included).",
        "",
        "| library | version | wall s (median) | repeats | peak RSS GB | peak ÷ embedding | "
        "wall ÷ labelwise | picks equal to labelwise's |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    base = next((r for r in rows if r["library"] == "labelwise" and "error" not in r), None)
    for row in rows:
        if "error" in row:
            lines.append(
                f"| {row['library']} | — | skipped: {row['error'].splitlines()[-1]} | | | | | |"
            )
            continue
        ratio = "—" if base is None else f"{row['median_seconds'] / base['median_seconds']:.1f}×"
        agree = "—" if base is None else f"{len(set(row['picked']) & set(base['picked']))}/100"
        lines.append(
            f"| {row['library']} | {row.get('version', meta['labelwise_version'])} | "
            f"{row['median_seconds']:.2f} | {row['repeats']} | {row['peak_rss_gb']:.2f} | "
            f"{row['peak_rss_gb'] / emb_gb:.2f} | {ratio} | {agree} |"
        )
    lines += ["", *meta["targets"], ""]
    if meta.get("profile") and "error" not in meta["profile"]:
        lines += ["labelwise query breakdown (seconds, one query, chunk 16,384):", ""]
        lines += ["| stage | seconds |", "|---|---:|"]
        lines += [
            f"| {k} | {v:.0f} |" if "count" in k else f"| {k} | {v:.3f} |"
            for k, v in meta["profile"].items()
        ]
        lines.append("")
    load = meta["load_average_1min"]
    lines += [
        f"Wall time {meta['wall_seconds']:.0f} s on {meta['machine']}; 1-minute load average "
        f"{load['start']:.1f} at the start and {load['end']:.1f} at the end (other jobs share "
        "the cores).",
        "",
    ]
    return "\n".join(lines)


def targets(rows: list[dict[str, Any]], emb_gb: float) -> list[str]:
    ok = {r["library"]: r for r in rows if "error" not in r}
    if "labelwise" not in ok:
        return ["labelwise did not run: no target can be checked."]
    ours = ok["labelwise"]
    peers = [r for name, r in ok.items() if name != "labelwise"]
    out = []
    if peers:
        fastest = min(peers, key=lambda r: r["median_seconds"])
        limit = fastest["median_seconds"] / 3
        verdict = "met" if ours["median_seconds"] <= limit else "MISSED"
        out.append(
            f"- Time target (at most 1/3 of the fastest peer, {fastest['library']} "
            f"{fastest['median_seconds']:.2f} s → ≤ {limit:.2f} s): labelwise "
            f"{ours['median_seconds']:.2f} s — {verdict}."
        )
    ratio = ours["peak_rss_gb"] / emb_gb
    verdict = "met" if ratio < 1.5 else "MISSED"
    out.append(
        f"- Memory target (peak < 1.5× the embedding matrix): labelwise {ratio:.2f}× — {verdict}."
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--profile-child", choices=("labelwise",), help=argparse.SUPPRESS)
    parser.add_argument("--libraries", default=",".join(LIBRARIES))
    parser.add_argument("--n-pool", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=150)
    parser.add_argument("--n-labeled", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--slow-seconds",
        type=float,
        default=120.0,
        help="a warm-up slower than this cuts the repeats so they fit in about this long",
    )
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args)))
        return
    if args.profile_child:
        print(json.dumps(profile_labelwise(args)))
        return

    started = time.perf_counter()
    load_before = os.getloadavg()
    rows = []
    for library in [name.strip() for name in args.libraries.split(",")]:
        row = run_child(library, args)
        rows.append(row)
        shown = row.get(
            "error", f"{row.get('median_seconds', 0):.2f} s, {row.get('peak_rss_gb', 0):.2f} GB"
        )
        print(f"{library}: {shown}", flush=True)
    profile = None if args.no_profile else run_child("labelwise", args, mode="--profile-child")
    emb_gb = args.n_pool * args.dim * 4 / GB
    meta: dict[str, Any] = {
        "command": " ".join(["python benchmarks/query_speed.py", *sys.argv[1:]]),
        "n_pool": args.n_pool,
        "dim": args.dim,
        "classes": args.classes,
        "n_labeled": args.n_labeled,
        "batch": args.batch,
        "embedding_gb": emb_gb,
        "labelwise_version": importlib.metadata.version("labelwise"),
        "python": sys.executable,
        "numpy": np.__version__,
        "wall_seconds": time.perf_counter() - started,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "load_average_1min": {"start": load_before[0], "end": os.getloadavg()[0]},
        "targets": targets(rows, emb_gb),
        "profile": profile,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "query_speed.json").write_text(
        json.dumps({**meta, "results": rows}, indent=2), encoding="utf-8"
    )
    table = markdown(rows, meta)
    (args.out / "query_speed.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
