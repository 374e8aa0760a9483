"""Is active learning helping? The labels it saved, and the signs that it is going wrong.

The saving comes from each model version's ``labels_saved`` metric (the retrain worker
estimates it from the random labels once the version serves,
:mod:`labelwise.evaluation.labels_saved`); :func:`labels_saved_text` says it in one
sentence for the page and the CLI.

The failure signals compare actively chosen items with the random audit items, which
stand for the pool as it is:

* skips and flags: a strategy that chases unlabelable or out-of-scope items gets them
  skipped or flagged more often than random items are;
* "new class" labels (a class nobody had labeled before): random items that keep turning
  up unseen classes while chosen items do not mean the strategy misses parts of the pool;
* class-mix drift per version (the worker's ``class_mix_drift``): the total variation
  between the trained labels' classes and the pool's predicted classes, which grows when
  labels pile onto a few classes.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.evaluation.labels_saved import RandomLabelsEstimate
from labelwise.service.transactions import end_read
from labelwise.store import Annotation, AnnotationKind, Item, ModelVersion

#: The newest labels of each kind the new-class share looks at: early labels are all
#: "new", so the share over the whole history would say little about today.
NEW_CLASS_WINDOW = 200
#: Fewest decisions (or labels) on each kind of item before two rates are compared.
MIN_COMPARED = 20
#: A rate on chosen items warns when it is more than this many times the audit items'
#: rate and more than ``MIN_GAP`` above it (one skip in twenty against none is no signal).
RATIO = 2.0
MIN_GAP = 0.05
#: Versions over which a steadily rising class-mix drift warns, and the least total rise.
DRIFT_VERSIONS = 3
MIN_DRIFT_RISE = 0.02


@dataclass(frozen=True)
class DecisionRates:
    """Live decisions on one kind of item (actively chosen, or random audit) and their mix."""

    decisions: int = 0
    labels: int = 0
    skips: int = 0
    flags: int = 0

    @property
    def skip_rate(self) -> float | None:
        return self.skips / self.decisions if self.decisions else None

    @property
    def flag_rate(self) -> float | None:
        return self.flags / self.decisions if self.decisions else None

    @property
    def passed_rate(self) -> float | None:
        """Skips and flags together: items people could not or would not label."""
        return (self.skips + self.flags) / self.decisions if self.decisions else None


@dataclass(frozen=True)
class NewClassShare:
    """Of the newest labels of one kind (at most ``NEW_CLASS_WINDOW``), those that named a
    class no earlier live label had (a multi-label set: any of its names)."""

    labels: int = 0
    new: int = 0

    @property
    def share(self) -> float | None:
        return self.new / self.labels if self.labels else None


@dataclass(frozen=True)
class DriftPoint:
    """One model version's class-mix drift (total variation, 0 to 1)."""

    version: int
    label_count: int
    class_mix_drift: float


@dataclass(frozen=True)
class ActiveLearningSignals:
    """Signs that active learning is going wrong, with ``warnings`` in plain words.

    ``active`` counts live decisions on actively chosen items (every item that is
    neither an audit nor an evaluation item, so also imported labels and second opinions),
    ``audit`` those on the random audit items; likewise the new-class shares. ``drift``
    holds the versions that recorded a class-mix drift, oldest first (single-label and
    intent classifiers: a multi-label model predicts no one class per item).
    """

    active: DecisionRates = field(default_factory=DecisionRates)
    audit: DecisionRates = field(default_factory=DecisionRates)
    active_new_classes: NewClassShare = field(default_factory=NewClassShare)
    audit_new_classes: NewClassShare = field(default_factory=NewClassShare)
    drift: list[DriftPoint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LearningHealth:
    """The latest labels-saved estimate (None before any version has one) and the signals."""

    labels_saved: RandomLabelsEstimate | None
    signals: ActiveLearningSignals

    @property
    def text(self) -> str | None:
        return None if self.labels_saved is None else labels_saved_text(self.labels_saved)


# -- classes of a label value -------------------------------------------------------------


def class_names(value: Any) -> frozenset[str] | None:
    """The classes a stored label value names: the name, the names of a multi-label set,
    the intent of an intents+entities value; None for entity spans alone."""
    if isinstance(value, dict):
        return frozenset([str(value["intent"])]) if value.get("intent") is not None else None
    if isinstance(value, list):
        return frozenset(str(name) for name in value)
    return None if value is None else frozenset([str(value)])


def class_mix_drift(values: Iterable[Any], predicted: Mapping[str, int]) -> float | None:
    """Total variation distance (``0.5 * sum |p - q|``) between the classes of the labeled
    ``values`` (each name of a multi-label set counts once) and the pool's ``predicted``
    class counts; None when either side has nothing."""
    labeled: Counter[str] = Counter()
    for value in values:
        labeled.update(class_names(value) or ())
    label_total, pool_total = sum(labeled.values()), sum(predicted.values())
    if not label_total or not pool_total:
        return None
    names = set(labeled) | set(predicted)
    return 0.5 * sum(
        abs(labeled[n] / label_total - predicted.get(n, 0) / pool_total) for n in names
    )


# -- reading the versions and the decisions -----------------------------------------------


def latest_labels_saved(versions: Sequence[ModelVersion]) -> RandomLabelsEstimate | None:
    """The estimate of the newest version (``versions`` oldest first) that recorded one."""
    for version in reversed(versions):
        stored = version.metrics.get("labels_saved")
        if isinstance(stored, dict):
            return RandomLabelsEstimate.from_dict(stored)
    return None


def drift_series(versions: Sequence[ModelVersion]) -> list[DriftPoint]:
    """``class_mix_drift`` per version that recorded a finite one, oldest first."""
    points = []
    for version in versions:
        drift = version.metrics.get("class_mix_drift")
        if isinstance(drift, int | float) and math.isfinite(drift):
            points.append(DriftPoint(version.version, version.label_count, float(drift)))
    return points


@dataclass(frozen=True)
class LiveDecision:
    """One live (not undone) annotation with its item's kind, as the signals read it."""

    is_audit: bool
    is_evaluation: bool
    kind: AnnotationKind
    value: Any


def live_decisions(session: Session, *, project_id: int) -> list[LiveDecision]:
    """Every live annotation of the project in the order it was made (inside the caller's
    read); the dashboard counts its labels per class from the same rows."""
    rows = session.execute(
        select(Item.is_audit, Item.is_evaluation, Annotation.kind, Annotation.value)
        .join(Item, Item.id == Annotation.item_id)
        .where(Annotation.project_id == project_id, Annotation.undone_at.is_(None))
        .order_by(Annotation.id)
    ).all()
    return [
        LiveDecision(bool(audit), bool(evaluation), kind, value)
        for audit, evaluation, kind, value in rows
    ]


def active_learning_signals(
    session: Session,
    *,
    project_id: int,
    versions: Sequence[ModelVersion],
    decisions: Sequence[LiveDecision] | None = None,
) -> ActiveLearningSignals:
    """The failure signals of one project (inside the caller's read); ``decisions`` from
    :func:`live_decisions` when the caller has read them already."""
    if decisions is None:
        decisions = live_decisions(session, project_id=project_id)
    return signals_from_decisions(
        [
            (d.is_audit, d.kind, d.value)
            for d in decisions
            # Evaluation items are imported with their labels, never chosen nor served.
            if not d.is_evaluation
        ],
        drift_series(versions),
    )


def signals_from_decisions(
    decisions: Sequence[tuple[bool, AnnotationKind, Any]], drift: list[DriftPoint]
) -> ActiveLearningSignals:
    """The signals from live decisions ``(is_audit, kind, value)`` in the order they were
    made, and the drift series."""
    counts: dict[bool, Counter[AnnotationKind]] = {False: Counter(), True: Counter()}
    seen: set[str] = set()
    fresh: dict[bool, list[bool]] = {False: [], True: []}
    for is_audit, kind, value in decisions:
        counts[is_audit][kind] += 1
        if kind is not AnnotationKind.LABEL:
            continue
        names = class_names(value)
        if names is None:  # entity spans alone name no class
            continue
        fresh[is_audit].append(bool(names - seen))
        seen |= names

    def rates(is_audit: bool) -> DecisionRates:
        c = counts[is_audit]
        kinds = (AnnotationKind.LABEL, AnnotationKind.SKIP, AnnotationKind.FLAG)
        return DecisionRates(
            decisions=sum(c[k] for k in kinds),
            labels=c[AnnotationKind.LABEL],
            skips=c[AnnotationKind.SKIP],
            flags=c[AnnotationKind.FLAG],
        )

    def newest(is_audit: bool) -> NewClassShare:
        window = fresh[is_audit][-NEW_CLASS_WINDOW:]
        return NewClassShare(labels=len(window), new=sum(window))

    active, audit = rates(False), rates(True)
    active_new, audit_new = newest(False), newest(True)
    return ActiveLearningSignals(
        active=active,
        audit=audit,
        active_new_classes=active_new,
        audit_new_classes=audit_new,
        drift=drift,
        warnings=signal_warnings(active, audit, active_new, audit_new, drift),
    )


def _well_above(mine: float | None, theirs: float | None) -> bool:
    if mine is None or theirs is None:
        return False
    return mine > RATIO * theirs and mine - theirs > MIN_GAP


def signal_warnings(
    active: DecisionRates,
    audit: DecisionRates,
    active_new: NewClassShare,
    audit_new: NewClassShare,
    drift: Sequence[DriftPoint],
) -> list[str]:
    """The signals that look bad, each as one sentence (empty when none does)."""
    warnings = []
    compared = active.decisions >= MIN_COMPARED and audit.decisions >= MIN_COMPARED
    if compared and _well_above(active.passed_rate, audit.passed_rate):
        warnings.append(
            f"Active learning may be chasing unlabelable or out-of-scope items: "
            f"{active.passed_rate:.0%} of decisions on actively chosen items are skips or "
            f"flags, against {audit.passed_rate:.0%} on random audit items."
        )
    compared = active_new.labels >= MIN_COMPARED and audit_new.labels >= MIN_COMPARED
    if compared and _well_above(audit_new.share, active_new.share):
        warnings.append(
            f"Random audit items still turn up classes nobody had labeled "
            f"({audit_new.share:.0%} of the latest {audit_new.labels:,} audit labels, "
            f"against {active_new.share:.0%} of actively chosen ones): the strategy may "
            "be missing parts of the pool."
        )
    recent = [p.class_mix_drift for p in drift[-DRIFT_VERSIONS:]]
    rising = all(a < b for a, b in pairwise(recent))
    if len(recent) == DRIFT_VERSIONS and rising and recent[-1] - recent[0] >= MIN_DRIFT_RISE:
        steps = " → ".join(f"{d:.2f}" for d in recent)
        warnings.append(
            f"The labeled classes drift further from the pool's predicted classes with "
            f"every version (total variation {steps} over the last {DRIFT_VERSIONS}): "
            "labels are piling onto a few classes."
        )
    return warnings


def learning_health(session: Session, *, project_id: int) -> LearningHealth:
    """The latest labels-saved estimate and the failure signals; one read, ended."""
    versions = list(
        session.scalars(
            select(ModelVersion)
            .where(ModelVersion.project_id == project_id)
            .order_by(ModelVersion.version)
        )
    )
    health = LearningHealth(
        labels_saved=latest_labels_saved(versions),
        signals=active_learning_signals(session, project_id=project_id, versions=versions),
    )
    end_read(session)
    return health


# -- the sentence -------------------------------------------------------------------------


def about_labels(labels: float) -> str:
    """An estimated label count to two significant figures (4,213 -> "4,200")."""
    n = max(1, round(labels))
    if n >= 100:
        n = round(n, 2 - len(str(n)))
    return f"{n:,}"


def labels_saved_text(estimate: RandomLabelsEstimate) -> str:
    """The estimate in one sentence: random labels needed against the labels used, or
    what the audit sample still lacks."""
    if not estimate.estimated:
        if estimate.audit_labels_needed:
            return (
                f"Not enough random audit labels to say yet: {estimate.audit_labels:,} so far, "
                f"{estimate.audit_labels_needed:,} more needed."
            )
        return f"Cannot say yet. {estimate.reason}" if estimate.reason else "Cannot say yet."
    on = (
        "on the evaluation set"
        if estimate.scored_on == "evaluation set"
        else "on the random audit sample"
    )
    target = f"today's accuracy of {estimate.model_score:.3f} ({on})"
    used = f"{estimate.model_labels:,}"
    level = f"{estimate.level:.0%} interval"
    low, high, point = estimate.low, estimate.high, estimate.random_labels
    if low is None or not math.isfinite(low):
        return f"Cannot say yet. {estimate.reason}" if estimate.reason else "Cannot say yet."
    if estimate.beyond_pool:
        return (
            f"Active learning reached {target} with {used} labels; random sampling of this "
            f"pool would not reach it (even the low end of the {level}, "
            f"{about_labels(low)} labels, is more than the pool holds)."
        )
    if point is None or not math.isfinite(point):
        # No best guess (the best curve never gets there, or only far past the random
        # labels): the interval's low end is what the random labels can vouch for.
        fewer = estimate.saving_low
        verdict = (
            f" — at least {fewer:.1f}× fewer."
            if fewer is not None and math.isfinite(fewer) and fewer >= 1.05
            else "."
        )
        return (
            f"Random sampling would need at least {about_labels(low)} labels (the low end of "
            f"the {level}; the random labels cannot say yet how many more) to reach {target}; "
            f"active learning used {used}{verdict}"
        )
    if high is not None and math.isfinite(high):
        interval = f"{level} {about_labels(low)}–{about_labels(high)}"
    else:
        interval = f"{level}: at least {about_labels(low)}"
    saving = estimate.saving
    if saving is None:
        verdict = "."
    elif saving >= 1.05:
        verdict = f" — about {saving:.1f}× fewer."
    elif saving > 0.95:
        verdict = " — about as many as random sampling would."
    else:
        verdict = f" — more labels than random sampling would ({saving:.1f}×)."
    return (
        f"Random sampling would need about {about_labels(point)} labels ({interval}) "
        f"to reach {target}; active learning used {used}{verdict}"
    )
