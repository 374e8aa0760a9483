"""Retrain jobs and the model versions they publish."""

from __future__ import annotations

from typing import Any

from pydantic import AliasPath, BaseModel, ConfigDict, Field

from labelwise.server.schemas.common import UtcDateTime
from labelwise.service.job_errors import failure_message
from labelwise.store import JobStatus

LEGACY_TRACEBACK = "Traceback (most recent call last)"


class JobOut(BaseModel):
    """A background job. ``error`` is one line for every member; ``detail`` says what went
    wrong (the exception, which may name server paths) and is filled for project admins
    only: routes that serve members clear it (:meth:`for_member`)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    trigger: str
    status: JobStatus
    error: str | None
    detail: str | None = Field(
        default=None,
        validation_alias=AliasPath("progress", "detail"),
        description="Why the job failed; project admins only (null for annotators).",
    )
    message: str | None = Field(
        default=None,
        validation_alias=AliasPath("progress", "message"),
        description="A plain note, not an error: why a retrain was skipped (too few "
        "trainable labels).",
    )
    label_count: int | None
    model_version_id: int | None
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None

    def for_member(self, *, admin: bool) -> JobOut:
        """This job as a member with (``admin``) or without admin rights may see it."""
        if admin:
            return self
        error = self.error
        if error is not None and LEGACY_TRACEBACK in error:
            # Stored before errors were split into a line and a detail: hide the traceback.
            error = failure_message(f"This {self.kind}")
        return self.model_copy(update={"detail": None, "error": error})


class ModelVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    label_count: int
    metrics: dict[str, Any]
    created_at: UtcDateTime
    production: bool = Field(description="Predictions are served from this version.")
    servable: bool = Field(
        description="Its whole model was saved, so it can be promoted and predict "
        "(versions published before models were saved whole cannot).",
    )
    weak_label_weight: float | None = Field(
        default=None,
        validation_alias=AliasPath("metrics", "weak_label_weight"),
        description="The weight weak labels trained at: the project's weak_label_weight, "
        "or with weak_label_weight_by_cv what cross-validation chose (0: human labels "
        "alone); null: the setting was 0.",
    )
    weak_label_weight_by_cv: bool = Field(
        default=False,
        validation_alias=AliasPath("metrics", "weak_label_weight_by_cv"),
        description="Cross-validation on the human labels chose weak_label_weight "
        "(metrics.weak_cv_judged: how many it held out).",
    )
    weak_labels_from: str = Field(
        default="rules",
        validation_alias=AliasPath("metrics", "weak_labels_from"),
        description="Which answer labeled the weak items: 'rules' (the label model's) or "
        "'model_and_rules' (the model of the human labels and the rules together, where "
        "sure; the queue was ranked on that joint answer, the rules' exponent in it is "
        "metrics.weak_answer_weight).",
    )
    weak_items: int | None = Field(
        default=None,
        validation_alias=AliasPath("metrics", "weak_items"),
        description="Items this version trained on a weak label (the labeling functions' "
        "answer, where no person labeled); metrics.weak_skipped says why none when the "
        "weight was above 0.",
    )
