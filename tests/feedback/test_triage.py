"""Known answers for the feedback triage: channel reliability and the impact ranking."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.feedback import (
    PRIOR,
    ChannelReliability,
    diversify,
    fifo_order,
    margin_order,
    neighbour_counts,
    production_label_evidence,
    rank_reports,
    report_truth_probability,
    same_confusion,
    triage,
)


def test_reliability_is_the_beta_posterior_mean() -> None:
    r = ChannelReliability({"app": 9, "web": 1}, {"web": 9})
    a, b = PRIOR
    assert r.probability("app") == pytest.approx((a + 9) / (a + b + 9))
    assert r.probability("web") == pytest.approx((a + 1) / (a + b + 10))
    assert r.probability("new") == pytest.approx(a / (a + b))
    assert r.probabilities(["app", "new", "app"]).tolist() == pytest.approx(
        [(a + 9) / (a + b + 9), a / (a + b), (a + 9) / (a + b + 9)]
    )


def test_reliability_counts_reviews() -> None:
    r = ChannelReliability.from_reviews(["a", "a", "b", "a"], [True, False, False, True])
    assert dict(r.confirmed) == {"a": 2}
    assert dict(r.rejected) == {"a": 1, "b": 1}
    assert r.probability("a") == pytest.approx(4 / 6)
    with pytest.raises(ValueError, match="must match"):
        ChannelReliability.from_reviews(["a"], [])
    with pytest.raises(ValueError, match="prior"):
        ChannelReliability(prior=(0.0, 1.0))
    with pytest.raises(ValueError, match="confirmed"):
        ChannelReliability({"a": -1})


def test_truth_probability_combines_prior_and_model() -> None:
    p = report_truth_probability(np.array([0.5, 0.1, np.nan, 0.9]), np.array([0.7, 0.5, 0.6, 0.5]))
    # 0.5: the model is no evidence, the channel decides; 0.1: 0.5*0.9 / (0.5*0.9 + 0.5*0.1).
    assert p.tolist() == pytest.approx([0.7, 0.9, 0.6, 0.1])
    # Clipped: a model certain of the production label cannot make a report impossible.
    assert report_truth_probability(np.array([1.0]), np.array([0.5]))[0] == pytest.approx(0.02)


def test_evidence_reads_the_production_column_and_the_margin() -> None:
    proba = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0]])
    p, margin = production_label_evidence(proba, [1, 2, -1])
    assert p[:2].tolist() == pytest.approx([0.3, 0.6])
    assert np.isnan(p[2])
    assert margin.tolist() == pytest.approx([0.3, 0.4, 0.0])
    with pytest.raises(ValueError, match="production_columns"):
        production_label_evidence(proba, [0, 3, 0])
    with pytest.raises(ValueError, match="shape"):
        production_label_evidence(proba, [0, 1])


def test_rank_reports_known_answer() -> None:
    p_prod = np.array([0.9, 0.2, 0.2, 0.2])
    margin = np.array([0.1, 0.1, 0.9, 0.1])
    reliability = np.array([0.7, 0.7, 0.7, 0.3])
    density = np.array([1.0, 1.0, 1.0, 16.0])
    ranking = rank_reports(p_prod, margin, reliability, density, density_power=0.5)
    p_true = report_truth_probability(p_prod, reliability)
    expected = p_true * (1 - margin) * np.sqrt(density)
    assert ranking.scores.tolist() == pytest.approx(expected.tolist())
    # 3: dense (x4) but from an unreliable channel, 0.632 x 0.9 x 4 = 2.27, beats 1: a
    # lone reliable one, 0.903 x 0.9 = 0.81; 0: the model backs production, 0.206 x 0.9;
    # 2: probably true but the model is already sure there, 0.903 x 0.1.
    assert ranking.order.tolist() == [3, 1, 0, 2]
    assert ranking.scores.tolist() == pytest.approx([0.1853, 0.8129, 0.0903, 2.2737], abs=1e-3)
    # Without density the lone reliable one wins.
    assert rank_reports(p_prod, margin, reliability).order.tolist()[0] == 1


def test_rank_reports_ties_are_stable_and_inputs_checked() -> None:
    same = np.full(3, 0.5)
    assert rank_reports(same, same, same).order.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="density must"):
        rank_reports(same, same, same, np.ones(2))
    with pytest.raises(ValueError, match="density_power"):
        rank_reports(same, same, same, density_power=-1)


def test_baseline_orders() -> None:
    assert margin_order(np.array([0.5, 0.1, 0.5, 0.0])).tolist() == [3, 1, 0, 2]
    assert fifo_order(3).tolist() == [0, 1, 2]


def test_neighbour_counts() -> None:
    X = np.array([[1.0, 0.0], [0.0, 1.0], [np.sqrt(0.5), np.sqrt(0.5)]])
    counts = neighbour_counts(X[:2], X, threshold=0.7, chunk_size=1)
    assert counts.tolist() == [2.0, 2.0]
    weighted = neighbour_counts(X[:1], X, threshold=0.99, weights=np.array([5.0, 1.0, 1.0]))
    assert weighted.tolist() == [5.0]


def test_diversify_discounts_the_neighbours_of_each_pick() -> None:
    scores = np.array([1.0, 0.9, 0.8, 0.5])
    near = [np.array([1, 2]), np.array([0, 2]), np.array([0, 1]), np.array([], dtype=np.intp)]
    # After 0: 1 -> 0.45, 2 -> 0.4; 3 (0.5) goes next; then 1, then 2 (0.4 x 0.5).
    assert diversify(scores, near, discount=0.5).tolist() == [0, 3, 1, 2]
    assert diversify(scores, near, discount=1.0).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="discount"):
        diversify(scores, near, discount=1.5)
    with pytest.raises(ValueError, match="entries"):
        diversify(scores, near[:2])


def test_same_confusion_pairs_production_and_model_labels() -> None:
    near = same_confusion(["a", "a", "a", "b"], ["b", "b", "c", "a"])
    assert [n.tolist() for n in near] == [[1], [0], [], []]


def test_triage_is_rank_reports_spread_over_confusions() -> None:
    p_prod = np.array([0.1, 0.1, 0.2])
    margin = np.array([0.1, 0.1, 0.1])
    reliability = np.full(3, 0.7)
    plain = rank_reports(p_prod, margin, reliability)
    assert plain.order.tolist() == [0, 1, 2]
    # Reports 0 and 1 are the same confusion (a -> b): the second waits behind report 2.
    spread = triage(p_prod, margin, reliability, None, ["a", "a", "a"], ["b", "b", "c"])
    assert spread.order.tolist() == [0, 2, 1]
    assert spread.scores.tolist() == pytest.approx(plain.scores.tolist())
    same = triage(p_prod, margin, reliability, None, ["a"] * 3, ["b"] * 3, discount=1.0)
    assert same.order.tolist() == [0, 1, 2]
