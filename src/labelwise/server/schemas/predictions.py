"""Predictions from a model version, and comparing two versions before promoting one."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from labelwise.server.schemas.common import MAX_ID, Text
from labelwise.server.schemas.training import ModelVersionOut
from labelwise.service.importing import MAX_TEXT_CHARS
from labelwise.service.model_versions import Comparison
from labelwise.service.predictions import MAX_TEXTS, Predictions


class PredictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[Annotated[Text, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        min_length=1,
        max_length=MAX_TEXTS,
        description=f"1 to {MAX_TEXTS:,} texts, each at most {MAX_TEXT_CHARS:,} characters.",
    )
    version: Annotated[int, Field(ge=1, le=MAX_ID)] | None = Field(
        default=None,
        description="A model version to predict with; default: the one in production.",
    )


class PredictedSpanOut(BaseModel):
    """An entity: ``text[start:end]`` of type ``label``, with the tagger's confidence."""

    start: int
    end: int
    label: str
    confidence: float = Field(
        description="The smallest marginal probability, over the span's tokens, of the tag "
        "the best path gives the token."
    )


class PredictionOut(BaseModel):
    label: str | list[str] | None = Field(
        description="The predicted label: the most probable class (single-label, and the "
        "intent of intents+entities), every label with probability >= 0.5 (multi-label), "
        "or null (spans)."
    )
    probabilities: dict[str, float] | None = Field(
        description="Per class, its probability (multi-label: each label's own, independent "
        "of the others); null for spans projects."
    )
    spans: list[PredictedSpanOut] | None = Field(
        default=None, description="The entities found (span tasks); null otherwise."
    )


class PredictionsOut(BaseModel):
    version: int = Field(description="The model version that predicted.")
    production: bool = Field(description="Whether that version is the one in production.")
    task: str
    classes: list[str] = Field(description="The labels probabilities are given for, in order.")
    predictions: list[PredictionOut] = Field(description="One per text, in order.")

    @classmethod
    def from_result(cls, result: Predictions) -> PredictionsOut:
        rows = []
        for i, value in enumerate(result.values):
            label: Any = value
            if isinstance(value, dict):  # span tasks: the intent, if any
                label = value.get("intent")
            probabilities = (
                None
                if result.proba is None
                else dict(zip(result.classes, result.proba[i].tolist(), strict=True))
            )
            spans = (
                None
                if result.spans is None
                else [
                    PredictedSpanOut(
                        start=s.start, end=s.end, label=s.label, confidence=s.confidence
                    )
                    for s in result.spans[i]
                ]
            )
            rows.append(PredictionOut(label=label, probabilities=probabilities, spans=spans))
        return cls(
            version=result.version,
            production=result.production,
            task=result.task,
            classes=result.classes,
            predictions=rows,
        )


class EstimateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    value: float
    ci95: tuple[float, float] | None = Field(
        description="95% interval: Wilson for accuracy, a sentence bootstrap for span F1."
    )
    n: int | None = Field(description="Held-out items behind the estimate.")


class ScoreDifferenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    held_out: str = Field(
        description="eval (the imported evaluation set) or audit (the random audit sample)."
    )
    metric: str = Field(description="accuracy or span_f1.")
    a: EstimateOut | None
    b: EstimateOut | None
    difference: float | None = Field(description="b - a; null unless both have the score.")
    difference_ci95: tuple[float, float] | None = Field(
        description="95% interval of the difference (Newcombe's method from the two "
        "intervals; conservative on a shared evaluation set)."
    )


class ComparisonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    a: ModelVersionOut
    b: ModelVersionOut
    scores: list[ScoreDifferenceOut]

    @classmethod
    def from_result(cls, result: Comparison) -> ComparisonOut:
        return cls.model_validate(result)
