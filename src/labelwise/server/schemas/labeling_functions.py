"""Labeling functions: the declarative spec a client sends, and the live numbers it gets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from labelwise.server.schemas.common import LabelName, Name, Text, UtcDateTime
from labelwise.service.weak_suggestions import SuggestedFunction

Keyword = Annotated[Text, Field(min_length=1, max_length=200)]
Pattern = Annotated[Text, Field(min_length=1, max_length=500)]
Exemplar = Annotated[Text, Field(min_length=1, max_length=2000)]
AnchorText = Annotated[Text, Field(min_length=1, max_length=500)]
Threshold = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
Kind = Literal["keyword", "regex", "label_name", "exemplar", "zero_shot"]
KIND_HELP = (
    "keyword: fires when a text holds any of `keywords` as whole words; regex: when "
    "`pattern` matches anywhere (Python syntax, time-limited per text). Where the project's "
    "features hold sentence embeddings (minilm, minilm+tfidf) and the server has the "
    "embeddings extra: label_name, when a text's embedding is within `threshold` (a cosine) "
    "of the label's name (or `text`); exemplar, of any of `exemplars`; zero_shot, the "
    "label among `labels` whose name is nearest, where that cosine reaches `threshold`."
)
FunctionName = Annotated[Name, Field(max_length=200)]
FunctionLabel = Annotated[LabelName, Field(max_length=200)]


class _SpecFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def spec_changes(self) -> dict[str, Any]:
        """The spec keys the client set (``enabled`` is not part of a spec)."""
        return self.model_dump(exclude_unset=True, exclude_none=True, exclude={"enabled"})


class LabelingFunctionIn(_SpecFields):
    name: FunctionName = Field(description="Unique in the project.")
    kind: Kind = Field(description=KIND_HELP)
    label: FunctionLabel | None = Field(
        default=None,
        description="The label it votes (one of the project's); a zero_shot function has "
        "`labels` instead (it is listed with label `*`).",
    )
    keywords: list[Keyword] | None = Field(
        default=None, max_length=200, description="For keyword functions: words or phrases."
    )
    case_sensitive: bool | None = Field(default=None, description="For keyword functions.")
    pattern: Pattern | None = Field(default=None, description="For regex functions.")
    flags: Literal["", "lowercase"] | None = Field(
        default=None, description="For regex functions: 'lowercase' matches the lower-cased text."
    )
    threshold: Threshold | None = Field(
        default=None,
        description="For label_name, exemplar and zero_shot functions: the least cosine at "
        "which they vote.",
    )
    text: AnchorText | None = Field(
        default=None,
        description="For label_name functions: the words to compare (default: the label's "
        "name, `book_flight` read as 'book flight').",
    )
    exemplars: list[Exemplar] | None = Field(
        default=None, max_length=200, description="For exemplar functions: example texts."
    )
    labels: list[FunctionLabel] | None = Field(
        default=None,
        max_length=10_000,
        description="For zero_shot functions: two or more of the project's labels.",
    )
    enabled: bool = Field(default=True, description="Counted in the combined numbers.")


class LabelingFunctionUpdate(_SpecFields):
    """Only the fields sent change; a changed spec is a new version."""

    name: FunctionName | None = None
    kind: Kind | None = None
    label: FunctionLabel | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=200)
    case_sensitive: bool | None = None
    pattern: Pattern | None = None
    flags: Literal["", "lowercase"] | None = None
    threshold: Threshold | None = None
    text: AnchorText | None = None
    exemplars: list[Exemplar] | None = Field(default=None, max_length=200)
    labels: list[FunctionLabel] | None = Field(default=None, max_length=10_000)
    enabled: bool | None = None


class _FromService(BaseModel):
    """Read from the service's dataclass of the same fields (``model_validate(obj)``)."""

    model_config = ConfigDict(from_attributes=True)


class FunctionStatsOut(_FromService):
    votes: int = Field(description="Items it votes on.")
    coverage: float = Field(description="Share of the project's items it votes on.")
    overlap: float = Field(description="Share of items it votes on with another function.")
    conflict: float = Field(description="Share of items where another function votes otherwise.")
    gold_votes: int = Field(description="Votes on items a person labeled.")
    correct: int = Field(description="Of those, votes equal to the person's label.")
    accuracy: float | None = Field(description="correct / gold_votes; null without gold votes.")
    accuracy_low: float = Field(description="95% Wilson interval, lower end.")
    accuracy_high: float = Field(description="95% Wilson interval, upper end.")


class LabelingFunctionOut(_FromService):
    id: int
    name: str
    kind: str
    label: str = Field(description="The label it votes; `*` for a zero_shot function.")
    spec: dict[str, Any] = Field(description="The declarative spec as stored.")
    enabled: bool
    version: int = Field(description="Rises by one with every edit of the spec.")
    origin: str = Field(description="person, or suggestion (an accepted suggestion).")
    created_by: str | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    error: str | None = Field(description="Why applying it stopped (it is then disabled).")
    stats: FunctionStatsOut = Field(description="Measured against every human label.")
    audit: FunctionStatsOut | None = Field(
        description="Measured on the random audit sample only (null without one): actively "
        "chosen items are the hard ones and understate every rule."
    )


class LabelingFunctionsOut(_FromService):
    functions: list[LabelingFunctionOut]
    coverage: float = Field(description="Share of items at least one enabled function votes on.")
    overlap: float = Field(description="Share of items two or more enabled functions vote on.")
    conflict: float = Field(description="Share of items with enabled votes for two labels.")
    n_items: int
    gold_items: int = Field(description="Items a person labeled.")
    audit_items: int = Field(description="Labeled items of the random audit sample.")
    similarity_refused: str | None = Field(
        description="Why label_name, exemplar and zero_shot functions are refused in this "
        "project (no embeddings extra on the server, or features without sentence "
        "embeddings); null where they are accepted."
    )


class LabelingFunctionVersionOut(_FromService):
    version: int
    label: str
    spec: dict[str, Any]
    edited_by: str | None
    created_at: UtcDateTime


class PreviewHitOut(_FromService):
    item_id: int
    text: str
    gold: str | None = Field(description="The item's human label, if it has one.")


class PreviewOut(_FromService):
    stats: FunctionStatsOut
    audit: FunctionStatsOut | None
    sample: list[PreviewHitOut] = Field(description="The first items it fires on.")
    conflicts: dict[str, int] = Field(
        description="Per enabled function: items where it votes another label."
    )


class SuggestionOut(BaseModel):
    key: str = Field(description="Accept or reject the suggestion by this key.")
    kind: str
    label: str = Field(description="The label it votes; `*` for the zero_shot function.")
    spec: dict[str, Any]
    gold_votes: int = Field(description="Labeled items it fires on.")
    correct: int
    precision: float
    precision_low: float
    precision_high: float
    coverage: float = Field(description="Share of the project's items it fires on.")

    @classmethod
    def from_suggested(cls, s: SuggestedFunction) -> SuggestionOut:
        found = s.suggestion
        return cls(
            key=s.key,
            kind=str(found.spec["kind"]),
            label=found.label,
            spec=found.spec,
            gold_votes=found.gold_votes,
            correct=found.correct,
            precision=found.precision,
            precision_low=found.precision_low,
            precision_high=found.precision_high,
            coverage=found.coverage,
        )


class WeakCoverageOut(_FromService):
    n_items: int
    human: int = Field(description="Items a person labeled.")
    weak: int = Field(description="Items at least one enabled function votes on.")
    both: int
    neither: int
    functions: int
    enabled: int


class RuleVoteOut(_FromService):
    function: str = Field(description="The labeling function's name.")
    version: int = Field(description="The version of it that voted.")
    label: str


class WeakLabeledItemOut(_FromService):
    item_id: int
    position: int
    text: str
    votes: list[RuleVoteOut] = Field(description="Every enabled function's vote on the item.")
    source: Literal["rule"] = Field(
        description="Always 'rule': weak labels are never a person's (see the label export)."
    )
