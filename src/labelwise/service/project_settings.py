"""Per-project knobs, validated once at the edge of the service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from labelwise.strategies import STRATEGIES


class ProjectSettings(BaseModel):
    """How a project queries, trains and serves.

    Attributes
    ----------
    strategy : str
        A registered query strategy (``labelwise.strategies.STRATEGIES``).
    features : {"tfidf", "minilm"}
        TF-IDF needs nothing; MiniLM needs the ``embeddings`` extra and caches vectors.
    retrain_every : int
        New human labels that trigger a background retrain.
    min_labels : int
        Labels (and at least two classes) before the first model is trained; until then
        items are served at random.
    queue_size : int
        How many top-ranked items a retrain writes to the queue.
    lease_seconds : int
        How long an annotator holds an item before it returns to the queue.
    overlap : int
        Annotators who label each item (k > 1 measures agreement).
    audit_fraction : float
        Share of ``next`` calls served at random from a held-out audit sample, never
        trained on: its accuracy is an unbiased estimate.
    regularization : float
        Inverse regularization ``C`` of the logistic regression.
    """

    model_config = ConfigDict(extra="forbid")

    strategy: str = "margin"
    features: Literal["tfidf", "minilm"] = "tfidf"
    retrain_every: int = Field(default=50, ge=1)
    min_labels: int = Field(default=10, ge=2)
    queue_size: int = Field(default=1000, ge=1)
    lease_seconds: int = Field(default=600, ge=1)
    overlap: int = Field(default=1, ge=1, le=10)
    audit_fraction: float = Field(default=0.0, ge=0.0, lt=1.0)
    regularization: float = Field(default=10.0, gt=0)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; use one of {sorted(STRATEGIES)}")
        return value
