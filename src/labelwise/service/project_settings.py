"""Per-project knobs, validated once at the edge of the service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from labelwise.features import sentence_embeddings_installed
from labelwise.recipes import DEFAULT_SPAN_FEATURES, DEFAULT_SPAN_STRATEGY
from labelwise.recipes.classification import (
    DEFAULT_CLASS_BALANCED,
    DEFAULT_FEATURES,
    DEFAULT_STRATEGY,
    SENTENCE_FEATURES,
)
from labelwise.strategies import SEQUENCE_STRATEGIES, STRATEGIES
from labelwise.strategies.base import QueryStrategy
from labelwise.tasks import task_for

#: New labels between retrains. Every 20 keeps the queue fresh while a project is young
#: (the first models improve fastest) without retraining on every few clicks of a team:
#: one TF-IDF retrain ranks the pool in seconds, and 20 labels take a labeler minutes.
DEFAULT_RETRAIN_EVERY = 20
#: What a stored project without a ``features`` key had: TF-IDF was every project's
#: default before the recipe's (migration 0013 writes it into such projects).
STORED_FEATURES: Literal["tfidf"] = "tfidf"
#: Share of items served from the audit sample. Without one the dashboard has no unbiased
#: accuracy to show; a tenth costs one label in ten and narrows a 95% interval to about
#: +-10 points after the first 100 audit labels.
DEFAULT_AUDIT_FRACTION = 0.1
#: New human labels between two relabel jobs (suspected label errors). A job fits the
#: learner once per fold (5 fits), so it runs a tenth as often as a retrain.
DEFAULT_RELABEL_EVERY = 200
#: Share of items served from the relabel queue while it has suspects: one review in ten
#: items keeps a 5% error rate in check without starving the ranked queue.
DEFAULT_RELABEL_SHARE = 0.1
#: A week: longer than any sitting, short enough that ``now + lease`` is a valid date.
MAX_LEASE_SECONDS = 7 * 24 * 3600
#: Task kinds whose ``strategy`` ranks sentences for a CRF tagger (SEQUENCE_STRATEGIES).
#: An intents-and-entities project's ``strategy`` is its intent classifier's (STRATEGIES);
#: its tagger's part of the queue score is fixed (see ``service.span_training``).
SEQUENCE_TASKS = frozenset({"spans"})


def strategies_for(task: str) -> dict[str, type[QueryStrategy]]:
    """The strategies a project of ``task`` kind may name, by name."""
    return SEQUENCE_STRATEGIES if str(task) in SEQUENCE_TASKS else STRATEGIES


def default_strategy(task: str) -> str:
    """What a new project of ``task`` kind ranks with unless its settings say otherwise."""
    return DEFAULT_SPAN_STRATEGY if str(task) in SEQUENCE_TASKS else DEFAULT_STRATEGY


def default_features(task: str) -> str:
    """The features a new project of ``task`` kind trains on unless its settings say so.

    The recipe's (``labelwise.recipes``: MiniLM beside TF-IDF for a classifier, TF-IDF for
    a tagger); TF-IDF alone where the ``embeddings`` extra is not installed, so a project
    created there trains instead of failing its first retrain.
    """
    wanted = DEFAULT_SPAN_FEATURES if str(task) in SEQUENCE_TASKS else DEFAULT_FEATURES
    if wanted in SENTENCE_FEATURES and not sentence_embeddings_installed():
        return "tfidf"
    return wanted


class ProjectSettings(BaseModel):
    """How a project queries, trains and serves.

    Attributes
    ----------
    strategy : str
        A registered query strategy: ``labelwise.strategies.STRATEGIES`` for classification
        and intents-and-entities projects, ``SEQUENCE_STRATEGIES`` for spans projects
        (default ``"sequence_lc"`` there). Validated against the project's task when the caller
        passes it as context (``model_validate(raw, context={"task": kind})``).
    class_balanced : bool
        Spread each ranked batch over the predicted classes (``ClassBalanced`` around the
        strategy), so intents with few labels get some too. Off by default, as in the
        recipe (``labelwise.recipes.classification.DEFAULT_CLASS_BALANCED``: plain margin
        needed fewer labels with ``minilm+tfidf`` features on two of three data sets).
    full_rescore_every : int
        Every how many retrains the whole pool is ranked (the first after a restart is
        always full). In between the worker ranks only candidates
        (:class:`~labelwise.strategies.IncrementalRescoring`): what the last full ranking
        put near the top, and the nearest neighbours, in the sentence embeddings, of the
        items labeled since and of labeled items of each class. 1 (the default) ranks
        the whole pool every retrain; above 1 needs ``minilm`` or ``minilm+tfidf``.
    features : {"tfidf", "minilm", "minilm+tfidf"}
        TF-IDF needs nothing; MiniLM needs the ``embeddings`` extra and caches vectors;
        ``minilm+tfidf`` puts both side by side (``labelwise.recipes.classification``).
        A new project gets :func:`default_features` of its task (``minilm+tfidf`` for
        classification and intents-and-entities projects when the extra is installed);
        settings read back without the key mean ``tfidf``, the default before.
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
    evaluation_like_pool : bool
        The evaluation set was drawn at random from the same source as the pool (say, a
        held-out slice of the same export). Its labels may then train the random-sampling
        curve of the dashboard's labels-saved estimate beside the audit labels, which
        carries that curve much further; an evaluation set from elsewhere (another
        collection round, a benchmark's test split) teaches its own quirks and would make
        random labels look cheaper than they are. Checked against the audit sample even
        when set.
    regularization : float
        Inverse regularization ``C`` of the logistic regression.
    near_duplicate_cosine : float
        Production messages at least this similar (cosine of their feature rows) form one
        group, served once with the group's count.
    relabel_every : int
        New human labels between relabel jobs, which rank suspected label errors
        (``service.relabel``); 0 turns the relabel queue off.
    relabel_share : float
        Share of ``next`` calls served from the open relabel suspects (to an annotator
        other than the one who gave the label).
    discovery_confidence : float
        New-intent discovery: unlabeled messages the model answers with top probability
        below this are candidates (beside those it puts in the out-of-scope class).
    discovery_min_cluster_size : int
        The fewest messages a discovered cluster holds.
    out_of_scope_label : str or None
        The project's out-of-scope class; None: a label named ``oos`` or ``out_of_scope``
        if there is one.
    label_budget : int
        Production traffic items admitted to the review queue per ``budget_period``, by
        expected impact (``service.stream_budget``); 0 (the default) turns the budget off
        and traffic is ranked with the rest of the pool.
    budget_period : {"day", "week"}
        The budget's period: a UTC day, or a week from Monday 00:00 UTC.
    stream_share : float
        With a budget, the share of ``next`` calls served from the admitted traffic (the
        ranked queue of imported items and the audit sample share the rest).
    feedback_share : float
        Share of ``next`` calls served from open user-feedback reports (highest expected
        impact first) while there are any; labeling one reviews its reports. 0 leaves
        reports to the feedback triage page alone.
    cluster_share : float
        Share of ``next`` calls served from the members of open new-intent clusters
        (each cluster's most central members first) while there are any. 0 leaves them to
        the clusters page alone.
    weak_label_weight : float in [0, 1]
        Train the model on weak labels too: every item the enabled labeling functions
        vote on and no person labeled trains with the label model's answer, at this
        weight times its confidence (a human label weighs 1 and always wins). 0 (the
        default) trains on human labels only; held-out and audit scores never read weak
        labels. Only for projects whose task takes labeling functions (single-label).
    weak_label_weight_by_cv : bool
        Each retrain, cross-validation on the human labels chooses between training on
        them alone and training on weak labels at ``weak_label_weight`` too
        (:func:`labelwise.weak.combine.choose_weak_weight`): the rules' labels train only
        while they help the model answer held-out human labels. Needs
        ``weak_label_weight`` above 0 and 20 human labels to judge; the model version
        records what was chosen.
    weak_labels_from : {"rules", "model_and_rules"}
        Which answer labels the items nobody labeled when ``weak_label_weight`` is above
        0. ``"rules"`` (the default): the label model's, on every item a function voted
        on. ``"model_and_rules"``: the model trained on the human labels and the label
        model answering together (:func:`labelwise.weak.combine.self_training_set`), on
        the covered items where that answer is at least 97% sure, and the queue is ranked
        on that joint answer too (margin, entropy and least confidence). The served model
        answers alone. Better where the rules are noisy: with TREC-6's shared rules the
        served model gained +10.0, +4.4, +2.9 and +0.7 accuracy points over active learning
        alone at 50, 100, 200 and 500 actions (20 seeds), against +4.7, -0.6, +1.1 and +0.9
        with ``weak_label_weight_by_cv``. Worse where they are good: with CLINC150's
        suggested functions +25.0, +18.2, +1.4 and -1.6 (5 seeds), against +31.7, +24.2,
        +15.0 and +3.8 with ``weak_label_weight_by_cv``. Not with
        ``weak_label_weight_by_cv``: on actively chosen labels, cross-validation judges
        self-training wrongly.
    """

    model_config = ConfigDict(extra="forbid")

    strategy: str = DEFAULT_STRATEGY
    class_balanced: bool = DEFAULT_CLASS_BALANCED
    # 1 (every retrain ranks the whole pool, exactly) by default: the data sets we have
    # hold at most 23,700 items, where that costs tens of milliseconds (1.34 s at a
    # million, benchmarks/results/loop_latency_1m.md).
    full_rescore_every: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Every how many retrains the whole pool is ranked; in between only "
        "candidates are (IncrementalRescoring: the last full ranking's best items and the "
        "nearest neighbours of new labels and of labeled items of each class, in the "
        "sentence embeddings). 1: every retrain ranks the whole pool. Needs minilm "
        "features.",
    )
    features: Literal["tfidf", "minilm", "minilm+tfidf"] = STORED_FEATURES
    # Every number has an upper bound: a huge value must be refused here, not overflow a
    # date or a query later (a lease of 10**12 seconds made every ``next`` fail).
    retrain_every: int = Field(default=DEFAULT_RETRAIN_EVERY, ge=1, le=100_000)
    min_labels: int = Field(default=10, ge=2, le=100_000)
    queue_size: int = Field(default=1000, ge=1, le=1_000_000)
    lease_seconds: int = Field(default=600, ge=1, le=MAX_LEASE_SECONDS)
    overlap: int = Field(default=1, ge=1, le=10)
    audit_fraction: float = Field(default=DEFAULT_AUDIT_FRACTION, ge=0.0, le=0.5)
    evaluation_like_pool: bool = False
    regularization: float = Field(default=10.0, gt=0, le=1e6, allow_inf_nan=False)
    # 0.9 (MiniLM cosine): variants of one request group ("what is my balance" and
    # "...?!" 0.93, "hi there" and "hi there!" 0.91), distinct requests that share words
    # do not ("freeze my card" / "unfreeze my card" 0.84, "a timer for 5 minutes" / "for
    # 10 minutes" 0.85). Below 0.5 a group would hold texts nobody calls the same.
    near_duplicate_cosine: float = Field(default=0.9, ge=0.5, le=1.0, allow_inf_nan=False)
    relabel_every: int = Field(default=DEFAULT_RELABEL_EVERY, ge=0, le=100_000)
    relabel_share: float = Field(default=DEFAULT_RELABEL_SHARE, ge=0.0, le=0.5, allow_inf_nan=False)
    # Measured on CLINC150 with a quarter of the intents hidden (benchmarks/continuous.py
    # --only new_intents): see labelwise.discovery for the clustering defaults.
    discovery_confidence: float = Field(default=0.7, ge=0.0, le=1.0, allow_inf_nan=False)
    discovery_min_cluster_size: int = Field(default=5, ge=2, le=1000)
    out_of_scope_label: str | None = Field(default=None, min_length=1, max_length=100)
    label_budget: int = Field(default=0, ge=0, le=1_000_000)
    budget_period: Literal["day", "week"] = "day"
    stream_share: float = Field(default=0.5, ge=0.0, le=1.0, allow_inf_nan=False)
    feedback_share: float = Field(default=0.1, ge=0.0, le=0.5, allow_inf_nan=False)
    cluster_share: float = Field(default=0.05, ge=0.0, le=0.5, allow_inf_nan=False)
    # Off by default, since whether it helps depends on the rules
    # (benchmarks/results/weak_supervision_*.md, the end model trained on weak and human
    # labels at 0.5 against human labels alone): CLINC150's suggested functions, 0.52
    # against 0.18 accuracy at 50 actions and 0.70 against 0.67 at 500; TREC-6's 68 shared
    # rules, 0.51 against 0.61 at 50 and 0.62 against 0.89 at 500. The library's
    # choose_weak_weight decides by cross-validation: weak_label_weight_by_cv.
    weak_label_weight: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Weight of a weak label (the labeling functions' answer on items no "
        "person labeled) at full confidence when the model trains; 0 trains on human "
        "labels only. Single-label projects.",
    )
    # Off by default: a retrain with it fits the learner six more times (three folds,
    # with and without the weak labels).
    weak_label_weight_by_cv: bool = Field(
        default=False,
        description="Each retrain, cross-validation on the human labels decides whether "
        "the weak labels train (at weak_label_weight) or only human labels do.",
    )

    weak_labels_from: Literal["rules", "model_and_rules"] = Field(
        default="rules",
        description="Which answer labels the items nobody labeled when weak_label_weight "
        "is above 0: 'rules' (the label model's, wherever a function voted) or "
        "'model_and_rules' (the model of the human labels and the label model together, "
        "where they are at least 97% sure; the queue is ranked on that answer too).",
    )

    @model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        task = (info.context or {}).get("task")
        if task is None or not isinstance(data, dict):
            return data
        filled = dict(data)
        if "strategy" not in filled:
            filled["strategy"] = default_strategy(task)
        if "features" not in filled:
            filled["features"] = default_features(task)
        return filled

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str, info: ValidationInfo) -> str:
        task = (info.context or {}).get("task")
        if task is not None:
            known = strategies_for(task)
            if value not in known:
                kind = str(task).replace("_", "-")
                raise ValueError(
                    f"unknown strategy {value!r} for a {kind} project; use one of {sorted(known)}"
                )
            return value
        # No task given (a stored project read back): any registered name.
        if value not in STRATEGIES and value not in SEQUENCE_STRATEGIES:
            known_names = sorted(STRATEGIES) + sorted(SEQUENCE_STRATEGIES)
            raise ValueError(f"unknown strategy {value!r}; use one of {known_names}")
        return value

    @model_validator(mode="after")
    def _incremental_rounds_have_sentences(self) -> ProjectSettings:
        if self.full_rescore_every > 1 and self.features not in SENTENCE_FEATURES:
            raise ValueError(
                "full_rescore_every above 1 finds candidates among the nearest neighbours in "
                "the sentence embeddings; set features to minilm or minilm+tfidf first"
            )
        return self

    @model_validator(mode="after")
    def _weak_settings_agree(self) -> ProjectSettings:
        if self.weak_label_weight_by_cv and self.weak_label_weight == 0:
            raise ValueError(
                "weak_label_weight_by_cv chooses between human labels alone and weak labels "
                "at weak_label_weight; set weak_label_weight above 0 first"
            )
        if self.weak_labels_from == "model_and_rules":
            if self.weak_label_weight == 0:
                raise ValueError(
                    "weak_labels_from 'model_and_rules' says which answer labels the weak "
                    "items; set weak_label_weight above 0 first"
                )
            if self.weak_label_weight_by_cv:
                raise ValueError(
                    "weak_label_weight_by_cv judges the rules' labels; with weak_labels_from "
                    "'model_and_rules' leave it false (cross-validation on actively chosen "
                    "labels judges self-training wrongly)"
                )
        return self

    @field_validator("weak_label_weight")
    @classmethod
    def _weak_labels_supported(cls, value: float, info: ValidationInfo) -> float:
        task = (info.context or {}).get("task")
        if value > 0 and task is not None and not task_for(task).labeling_functions:
            kind = str(task).replace("_", "-")
            raise ValueError(
                f"a {kind} project has no labeling functions, so no weak labels to train "
                "on; leave it at 0"
            )
        return value
