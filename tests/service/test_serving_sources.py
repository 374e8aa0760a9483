"""Serving sources: shares drawn with the injected generator, fallbacks, the source named."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from sqlalchemy import select

from labelwise.service import projects, queue
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.serving import sources
from labelwise.service.serving.sources import (
    AuditSample,
    RandomPool,
    RankedQueue,
    mix_for,
    source_of,
)
from labelwise.store import Item
from tests.service.pool_factory import make_project, make_user


@pytest.fixture
def setup(session):
    owner = make_user(session, "owner")
    project, _ = make_project(session, owner)
    return project, owner


def _sources(session, project, owner, seed, n=40):
    seen = []
    rng = random.Random(seed)
    for _ in range(n):
        served = queue.lease_next(session, project_id=project.id, annotator=owner, rng=rng)
        if served is None:
            break
        seen.append((served.position, served.source, served.is_audit))
        queue.skip_item(session, project_id=project.id, annotator=owner, item_id=served.item_id)
    return seen


def test_the_same_seed_serves_the_same_positions_from_the_same_sources(session):
    runs = []
    for name in ("first", "second"):
        owner = make_user(session, name)
        project, _ = make_project(
            session, owner, settings={"audit_fraction": 0.3}, name=f"intents {name}"
        )
        runs.append(_sources(session, project, owner, seed=7, n=15))
    assert runs[0] == runs[1]
    sources = Counter(source for _, source, _ in runs[0])
    # No model yet: "ranked" has nothing and falls back to the random pool.
    assert set(sources) == {"audit", "random"}
    assert all(is_audit == (source == "audit") for _, source, is_audit in runs[0])


def _audit_picks(session, project, owner, seed, n):
    """The positions of ``n`` audit picks, each item released again (skipped) after it."""
    ctx_rng = random.Random(seed)
    picks = []
    for _ in range(n):
        served = queue.lease_next(session, project_id=project.id, annotator=owner, rng=ctx_rng)
        if served.source == "audit":
            picks.append(served.position)
        queue.skip_item(session, project_id=project.id, annotator=owner, item_id=served.item_id)
    return picks


@pytest.mark.parametrize("tries", [sources.AUDIT_TRIES, 0])
def test_the_audit_sample_is_drawn_without_counting_it_and_only_eligible_items(
    session, setup, monkeypatch, tries
):
    """Rejection sampling (or, with no tries, the exact count and offset) serves eligible
    audit items only; it counts the audit sample only when every try missed."""
    project, owner = setup
    projects.update_settings(session, project_id=project.id, changes={"audit_fraction": "0.5"})
    monkeypatch.setattr(sources, "AUDIT_TRIES", tries)
    counted = []
    real = AuditSample._counted_pick

    def spy(self, ctx):
        counted.append(True)
        return real(self, ctx)

    monkeypatch.setattr(AuditSample, "_counted_pick", spy)
    picks = _audit_picks(session, project, owner, seed=5, n=30)
    audit = {
        item.position
        for item in session.scalars(
            select(Item).where(Item.project_id == project.id, Item.is_audit.is_(True))
        )
    }
    assert picks and set(picks) <= audit
    assert len(set(picks)) == len(picks)  # a skipped item is not served to its skipper again
    # About one in two positions is an audit item: 64 tries do not all miss here.
    assert bool(counted) == (tries == 0)


def test_the_audit_share_is_respected_over_many_draws(session, setup):
    project, owner = setup
    projects.update_settings(session, project_id=project.id, changes={"audit_fraction": "0.5"})
    seen = _sources(session, project, owner, seed=3, n=30)
    audit = sum(source == "audit" for _, source, _ in seen)
    # 30 draws at 0.5 (while the audit sample lasts): far from none and from all.
    assert 5 <= audit <= 25


def test_fallback_order_and_the_source_of_a_stored_lease():
    mix = mix_for(ProjectSettings(audit_fraction=0.0))
    assert [type(s) for s in mix.fallbacks] == [RankedQueue, RandomPool]
    mix = mix_for(ProjectSettings(audit_fraction=0.1))
    assert [type(s) for s in mix.fallbacks] == [RankedQueue, RandomPool, AuditSample]
    assert source_of("random audit sample") == "audit"
    assert source_of("random (no model yet)") == "random"
    assert source_of("MarginSampling()") == "ranked"
    assert source_of("MarginSampling()", is_audit=True) == "audit"
    assert source_of("feedback") == "feedback"
    assert source_of("new-intent cluster") == "cluster"


def test_open_feedback_takes_its_share_from_the_ranked_queue_and_follows_it():
    settings = ProjectSettings(audit_fraction=0.1, feedback_share=0.2)
    shares = {s.name: w for s, w in mix_for(settings, feedback_open=True).shares}
    assert shares["feedback"] == pytest.approx(0.2)
    assert shares["ranked"] == pytest.approx(0.7)
    mix = mix_for(settings, feedback_open=True)
    assert [s.name for s in mix.fallbacks] == ["ranked", "feedback", "random", "audit"]
    # No open report, or a zero share: not mixed in at all.
    for mix in (
        mix_for(settings),
        mix_for(settings.model_copy(update={"feedback_share": 0.0}), feedback_open=True),
    ):
        assert {s.name: w for s, w in mix.shares}["feedback"] == 0.0
        assert "feedback" not in [s.name for s in mix.fallbacks]


def test_open_clusters_and_feedback_share_what_the_ranked_queue_leaves():
    settings = ProjectSettings(audit_fraction=0.1, feedback_share=0.2, cluster_share=0.05)
    mix = mix_for(settings, feedback_open=True, cluster_open=True)
    shares = {s.name: w for s, w in mix.shares}
    assert shares["cluster"] == pytest.approx(0.05)
    assert shares["ranked"] == pytest.approx(0.65)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert [s.name for s in mix.fallbacks] == ["ranked", "feedback", "cluster", "random", "audit"]
