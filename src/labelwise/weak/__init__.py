"""Weak supervision: labeling functions, the label matrix, its analysis and label models.

Labeling functions (:mod:`labelwise.weak.functions`) vote a label or abstain on each item;
:func:`apply_functions` / :class:`LabelMatrixBuilder` gather the votes into a sparse
label matrix; :func:`analyze` gives each function's coverage, overlap, conflict and
accuracy against gold labels; a label model (:class:`MajorityVote`,
:class:`WeightedVote`, :class:`DawidSkene`, gold-aware when given human labels) turns
the votes into one probability per class for each item. Declarative specs (JSON, no code)
become functions through :func:`function_from_spec` and :func:`read_labeling_functions`.
:func:`weak_training_set` joins human and weak labels for the end model (human labels
win), :func:`vote_features` hands it the votes as feature columns instead; :class:`LabelingFunctionConflict`, :class:`CoverageGap` and
:class:`LabelModelDisagreement` send people where the rules fail; ``suggest_*`` mine
candidate functions from the labeled items. For entities, :mod:`labelwise.weak.spans`
holds gazetteer, pattern and tagger functions, their votes per token (``B-``/``I-`` tags) and
the aggregation back to spans.
"""

from labelwise.weak.analysis import FunctionStats, MatrixStats, analyze, gold_indices
from labelwise.weak.functions import (
    ABSTAIN,
    KeywordFunction,
    LabelingFunction,
    LabelingFunctionError,
    ModelConfidenceFunction,
    OneLabelFunction,
    PythonFunction,
    RegexFunction,
    SimilarityFunction,
    ZeroShotFunction,
)
from labelwise.weak.label_models import DawidSkene, LabelModel, MajorityVote, WeightedVote
from labelwise.weak.matrix import LabelMatrix, LabelMatrixBuilder, apply_functions
from labelwise.weak.spans import (
    GazetteerFunction,
    SpanLabelingFunction,
    SpanPatternFunction,
    TaggerFunction,
    TokenVotes,
    aggregate_spans,
    harvest_gazetteers,
    token_votes,
)
from labelwise.weak.specs import KINDS, function_from_spec, read_labeling_functions
from labelwise.weak.strategies import (
    CombinedAnswerSampling,
    CoverageGap,
    LabelingFunctionConflict,
    LabelModelDisagreement,
    WeakSignalSampling,
)
from labelwise.weak.suggestions import (
    Suggestion,
    suggest_exemplars,
    suggest_keywords,
    suggest_label_names,
    suggest_zero_shot,
)
from labelwise.weak.training import (
    DEFAULT_VOTE_SCALE,
    DEFAULT_WEAK_WEIGHT,
    WeakTrainingSet,
    vote_features,
    weak_training_set,
)

__all__ = [
    "ABSTAIN",
    "CombinedAnswerSampling",
    "CoverageGap",
    "DEFAULT_VOTE_SCALE",
    "DEFAULT_WEAK_WEIGHT",
    "GazetteerFunction",
    "KINDS",
    "LabelModelDisagreement",
    "LabelingFunctionConflict",
    "SpanLabelingFunction",
    "SpanPatternFunction",
    "Suggestion",
    "TaggerFunction",
    "TokenVotes",
    "WeakSignalSampling",
    "WeakTrainingSet",
    "DawidSkene",
    "FunctionStats",
    "KeywordFunction",
    "LabelMatrix",
    "LabelMatrixBuilder",
    "LabelModel",
    "LabelingFunction",
    "LabelingFunctionError",
    "MajorityVote",
    "MatrixStats",
    "ModelConfidenceFunction",
    "OneLabelFunction",
    "PythonFunction",
    "RegexFunction",
    "SimilarityFunction",
    "WeightedVote",
    "aggregate_spans",
    "analyze",
    "apply_functions",
    "function_from_spec",
    "gold_indices",
    "harvest_gazetteers",
    "read_labeling_functions",
    "suggest_exemplars",
    "suggest_keywords",
    "suggest_label_names",
    "token_votes",
    "suggest_zero_shot",
    "vote_features",
    "weak_training_set",
    "ZeroShotFunction",
]
