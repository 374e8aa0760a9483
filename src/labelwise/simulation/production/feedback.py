"""User feedback triage, simulated: which order of reviewing reports improves the model most.

A production model is trained on a modest random labeled subset of train (1,000 labels);
the rest of train is the production traffic it answered. Users file 2,000 reports
("that's not what I meant"), 70% on messages the production model truly got wrong and
30% on messages it got right, through three channels of different reliability (90%, 70%
and 38% true). A reviewer works through the reports ``batch`` (100) at a time in one of
four orders:

- ``impact``: :func:`labelwise.feedback.triage`, the service's order, with each channel's
  reliability learned online from the reviews so far. Its density is the message's
  traffic count, as the service counts it: replayed CLINC150 repeats no message, so it
  is 1 for all;
- ``impact_near_duplicates``: the same, with the density counting the paraphrases within
  cosine 0.9 as the service's near-duplicate grouping would (reported beside it: on a
  test set with every intent equally represented, a tight cluster of paraphrases is not
  a frequent question);
- ``margin``: the current model's top-two margin alone, smallest first;
- ``fifo``: the order the reports arrived (random).

Two reference orders show what a reviewer could do who is *told* which reports are true
(they review true reports only): ``oracle_fifo`` (true reports in arrival order) and
``oracle_margin`` (true reports, smallest margin first). Beside them, the accuracy of the
model trained on the labeled subset plus every true report, and on the whole train split,
and the accuracy after ``measured`` reviews that each target asks for: together they say
how much room the simulation leaves for any order.

A true report adds its message with the gold label to the training set (the reviewer
confirms with the right label); a false one adds nothing (rejected). After each batch
the model is retrained and scored on the test split; the rankings rescore the remaining
reports with the new model. The figure of merit is the test-accuracy gain per 100
reviewed reports over the first ``measured`` (500) reviews; the curves run to
``horizon`` (1,000) and the gains over it are reported too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from labelwise.feedback import (
    DENSITY_POWER,
    DISCOUNT,
    ChannelReliability,
    fifo_order,
    margin_order,
    neighbour_counts,
    production_label_evidence,
    triage,
)
from labelwise.learners import ProbabilisticClassifier
from labelwise.simulation.production import Figure, ProductionData, SimulationOutcome

NAME = "feedback"
#: (channel, share of the reports, share of its reports that are true): 0.4 x 0.9 +
#: 0.35 x 0.7 + 0.25 x 0.38 = 0.70 overall.
CHANNELS: tuple[tuple[str, float, float], ...] = (
    ("app", 0.40, 0.90),
    ("web", 0.35, 0.70),
    ("voice", 0.25, 0.38),
)
ORDERS = ("impact", "impact_near_duplicates", "margin", "fifo", "oracle_fifo", "oracle_margin")
#: Issue targets: the impact order's gain per 100 reviews over FIFO's and over margin's.
TARGET_VS_FIFO, TARGET_VS_MARGIN = 1.5, 1.2
#: Reference orders that review true reports only (no deployable ranking knows the truth).
ORACLE_PREFIX = "oracle_"


def _learner(classes: Sequence[str], C: float) -> ProbabilisticClassifier:
    return ProbabilisticClassifier(LogisticRegression(C=C, max_iter=1000), classes=classes)


def _reports(
    rng: np.random.Generator,
    wrong: NDArray[np.intp],
    right: NDArray[np.intp],
    n_reports: int,
    channels: Sequence[tuple[str, float, float]],
) -> tuple[NDArray[np.intp], NDArray[np.bool_], list[str]]:
    """Reported traffic rows, whether each report is true, its channel; in arrival order."""
    sizes = np.floor(np.array([share for _, share, _ in channels]) * n_reports).astype(int)
    sizes[0] += n_reports - sizes.sum()
    n_true = [round(size * truth) for size, (_, _, truth) in zip(sizes, channels, strict=True)]
    total_true, total_false = sum(n_true), n_reports - sum(n_true)
    if total_true > wrong.size or total_false > right.size:
        raise ValueError(
            f"{total_true} true and {total_false} false reports asked; the production model "
            f"got {wrong.size} traffic messages wrong and {right.size} right"
        )
    true_rows = rng.choice(wrong, size=total_true, replace=False)
    false_rows = rng.choice(right, size=total_false, replace=False)
    rows: list[int] = []
    truth: list[bool] = []
    names: list[str] = []
    t = f = 0
    for size, k, (name, _, _) in zip(sizes, n_true, channels, strict=True):
        rows += [*true_rows[t : t + k], *false_rows[f : f + size - k]]
        truth += [True] * k + [False] * (size - k)
        names += [name] * size
        t, f = t + k, f + size - k
    arrival = rng.permutation(n_reports)
    return (
        np.asarray(rows, dtype=np.intp)[arrival],
        np.asarray(truth)[arrival],
        [names[i] for i in arrival],
    )


def simulate(
    data: ProductionData,
    *,
    seed: int,
    n_labeled: int = 1000,
    n_reports: int = 2000,
    channels: Sequence[tuple[str, float, float]] = CHANNELS,
    batch: int = 100,
    horizon: int = 1000,
    measured: int = 500,
    near_duplicate_cosine: float = 0.9,
    density_power: float = DENSITY_POWER,
    discount: float = DISCOUNT,
    C: float = 10.0,
) -> SimulationOutcome:
    """Review ``horizon`` of ``n_reports`` reports in each order; see the module docstring.

    Parameters
    ----------
    n_labeled : int
        Random train rows the production model is trained on (the rest is traffic).
    channels : sequence of (name, share of reports, share true)
    batch : int
        Reports reviewed between retrains.
    horizon : int
        Reviews simulated (a multiple of ``batch``): the accuracy curves run this far.
    measured : int
        Reviews the target figures measure the gain over (a multiple of ``batch``, at
        most ``horizon``); the gains over ``horizon`` are reported beside them.
    near_duplicate_cosine : float
        For the ``impact_near_duplicates`` order: a message's density is the number of
        traffic messages this similar (the service's near-duplicate group count under
        its default ``near_duplicate_cosine``).
    density_power, discount : float
        Passed to :func:`labelwise.feedback.triage`.
    """
    rng = np.random.default_rng(seed)
    classes = sorted(set(data.y_train.tolist()) | set(data.y_test.tolist()))
    column = {c: i for i, c in enumerate(classes)}
    n = data.X_train.shape[0]
    if not 0 < n_labeled < n:
        raise ValueError(f"n_labeled must be in (0, {n}); got {n_labeled}")
    horizon = min(horizon, n_reports)
    perm = rng.permutation(n)
    base, traffic = np.sort(perm[:n_labeled]), np.sort(perm[n_labeled:])

    production = _learner(classes, C).fit(data.X_train[base], data.y_train[base])
    predicted = np.asarray(production.predict(data.X_train[traffic]))
    wrong = traffic[predicted != data.y_train[traffic]]
    right = traffic[predicted == data.y_train[traffic]]
    rows, truth, report_channels = _reports(rng, wrong, right, n_reports, channels)
    # What production answered for each reported message: its column in the schema.
    production_cols = np.array(
        [column[label] for label in production.predict(data.X_train[rows])], dtype=np.intp
    )
    # Density, as the service counts it: the traffic of the message's near-duplicate
    # group. Replayed CLINC150 repeats no message, so each message's own traffic count
    # is 1 (``impact``); ``impact_near_duplicates`` counts the paraphrases within
    # ``near_duplicate_cosine`` as the service's grouping would.
    densities = {
        "impact": np.ones(n_reports),
        "impact_near_duplicates": neighbour_counts(
            data.X_train[rows], data.X_train[traffic], threshold=near_duplicate_cosine
        ),
    }
    start_accuracy = float(np.mean(production.predict(data.X_test) == data.y_test))

    curves: dict[str, list[float]] = {}
    true_found: dict[str, list[int]] = {}
    for order_name in ORDERS:
        model = production
        reviewed = np.zeros(n_reports, dtype=bool)
        labeled = list(base)
        seen_channels: list[str] = []
        seen_ok: list[bool] = []
        curve = [start_accuracy]
        found = [0]
        for _ in range(horizon // batch):
            open_ = np.flatnonzero(~reviewed)
            if order_name.startswith(ORACLE_PREFIX):
                open_ = open_[truth[open_]]
            if order_name.endswith("fifo"):
                pick = open_[fifo_order(open_.size)[:batch]]
            else:
                proba = model.predict_proba(data.X_train[rows[open_]])
                p_prod, margin = production_label_evidence(proba, production_cols[open_])
                if order_name.endswith("margin"):
                    pick = open_[margin_order(margin)[:batch]]
                else:
                    reliability = ChannelReliability.from_reviews(seen_channels, seen_ok)
                    ranking = triage(
                        p_prod,
                        margin,
                        reliability.probabilities([report_channels[i] for i in open_]),
                        densities[order_name][open_],
                        production_cols[open_].tolist(),
                        proba.argmax(axis=1).tolist(),
                        density_power=density_power,
                        discount=discount,
                    )
                    pick = open_[ranking.order[:batch]]
            reviewed[pick] = True
            seen_channels += [report_channels[i] for i in pick]
            seen_ok += truth[pick].tolist()
            labeled += rows[pick[truth[pick]]].tolist()
            found.append(found[-1] + int(truth[pick].sum()))
            idx = np.asarray(labeled, dtype=np.intp)
            model = _learner(classes, C).fit(data.X_train[idx], data.y_train[idx])
            curve.append(float(np.mean(model.predict(data.X_test) == data.y_test)))
        curves[order_name] = curve
        true_found[order_name] = found

    def accuracy_with(idx: NDArray[np.intp]) -> float:
        model = _learner(classes, C).fit(data.X_train[idx], data.y_train[idx])
        return float(np.mean(model.predict(data.X_test) == data.y_test))

    nan = float("nan")

    def per100(name: str, steps: int) -> float:
        curve = curves.get(name)
        return nan if curve is None else (curve[steps] - curve[0]) / (steps * batch / 100)

    def ratio(a: float, b: float) -> float:
        return a / b if b > 0 else nan

    steps = min(measured, horizon) // batch
    gains = {name: per100(name, steps) for name in ORDERS}
    reviews = steps * batch / 100
    first = {name: per100(name, 1) for name in ORDERS}
    whole = {name: per100(name, horizon // batch) for name in ORDERS}
    figures = [
        Figure("gain_ratio_vs_fifo", ratio(gains["impact"], gains["fifo"]), TARGET_VS_FIFO),
        Figure("gain_ratio_vs_margin", ratio(gains["impact"], gains["margin"]), TARGET_VS_MARGIN),
        *(Figure(f"gain_per_100_{name}", gains[name]) for name in ORDERS),
        Figure(f"ratio_vs_fifo_over_{horizon}", ratio(whole["impact"], whole["fifo"])),
        Figure(f"ratio_vs_margin_over_{horizon}", ratio(whole["impact"], whole["margin"])),
        Figure("oracle_margin_ratio_vs_fifo", ratio(gains["oracle_margin"], gains["fifo"])),
        Figure("first_100_ratio_vs_fifo", ratio(first["impact"], first["fifo"])),
        Figure("first_100_ratio_vs_margin", ratio(first["impact"], first["margin"])),
        Figure(
            "near_duplicates_ratio_vs_fifo", ratio(gains["impact_near_duplicates"], gains["fifo"])
        ),
        Figure(
            "near_duplicates_ratio_vs_margin",
            ratio(gains["impact_near_duplicates"], gains["margin"]),
        ),
        *(
            Figure(f"true_share_{name}", true_found[name][steps] / (steps * batch))
            for name in ("impact", "margin", "fifo")
        ),
        Figure("start_accuracy", start_accuracy),
        Figure(f"accuracy_after_{steps * batch}_impact", curves["impact"][steps]),
        # What the targets ask of the accuracy after ``measured`` reviews, against what
        # every true report (several times the reviews) and the whole train split give.
        Figure(
            "accuracy_needed_vs_fifo", start_accuracy + TARGET_VS_FIFO * gains["fifo"] * reviews
        ),
        Figure(
            "accuracy_needed_vs_margin",
            start_accuracy + TARGET_VS_MARGIN * gains["margin"] * reviews,
        ),
        Figure(
            "accuracy_every_true_report",
            accuracy_with(np.concatenate([base, rows[truth]]).astype(np.intp)),
        ),
        Figure("accuracy_whole_train", accuracy_with(np.arange(n, dtype=np.intp))),
    ]
    details: dict[str, Any] = {
        "n_labeled": n_labeled,
        "n_traffic": int(traffic.size),
        "production_wrong": int(wrong.size),
        "n_reports": n_reports,
        "true_reports": int(truth.sum()),
        "channels": [list(c) for c in channels],
        "batch": batch,
        "horizon": horizon,
        "measured": steps * batch,
        "near_duplicate_cosine": near_duplicate_cosine,
        "density_power": density_power,
        "discount": discount,
        "accuracy_curves": curves,
        "true_reports_found": true_found,
    }
    return SimulationOutcome(NAME, seed, figures, details)
