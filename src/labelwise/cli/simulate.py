"""``labelwise simulate``: replay active learning on a labeled dataset and report labels saved.

Only the options live here; the work (NumPy, scikit-learn, the strategies) is imported by
the command when it runs, in :mod:`labelwise.cli._simulate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_CACHE = Path.home() / ".cache" / "labelwise" / "embeddings"
#: The names in ``labelwise.strategies.STRATEGIES`` (a test keeps them equal), spelled out
#: so the help text needs no scikit-learn.
STRATEGY_NAMES = (
    "random",
    "least_confidence",
    "margin",
    "entropy",
    "vote_entropy",
    "consensus_entropy",
    "kl_max_disagreement",
    "bald",
    "egl",
    "eer",
    "coreset",
    "badge",
    "cluster_margin",
)
#: ``"random"`` and the names in ``labelwise.strategies.SEQUENCE_STRATEGIES`` (a test keeps
#: them equal): the strategies of ``--task spans``.
SEQUENCE_STRATEGY_NAMES = (
    "random",
    "mnlp",
    "sequence_lc",
    "token_entropy",
    "token_margin",
    "sequence_committee",
)
TASKS = ("classification", "spans")
#: ``--strategy`` when none is given, by task: the recipe's strategy against random
#: (``labelwise.recipes.classification``; a test keeps them equal).
DEFAULT_STRATEGIES = {
    "classification": "margin,random",
    "spans": "sequence_lc,mnlp,random",
}
#: ``--features`` when none is given, by task (the classification recipe's; a test keeps
#: them equal). Spans compare sentences by TF-IDF unless told otherwise.
DEFAULT_FEATURES = {"classification": "minilm+tfidf", "spans": "tfidf"}


def simulate(
    data: Annotated[
        Path,
        typer.Option(
            help="Labeled pool: .jsonl, .csv or .parquet (spans: also .conll; rows with "
            "'spans' as character offsets or 'tokens' + BIO 'tags')."
        ),
    ],
    test: Annotated[
        Path | None,
        typer.Option(help="Held-out test set; default: a random --test-size share of --data."),
    ] = None,
    task: Annotated[
        str,
        typer.Option(
            help="'classification' (one label per text) or 'spans' (entity extraction with a "
            "CRF tagger, scored by strict span F1)."
        ),
    ] = "classification",
    strategy: Annotated[
        str | None,
        typer.Option(
            help=f"Comma-separated. Classification: {', '.join(STRATEGY_NAMES)} (default "
            f"{DEFAULT_STRATEGIES['classification']}). Spans: "
            f"{', '.join(SEQUENCE_STRATEGY_NAMES)} (default {DEFAULT_STRATEGIES['spans']}; "
            "random always runs)."
        ),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            help="'tfidf', 'minilm' (offline MiniLM), 'minilm+tfidf' (both side by side) or "
            "a local model folder (spans: what --dedup compares sentences by) [default: "
            f"{DEFAULT_FEATURES['classification']}; spans: {DEFAULT_FEATURES['spans']}]."
        ),
    ] = None,
    init: Annotated[int, typer.Option(help="Random seed-set size.")] = 150,
    batch: Annotated[int, typer.Option(help="Labels per query round.")] = 100,
    budget: Annotated[
        int, typer.Option(help="Labels (spans: sentences) per run, seed set included.")
    ] = 5000,
    seeds: Annotated[
        str, typer.Option(help="A count N (seeds 0 .. N-1) or a comma-separated list: 0,1,2.")
    ] = "3",
    target: Annotated[float, typer.Option(help="Target as a fraction of full-data score.")] = 0.99,
    continue_to_target: Annotated[
        bool,
        typer.Option(
            help="Run each strategy to the target: stop where it first reaches it, before "
            "the budget or past it."
        ),
    ] = False,
    c: Annotated[
        float, typer.Option("--C", help="Inverse regularisation of the logistic regression.")
    ] = 10.0,
    test_size: Annotated[float, typer.Option(help="Test share when --test is not given.")] = 0.2,
    text_field: Annotated[str, typer.Option(help="Text column / key.")] = "text",
    label_field: Annotated[str, typer.Option(help="Label column / key.")] = "label",
    jobs: Annotated[int, typer.Option(help="Runs in parallel processes.")] = 1,
    stop_kappa: Annotated[
        float, typer.Option(help="Stabilizing predictions: mean Cohen's kappa to reach.")
    ] = 0.99,
    stop_window: Annotated[int, typer.Option(help="Stabilizing predictions: rounds averaged.")] = 3,
    stop_change: Annotated[
        float, typer.Option(help="Classification change: largest share of changed predictions.")
    ] = 0.005,
    stop_uncertainty: Annotated[
        float, typer.Option(help="Overall uncertainty: mean least confidence to fall below.")
    ] = 0.1,
    val: Annotated[
        Path | None,
        typer.Option(help="Held-out validation set for the target-metric stopping criterion."),
    ] = None,
    stop_target: Annotated[
        float, typer.Option(help="Target metric criterion: accuracy on --val to reach.")
    ] = 0.85,
    cold_start: Annotated[
        str | None,
        typer.Option(
            help="Seed set of every strategy but random: 'random', 'representative' "
            "(k-means) or 'zero-shot' (label names; needs sentence features) [default: "
            "random]. Random sampling always starts from a random seed set."
        ),
    ] = None,
    start_random_share: Annotated[
        float,
        typer.Option(
            help="With --cold-start representative or zero-shot: this share of each seed's "
            "seed set is drawn at random, so seeds differ even when the start and the "
            "strategy are deterministic."
        ),
    ] = 0.1,
    self_training: Annotated[
        bool, typer.Option(help="Also train on confident pseudo-labels from the pool.")
    ] = False,
    class_balanced: Annotated[
        bool,
        typer.Option(
            help="Spread each batch over the predicted classes (ClassBalanced around every "
            "strategy but random)."
        ),
    ] = False,
    learner: Annotated[
        str,
        typer.Option(
            help="The model every strategy but random trains and ranks with: 'logistic' "
            "(the recipe's logistic regression) or 'mixed-committee' (it beside naive Bayes "
            "on the TF-IDF block and 5-NN on the MiniLM block; needs --features "
            "minilm+tfidf). Committee strategies read its members; random stays logistic."
        ),
    ] = "logistic",
    dedup: Annotated[
        float,
        typer.Option(help="Cosine threshold for near-duplicate suppression in batches; 0 = off."),
    ] = 0.0,
    entity_diverse: Annotated[
        bool,
        typer.Option(help="Spans: skip sentences whose predicted entities a batch already has."),
    ] = False,
    crf_iterations: Annotated[
        int, typer.Option(help="Spans: L-BFGS iterations of each CRF fit.")
    ] = 100,
    word_clusters: Annotated[
        bool,
        typer.Option(
            help="Spans: CRF features from word clusters learned on the pool (where words "
            "occur; with --features minilm also what they mean)."
        ),
    ] = True,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("simulation-output"),
    cache_dir: Annotated[
        Path, typer.Option(envvar="LABELWISE_CACHE_DIR", help="Embedding cache folder.")
    ] = DEFAULT_CACHE,
) -> None:
    """Simulate active learning with a ground-truth oracle; write curves, plot and summary.

    The output folder also holds run.json: every option, each data file's SHA-256, the
    learner and each strategy with its wrappers, and the package version.

    Options that only one --task reads (the stopping criteria and --label-field for
    classification; --entity-diverse, --crf-iterations and --no-word-clusters for spans)
    are refused by the other when set.
    """
    options = dict(locals())  # every option, by name, exactly as parsed
    from labelwise.cli import _simulate

    _simulate.run(**options)
