"""Write a simulation's learning curves (JSON, CSV), summary and plot to a folder."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from labelwise.simulation.runner import SimulationResult


def write_report(result: SimulationResult, directory: str | Path) -> dict[str, Path]:
    """Write ``curves.json``, ``curves.csv``, ``summary.json`` and ``learning_curves.png``.

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
    summary = {k: v for k, v in data.items() if k != "curves"}
    paths["summary_json"].write_text(json.dumps(summary, indent=2), encoding="utf-8")
    with paths["curves_csv"].open("w", newline="", encoding="utf-8") as fh:
        fields = list(asdict(result.curves[0]).keys()) if result.curves else ["strategy"]
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for point in result.curves:
            writer.writerow(asdict(point))
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


def plot_learning_curves(result: SimulationResult, path: str | Path) -> Path:
    """Score vs labels, mean ± sd band per strategy, with the full-data and target lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for name in result.strategies:
        x, mean, sd = mean_curve(result, name)
        (line,) = ax.plot(x, mean, label=name, linewidth=1.6)
        ax.fill_between(x, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.axhline(
        result.full_data_score,
        color="black",
        linestyle="--",
        linewidth=1,
        label=f"full data ({result.full_data_score:.3f})",
    )
    ax.axhline(
        result.target_score,
        color="grey",
        linestyle=":",
        linewidth=1,
        label=f"{result.config.target_fraction:.0%} of full ({result.target_score:.3f})",
    )
    ax.set_xlabel("labels")
    ax.set_ylabel(f"test {result.metric}")
    ax.set_title(f"Learning curves, mean ± sd over {len(result.config.seeds)} seeds")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
