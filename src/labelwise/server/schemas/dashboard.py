"""The dashboard's numbers (the service's dataclasses, as JSON)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from labelwise.server.schemas.common import UtcDateTime
from labelwise.server.schemas.training import JobOut
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
