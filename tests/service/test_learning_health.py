"""Is active learning helping: the labels-saved sentence and the failure signals."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import select

from labelwise.evaluation.labels_saved import RandomLabelsEstimate
from labelwise.service import dashboard, learning_health, queue
from labelwise.service.learning_health import (
    DecisionRates,
    DriftPoint,
    NewClassShare,
    about_labels,
    class_mix_drift,
    labels_saved_text,
    signal_warnings,
    signals_from_decisions,
)
from labelwise.service.transactions import begin_write
from labelwise.store import AnnotationKind, Item, TaskType
from tests.service.estimates import an_estimate as estimate
from tests.service.pool_factory import make_project, make_user

LABEL, SKIP, FLAG = AnnotationKind.LABEL, AnnotationKind.SKIP, AnnotationKind.FLAG


class TestLabelsSavedText:
    def test_the_saving_with_its_interval(self):
        assert labels_saved_text(estimate()) == (
            "Random sampling would need about 4,200 labels (90% interval 3,100–6,000) to "
            "reach today's accuracy of 0.812 (on the evaluation set); active learning used "
            "1,000 — about 4.2× fewer."
        )

    def test_no_upper_bound_says_at_least(self):
        unbounded = estimate(high=math.inf, saving_high=math.inf)
        text = labels_saved_text(unbounded)
        assert "(90% interval: at least 3,100) to reach" in text
        # The same after a trip through the stored JSON (inf is stored as null).
        stored = unbounded.to_dict()
        assert stored["high"] is None
        assert labels_saved_text(RandomLabelsEstimate.from_dict(stored)) == text

    def test_scored_on_the_audit_sample(self):
        text = labels_saved_text(estimate(scored_on="audit sample"))
        assert "today's accuracy of 0.812 (on the random audit sample);" in text

    def test_more_labels_than_random(self):
        text = labels_saved_text(estimate(random_labels=800.0, low=610.0, high=1090.0, saving=0.8))
        assert text.endswith(
            "active learning used 1,000 — more labels than random sampling would (0.8×)."
        )

    def test_about_as_many_as_random(self):
        text = labels_saved_text(estimate(random_labels=1010.0, saving=1.01))
        assert text.endswith("active learning used 1,000 — about as many as random sampling would.")

    def test_beyond_the_pool(self):
        text = labels_saved_text(
            estimate(random_labels=math.inf, low=20_100.0, high=math.inf, beyond_pool=True)
        )
        assert text == (
            "Active learning reached today's accuracy of 0.812 (on the evaluation set) with "
            "1,000 labels; random sampling of this pool would not reach it (even the low end "
            "of the 90% interval, 20,000 labels, is more than the pool holds)."
        )

    def test_without_a_best_guess_the_low_end_is_the_answer(self):
        no_point = estimate(
            random_labels=math.inf, high=math.inf, saving=None, saving_high=math.inf
        )
        assert labels_saved_text(no_point) == (
            "Random sampling would need at least 3,100 labels (the low end of the 90% "
            "interval; the random labels cannot say yet how many more) to reach today's "
            "accuracy of 0.812 (on the evaluation set); active learning used 1,000 — at "
            "least 3.1× fewer."
        )
        # Stored, a missing point reads back as infinite.
        stored = no_point.to_dict()
        assert stored["random_labels"] is None
        assert labels_saved_text(RandomLabelsEstimate.from_dict(stored)) == labels_saved_text(
            no_point
        )
        fewer = labels_saved_text(estimate(random_labels=math.inf, saving=None, saving_low=0.9))
        assert fewer.endswith("active learning used 1,000.")

    def test_not_enough_audit_labels_says_how_many_more(self):
        lacking = estimate(
            estimated=False,
            reason="23 random audit labels so far; the estimate needs 40.",
            audit_labels=23,
            audit_labels_needed=17,
            random_labels=None,
            low=None,
            high=None,
            saving=None,
        )
        assert labels_saved_text(lacking) == (
            "Not enough random audit labels to say yet: 23 so far, 17 more needed."
        )

    def test_a_failed_estimate_gives_its_reason(self):
        failed = estimate(estimated=False, reason="The estimate failed: boom.", random_labels=None)
        assert labels_saved_text(failed) == "Cannot say yet. The estimate failed: boom."

    @pytest.mark.parametrize(
        ("labels", "shown"),
        [
            (4213, "4,200"),
            (36.3, "36"),
            (0.4, "1"),
            (999.6, "1,000"),
            (1049, "1,000"),
            (150, "150"),
        ],
    )
    def test_estimated_counts_keep_two_significant_figures(self, labels, shown):
        assert about_labels(labels) == shown


class TestClassMixDrift:
    def test_total_variation_between_labels_and_pool(self):
        # labels (.75, .25, 0) against the pool (.25, .25, .5): half of 1.0
        drift = class_mix_drift(["a", "a", "a", "b"], {"a": 1, "b": 1, "c": 2})
        assert drift == pytest.approx(0.5)

    def test_multi_label_sets_count_each_name_and_intents_their_intent(self):
        assert class_mix_drift([["a", "b"], ["a"]], {"a": 2, "b": 1}) == pytest.approx(0.0)
        values = [{"intent": "a", "spans": []}, {"intent": "b", "spans": []}]
        assert class_mix_drift(values, {"a": 1, "b": 1}) == pytest.approx(0.0)

    def test_nothing_to_compare_is_none(self):
        assert class_mix_drift([], {"a": 1}) is None
        assert class_mix_drift(["a"], {}) is None


class TestSignalsFromDecisions:
    def test_new_class_shares_look_at_the_latest_200_labels_of_each_kind(self):
        decisions = [(False, LABEL, c) for c in ("a", "b", "c")]
        decisions += [(False, LABEL, "a")] * 247 + [(True, LABEL, "d"), (True, LABEL, "a")]
        signals = signals_from_decisions(decisions, [])
        assert signals.active_new_classes == NewClassShare(labels=200, new=0)
        assert signals.audit_new_classes == NewClassShare(labels=2, new=1)

    def test_a_multi_label_set_is_new_if_any_name_is(self):
        decisions = [(False, LABEL, ["a"]), (False, LABEL, ["a", "b"]), (False, LABEL, [])]
        shares = signals_from_decisions(decisions, []).active_new_classes
        assert (shares.labels, shares.new) == (3, 2)

    def test_entity_spans_alone_name_no_class(self):
        decisions = [(False, LABEL, {"spans": [{"start": 0, "end": 1, "label": "X"}]})]
        signals = signals_from_decisions(decisions, [])
        assert signals.active.labels == 1 and signals.active_new_classes.labels == 0


class TestWarnings:
    def test_chosen_items_skipped_much_more_than_audit_items(self):
        active = DecisionRates(decisions=40, labels=30, skips=6, flags=4)
        audit = DecisionRates(decisions=20, labels=19, skips=1, flags=0)
        [warning] = signal_warnings(active, audit, NewClassShare(), NewClassShare(), [])
        assert warning.startswith("Active learning may be chasing unlabelable or out-of-scope")
        assert "25% of decisions on actively chosen items" in warning and "against 5%" in warning

    @pytest.mark.parametrize(
        ("active", "audit"),
        [
            # Too few decisions on audit items to compare.
            (DecisionRates(40, 30, 6, 4), DecisionRates(19, 19, 0, 0)),
            # One skip in twenty against none: more than twice, but no real gap.
            (DecisionRates(20, 19, 1, 0), DecisionRates(20, 20, 0, 0)),
            # Alike.
            (DecisionRates(40, 36, 4, 0), DecisionRates(40, 37, 2, 1)),
        ],
    )
    def test_no_warning_without_a_clear_difference(self, active, audit):
        assert signal_warnings(active, audit, NewClassShare(), NewClassShare(), []) == []

    def test_audit_items_finding_new_classes_more_often(self):
        warnings = signal_warnings(
            DecisionRates(),
            DecisionRates(),
            NewClassShare(labels=200, new=4),
            NewClassShare(labels=40, new=8),
            [],
        )
        assert len(warnings) == 1 and "may be missing parts of the pool" in warnings[0]
        assert "20% of the latest 40 audit labels, against 2%" in warnings[0]

    @pytest.mark.parametrize(
        ("series", "warns"),
        [
            ([0.3, 0.1, 0.15, 0.2], True),
            ([0.1, 0.2, 0.15], False),
            ([0.1, 0.105, 0.11], False),  # rising, but by less than 0.02
            ([0.1, 0.2], False),
        ],
    )
    def test_drift_rising_over_the_last_three_versions(self, series, warns):
        drift = [DriftPoint(i + 1, 10 * (i + 1), d) for i, d in enumerate(series)]
        warnings = signal_warnings(
            DecisionRates(), DecisionRates(), NewClassShare(), NewClassShare(), drift
        )
        assert bool(warnings) is warns
        if warns:
            assert "total variation 0.10 → 0.15 → 0.20 over the last 3" in warnings[0]


# -- on the databases ---------------------------------------------------------------------


def test_rates_and_new_class_shares_of_a_hand_made_project(session):
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner)
    by_class = {
        label: sorted(i for i in truth if truth[i] == label) for label in set(truth.values())
    }
    greet, bye, weather = by_class["greet"], by_class["bye"], by_class["weather"]
    audit = [greet[-1], weather[-1], bye[-1]]
    begin_write(session)
    session.query(Item).filter(Item.id.in_(audit)).update({"is_audit": True})
    session.commit()

    def label(item_id):
        queue.submit_annotation(
            session, project_id=project.id, annotator=owner, item_id=item_id, value=truth[item_id]
        )

    def skip(item_id):
        queue.skip_item(session, project_id=project.id, annotator=owner, item_id=item_id)

    label(greet[0])  # chosen: greet is new
    label(greet[1])  # chosen: seen
    label(weather[0])  # chosen, then undone: it never counts
    queue.undo_annotation(session, project_id=project.id, annotator=owner)
    label(weather[-1])  # audit: weather is new (the undone label does not count)
    label(bye[0])  # chosen: bye is new
    label(greet[-1])  # audit: seen
    label(bye[1])  # chosen: seen
    skip(greet[2])
    skip(greet[3])
    queue.flag_item(
        session, project_id=project.id, annotator=owner, item_id=bye[2], comment="which?"
    )
    skip(bye[-1])  # audit

    signals = learning_health.learning_health(session, project_id=project.id).signals
    assert signals.active == DecisionRates(decisions=7, labels=4, skips=2, flags=1)
    assert signals.active.skip_rate == pytest.approx(2 / 7)
    assert signals.active.flag_rate == pytest.approx(1 / 7)
    assert signals.audit == DecisionRates(decisions=3, labels=2, skips=1, flags=0)
    assert signals.audit.skip_rate == pytest.approx(1 / 3) and signals.audit.flag_rate == 0
    assert signals.active_new_classes == NewClassShare(labels=4, new=2)
    assert signals.audit_new_classes == NewClassShare(labels=2, new=1)
    assert signals.drift == [] and signals.warnings == []  # too few decisions to compare
    # The dashboard shows the same signals.
    assert dashboard.project_dashboard(session, project_id=project.id).signals == signals


def test_multi_label_projects_count_a_set_new_if_any_name_is(session):
    owner = make_user(session, "owner")
    project, _ = make_project(session, owner, task=TaskType.MULTI_LABEL)
    items = list(
        session.scalars(select(Item.id).where(Item.project_id == project.id).order_by(Item.id))
    )
    session.commit()
    for item_id, value in zip(items, [["greet"], ["greet", "bye"], ["bye"], []], strict=False):
        queue.submit_annotation(
            session, project_id=project.id, annotator=owner, item_id=item_id, value=value
        )
    signals = learning_health.learning_health(session, project_id=project.id).signals
    assert signals.active_new_classes == NewClassShare(labels=4, new=2)
