"""The dashboard's numbers (the service's dataclasses, as JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labelwise.evaluation.labels_saved import RandomLabelsEstimate
from labelwise.server.schemas.common import UtcDateTime
from labelwise.server.schemas.training import JobOut
from labelwise.service.learning_health import labels_saved_text
from labelwise.service.projects import ProjectStatus


class _FromService(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AnnotatorActivityOut(_FromService):
    username: str
    labels: int
    skips: int
    flags: int
    labels_last_hour: int
    median_seconds: float | None


class VersionPointOut(_FromService):
    version: int
    label_count: int
    created_at: UtcDateTime
    audit_accuracy: float | None
    audit_ci95: list[float] | None
    audit_n: int | None
    eval_accuracy: float | None
    eval_ci95: list[float] | None
    eval_n: int | None
    mean_confidence: float | None
    stop_kappa: float | None
    stop_changed: float | None
    margin_histogram: list[int] | None
    # Span tasks (None otherwise): strict span F1 with a sentence-bootstrap 95% interval.
    eval_span_f1: float | None = None
    eval_span_f1_ci95: list[float] | None = None
    audit_span_f1: float | None = None
    audit_span_f1_ci95: list[float] | None = None
    labeled_sentences: int | None = None
    labeled_tokens: int | None = None


class StoppingSignalOut(_FromService):
    name: str
    fired: bool
    value: float | None
    threshold: float
    meaning: str


class AnnotatorErrorRateOut(_FromService):
    """Of an annotator's labels reviewed in the relabel queue, the share changed."""

    annotator_id: int
    username: str
    reviewed: int
    changed: int
    rate: float
    ci95: tuple[float, float]


class RelabelSummaryOut(_FromService):
    """The relabel queue: suspects open, kept and changed, and per-annotator error rates."""

    open: int
    kept: int
    changed: int
    annotators: list[AnnotatorErrorRateOut]


class StreamBudgetOut(_FromService):
    budget: int
    period: str
    admitted: int
    threshold: float | None
    waiting: int


class LabelsSavedOut(BaseModel):
    """How many random labels would reach the latest model's score, from the random
    audit sample (``RandomLabelsEstimate.to_dict``), and ``text``: the same in a sentence.

    Unbounded or unknown numbers are null: with ``estimated`` true, a null ``high`` /
    ``saving_high`` means no upper bound, and a null ``random_labels`` / ``saving`` no
    best guess (the low end of the interval is the answer).
    """

    model_config = ConfigDict(ser_json_inf_nan="null")

    estimated: bool
    reason: str | None
    model_labels: int
    #: Null when the model has no held-out score yet.
    model_score: float | None
    audit_labels: int
    audit_labels_needed: int | None = None
    #: ``"evaluation set"`` or ``"audit sample"``.
    scored_on: str
    #: Random labels the curve was trained from (audit, plus the evaluation set's when
    #: it is like the pool), and the largest training subset on the curve.
    random_sample: int = 0
    largest_subset: int = 0
    #: How much better models trained on evaluation labels score than on as many audit
    #: labels (null when not checked).
    eval_shift: float | None = None
    random_labels: float | None = None
    low: float | None = None
    high: float | None = None
    level: float
    saving: float | None = None
    saving_low: float | None = None
    saving_high: float | None = None
    beyond_pool: bool
    #: The observed random curve: ``[labels, mean score]`` per subset size.
    curve: list[tuple[int, float]] = Field(default_factory=list)
    text: str

    @model_validator(mode="before")
    @classmethod
    def _from_estimate(cls, data: Any) -> Any:
        if isinstance(data, RandomLabelsEstimate):
            return {**data.to_dict(), "text": labels_saved_text(data)}
        return data


class DecisionRatesOut(_FromService):
    """Live decisions on one kind of item; rates are null without decisions."""

    decisions: int
    labels: int
    skips: int
    flags: int
    skip_rate: float | None
    flag_rate: float | None
    #: Skips and flags together.
    passed_rate: float | None


class NewClassShareOut(_FromService):
    """Of the newest labels of one kind (at most 200), those naming a class nobody had
    labeled before."""

    labels: int
    new: int
    share: float | None


class DriftPointOut(_FromService):
    version: int
    label_count: int
    #: Total variation between the trained labels' classes and the pool's predicted ones.
    class_mix_drift: float


class ActiveLearningSignalsOut(_FromService):
    """Signs that active learning is going wrong: actively chosen items against the
    random audit items, class-mix drift per version, and warnings in plain words."""

    active: DecisionRatesOut
    audit: DecisionRatesOut
    active_new_classes: NewClassShareOut
    audit_new_classes: NewClassShareOut
    drift: list[DriftPointOut]
    warnings: list[str]


class DashboardOut(_FromService):
    status: ProjectStatus
    queued: int
    labels_per_class: dict[str, int]
    pool_predicted: dict[str, int]
    annotators: list[AnnotatorActivityOut]
    versions: list[VersionPointOut]
    stopping: list[StoppingSignalOut]
    jobs: list[JobOut]
    task: str
    #: Span tasks: human-labeled entities per type, and the latest tagger's per type over
    #: a random sample of ``entities_sample`` unlabeled sentences.
    entities_labeled: dict[str, int]
    entities_predicted: dict[str, int]
    entities_sample: int | None
    relabel: RelabelSummaryOut | None = None
    #: New-intent discovery: clusters awaiting an admin's decision.
    open_clusters: int = 0
    #: With a label budget: traffic admitted this period / budget, the threshold.
    stream_budget: StreamBudgetOut | None = None
    #: Is active learning helping: the latest version's labels-saved estimate (null
    #: before one has it) and the failure signals.
    labels_saved: LabelsSavedOut | None = None
    signals: ActiveLearningSignalsOut
