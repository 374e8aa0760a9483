"""Write a simulation's learning curves (JSON, CSV), summary and plot to a folder.

Classification (:class:`SimulationResult`) and entity extraction
(:class:`SequenceSimulationResult`) share the files and the look of the plot: one line
per strategy, mean ± sd over seeds as a band, the full-data score and the target as
horizontal lines.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.simulation.runner import SimulationResult
from labelwise.simulation.sequences import SequenceSimulationResult


def write_report(
    result: SimulationResult | SequenceSimulationResult,
    directory: str | Path,
    *,
    run: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``curves.json``, ``curves.csv``, ``summary.json`` and ``learning_curves.png``.

    ``curves.json`` is ``result.to_dict()``; ``summary.json`` the same without the
    per-run curves. A sequence result's plot has two panels, F1 against sentences and
    against tokens labeled (:func:`plot_sequence_curves`).

    ``run``, when given, is how the result was made (options, data files and their
    hashes, learner and strategies, package version; JSON-serialisable): written as
    ``run.json`` and under ``"run"`` in ``summary.json``, so two output folders can be
    compared.

    Returns the paths by kind.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "curves_json": folder / "curves.json",
        "curves_csv": folder / "curves.csv",
        "summary_json": folder / "summary.json",
        "plot_png": folder / "learning_curves.png",
    }
    data = result.to_dict()
    paths["curves_json"].write_text(json.dumps(data, indent=2), encoding="utf-8")
    summary = {k: v for k, v in data.items() if k not in ("curves", "mean_curves")}
    if run is not None:
        paths["run_json"] = folder / "run.json"
        paths["run_json"].write_text(json.dumps(run, indent=2), encoding="utf-8")
        summary["run"] = dict(run)
    paths["summary_json"].write_text(json.dumps(summary, indent=2), encoding="utf-8")
    points: Sequence[Any] = result.curves
    with paths["curves_csv"].open("w", newline="", encoding="utf-8") as fh:
        fields = list(asdict(points[0]).keys()) if points else ["strategy"]
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for point in points:
            writer.writerow(asdict(point))
    if isinstance(result, SequenceSimulationResult):
        plot_sequence_curves(result, paths["plot_png"])
    else:
        plot_learning_curves(result, paths["plot_png"])
    return paths


def mean_curve(
    result: SimulationResult, strategy: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and standard deviation over seeds at the label counts every seed reached."""
    curves = [result.curve(strategy, seed) for seed in result.config.seeds]
    common = sorted(set.intersection(*(set(x.tolist()) for x, _ in curves)))
    stacked = np.array(
        [[dict(zip(x.tolist(), y.tolist(), strict=True))[n] for n in common] for x, y in curves]
    )
    return np.array(common), stacked.mean(axis=0), stacked.std(axis=0)


#: One panel's data by strategy: (x, mean, sd) over the points every seed reached, and
#: each seed's own (x, score) curve.
Series = Callable[[str], tuple[tuple[Any, Any, Any], Sequence[tuple[Any, Any]]]]


def _plot(
    path: str | Path,
    panels: Sequence[tuple[str, Series]],
    *,
    strategies: Sequence[str],
    full: float,
    target: float,
    fraction: float,
    ylabel: str,
    title: str,
) -> Path:
    """One panel per ``(x label, series)``, the legend on the last.

    Each strategy is its mean line with a ± sd band where every seed has a point, and
    each seed's curve, thin, on from there to its own end: runs that stop at different
    label counts (at the target, at the end of the pool) are all drawn in full.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(8 * len(panels), 5), dpi=120, squeeze=False)
    for ax, (xlabel, series) in zip(axes[0], panels, strict=True):
        for name in strategies:
            (x, mean, sd), seeds = series(name)
            (line,) = ax.plot(x, mean, label=name, linewidth=1.6)
            ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, linewidth=0)
            end = x[-1] if len(x) else -np.inf
            for seed_x, seed_y in seeds:
                tail = np.asarray(seed_x) >= end
                if tail.sum() > 1:
                    ax.plot(
                        np.asarray(seed_x)[tail],
                        np.asarray(seed_y)[tail],
                        color=line.get_color(),
                        linewidth=0.8,
                        alpha=0.6,
                    )
        ax.axhline(
            full, color="black", linestyle="--", linewidth=1, label=f"full data ({full:.3f})"
        )
        ax.axhline(
            target,
            color="grey",
            linestyle=":",
            linewidth=1,
            label=f"{fraction:.0%} of full ({target:.3f})",
        )
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    axes[0][-1].legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_learning_curves(result: SimulationResult, path: str | Path) -> Path:
    """Score vs labels, mean ± sd band per strategy, with the full-data and target lines."""
    return _plot(
        path,
        [
            (
                "labels",
                lambda name: (
                    mean_curve(result, name),
                    [result.curve(name, seed) for seed in result.config.seeds],
                ),
            )
        ],
        strategies=result.strategies,
        full=result.full_data_score,
        target=result.target_score,
        fraction=result.config.target_fraction,
        ylabel=f"test {result.metric}",
        title=f"Learning curves, mean ± sd over {len(result.config.seeds)} seeds",
    )


def plot_sequence_curves(result: SequenceSimulationResult, path: str | Path) -> Path:
    """Span F1 vs sentences labeled and vs tokens labeled (mean over seeds at each
    checkpoint), mean ± sd band per strategy, with the full-data and target lines
    (averaged over seeds)."""

    seeds = result.config.seeds

    def by_sentences(name: str) -> tuple[tuple[Any, Any, Any], list[tuple[Any, Any]]]:
        sentences, _, f1, sd = result.mean_curve(name)
        runs = [result.curve(name, seed) for seed in seeds]
        return (sentences, f1, sd), [(s, f) for s, _, f in runs]

    def by_tokens(name: str) -> tuple[tuple[Any, Any, Any], list[tuple[Any, Any]]]:
        _, tokens, f1, sd = result.mean_curve(name)
        runs = [result.curve(name, seed) for seed in seeds]
        return (tokens, f1, sd), [(t, f) for _, t, f in runs]

    return _plot(
        path,
        [("sentences labeled", by_sentences), ("tokens labeled (mean over seeds)", by_tokens)],
        strategies=result.strategies,
        full=float(np.mean(result.full_data_f1)),
        target=float(np.mean([result.target_f1(s) for s in seeds])),
        fraction=result.config.target_fraction,
        ylabel="test span F1 (strict, micro)",
        title=f"Learning curves, mean ± sd over {len(seeds)} seeds",
    )
