"""New intents hidden from the model, found again by clustering what it cannot place.

Protocol (TEXTOIR's open intent discovery, known-class ratio 0.75):

1. A seeded quarter of the in-scope intents is hidden (``round(0.25 * n_intents)``; 38 of
   CLINC150's 150).
2. The model (the service's learner: logistic regression, ``C=10``, on the same features)
   is trained on a seeded half of each known intent's train utterances and a seeded half
   of the out-of-scope train utterances: a team's labeled set, not all of it.
3. The replayed traffic is the other halves (known intents and out-of-scope) plus every
   train utterance of the hidden intents, shuffled.
4. The candidates are the traffic messages the model predicts out of scope or with top
   probability below ``threshold`` (:func:`labelwise.discovery.candidates`; 0.7, the
   service's default ``discovery_confidence``: at 0.5 only 0.68 of the hidden-intent
   traffic became candidates and 0.930 of the hidden intents surfaced, against 0.974 at
   0.7, 3 seeds); they are
   clustered with :func:`labelwise.discovery.discover_intents`, the service's function.
5. A reviewer works through the clusters largest first and reads each cluster's
   representatives (its ``n_representatives`` members nearest the centroid; fewer when
   the cluster is smaller): a cluster costs that many reviewed items, counted across
   clusters in review order.
6. A hidden intent *surfaces* once a reviewed cluster shows at least 3 of its
   utterances among the items read from it. The headline figure is the share of hidden
   intents surfaced within the first 500 reviewed items (target >= 0.9). A cluster whose
   representatives are cut off by the budget counts only the ones read.

Also reported: candidate recall of hidden-intent traffic, size-weighted cluster purity
(the share of each cluster's members in its majority intent, with out-of-scope as one
class), how many clusters, how many were reviewed, and the share of messages in noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from labelwise.discovery import candidates, discover_intents
from labelwise.simulation.production import Figure, ProductionData, SimulationOutcome

#: Share of in-scope intents hidden from the model (TEXTOIR: known-class ratio 0.75).
HIDDEN_SHARE = 0.25
#: Share of each known intent's (and of out-of-scope's) train utterances that is labeled.
LABELED_SHARE = 0.5
#: Items a reviewer reads, and how many of one intent a cluster must show to surface it.
REVIEW_BUDGET = 500
SURFACE_AT = 3


def split(data: ProductionData, *, seed: int) -> dict[str, Any]:
    """The seeded protocol split: hidden intents, labeled rows and traffic rows.

    Returns
    -------
    dict
        ``hidden`` (sorted intent names), ``labeled`` and ``traffic`` (row positions in
        ``data``'s train split; traffic shuffled).
    """
    rng = np.random.default_rng(seed)
    y = data.y_train
    intents = sorted({str(v) for v in y} - {data.out_of_scope})
    n_hidden = int(round(HIDDEN_SHARE * len(intents)))
    hidden = sorted(rng.choice(intents, size=n_hidden, replace=False).tolist())
    hidden_set = set(hidden)
    labeled: list[int] = []
    traffic: list[int] = []
    for label in sorted({str(v) for v in y}):
        rows = np.flatnonzero(y == label)
        if label in hidden_set:
            traffic.extend(rows.tolist())
            continue
        rows = rng.permutation(rows)
        cut = int(round(LABELED_SHARE * rows.size))
        labeled.extend(rows[:cut].tolist())
        traffic.extend(rows[cut:].tolist())
    return {
        "hidden": hidden,
        "labeled": np.sort(np.asarray(labeled, dtype=np.intp)),
        "traffic": rng.permutation(np.asarray(traffic, dtype=np.intp)),
    }


def review(
    clusters: list[Any],
    truth: np.ndarray,
    hidden: set[str],
    *,
    budget: int = REVIEW_BUDGET,
    surface_at: int = SURFACE_AT,
) -> dict[str, Any]:
    """Walk the clusters in order, reading each one's representatives until ``budget``
    items are read; which hidden intents surfaced (>= ``surface_at`` of their utterances
    among the items read from one cluster), and after how many items.

    Parameters
    ----------
    clusters : list of IntentCluster
        In review order; ``members`` index ``truth``.
    truth : ndarray of shape (n_candidates,)
        Gold intent per clustered row.
    """
    reviewed = 0
    surfaced: dict[str, int] = {}
    n_clusters = 0
    for cluster in clusters:
        if reviewed >= budget:
            break
        shown = cluster.representatives[: budget - reviewed]
        reviewed += int(shown.size)
        n_clusters += 1
        names, counts = np.unique(truth[shown], return_counts=True)
        for name, count in zip(names.tolist(), counts.tolist(), strict=True):
            if name in hidden and count >= surface_at and name not in surfaced:
                surfaced[name] = reviewed
    return {"surfaced": surfaced, "reviewed_items": reviewed, "reviewed_clusters": n_clusters}


def simulate(
    data: ProductionData,
    *,
    seed: int,
    threshold: float = 0.7,
    min_cluster_size: int = 5,
    min_samples: int | None = 3,
    cluster_selection_method: str = "leaf",
    n_representatives: int = 5,
) -> SimulationOutcome:
    """Hide intents, replay traffic, cluster the candidates and review them (see module)."""
    parts = split(data, seed=seed)
    hidden = set(parts["hidden"])
    labeled, traffic = parts["labeled"], parts["traffic"]
    model = LogisticRegression(C=10.0, max_iter=1000)
    model.fit(data.X_train[labeled], data.y_train[labeled])
    classes = [str(c) for c in model.classes_]
    proba = model.predict_proba(data.X_train[traffic])
    chosen = traffic[
        candidates(proba, classes, out_of_scope=data.out_of_scope, threshold=threshold)
    ]
    clusters = discover_intents(
        data.X_train[chosen],
        [data.train_texts[i] for i in chosen],
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        cluster_selection_method=cluster_selection_method,
        n_representatives=n_representatives,
    )
    truth = data.y_train[chosen].astype(str)
    outcome = review(clusters, truth, hidden)
    clustered = sum(c.size for c in clusters)
    majority = sum(int(np.unique(truth[c.members], return_counts=True)[1].max()) for c in clusters)
    hidden_traffic = np.isin(data.y_train[traffic], sorted(hidden))
    hidden_candidates = np.isin(truth, sorted(hidden))
    share = len(outcome["surfaced"]) / max(len(hidden), 1)
    figures = [
        Figure(f"hidden intents surfaced within {REVIEW_BUDGET} items", share, target=0.9),
        Figure("cluster purity", majority / clustered if clustered else 0.0),
        Figure(
            "hidden-intent traffic among candidates",
            float(hidden_candidates.sum() / max(hidden_traffic.sum(), 1)),
        ),
        Figure("clusters", float(len(clusters))),
        Figure("clusters reviewed", float(outcome["reviewed_clusters"])),
        Figure("candidates in noise", 1.0 - clustered / chosen.size if chosen.size else 0.0),
    ]
    return SimulationOutcome(
        simulation="new_intents",
        seed=seed,
        figures=figures,
        details={
            "hidden": parts["hidden"],
            "labeled": int(labeled.size),
            "traffic": int(traffic.size),
            "candidates": int(chosen.size),
            "surfaced_after": outcome["surfaced"],
            "settings": {
                "threshold": threshold,
                "min_cluster_size": min_cluster_size,
                "min_samples": min_samples,
                "cluster_selection_method": cluster_selection_method,
                "n_representatives": n_representatives,
                "review_budget": REVIEW_BUDGET,
                "surface_at": SURFACE_AT,
            },
        },
    )
