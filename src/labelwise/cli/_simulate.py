"""The work behind ``labelwise simulate``, apart from its options so that ``--help`` and every
other command start without importing scikit-learn and the strategies."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labelwise import __version__
from labelwise.cli.console import make_console, make_error_console
from labelwise.cli.progress import StepProgress
from labelwise.cli.simulate import DEFAULT_FEATURES, DEFAULT_STRATEGIES, TASKS, simulate
from labelwise.data import LabelSchema, Pool, TextDataset, read_dataset
from labelwise.exceptions import LabelwiseError
from labelwise.features import EmbeddingCache, SentenceEmbedder, TfidfFeaturizer
from labelwise.learners import Committee, SelfTrainingClassifier
from labelwise.recipes.classification import (
    COLD_STARTS,
    DEFAULT_COLD_START,
    FEATURES,
    LEARNERS,
    classification_committee,
    classification_featurizer,
    classification_learner,
    classification_strategy,
    cold_start,
    features_of,
    pool_features,
)
from labelwise.simulation import (
    Arm,
    CurvePoint,
    SequenceSimulationResult,
    SimulationConfig,
    SimulationResult,
    run_simulation,
    write_report,
)
from labelwise.simulation.runner import RANDOM
from labelwise.stopping import (
    ClassificationChange,
    LabelBudget,
    OverallUncertainty,
    StabilizingPredictions,
    StoppingCriterion,
    TargetMetric,
)
from labelwise.strategies import (
    SEQUENCE_STRATEGIES,
    STRATEGIES,
    DeduplicatedBatch,
    strategy_title,
)

#: Options only one task reads, by task: setting one for the other task is refused.
TASK_OPTIONS = {
    "classification": (
        "label_field",
        "c",
        "continue_to_target",
        "stop_kappa",
        "stop_window",
        "stop_change",
        "stop_uncertainty",
        "val",
        "stop_target",
        "cold_start",
        "start_random_share",
        "self_training",
        "class_balanced",
        "learner",
    ),
    "spans": ("entity_diverse", "crf_iterations", "word_clusters"),
}
_FLAGS = {
    "c": "--C",
    "word_clusters": "--no-word-clusters",
    "class_balanced": "--class-balanced",
}


def run(
    *,
    data: Path,
    test: Path | None,
    task: str,
    strategy: str | None,
    features: str,
    init: int,
    batch: int,
    budget: int,
    seeds: str,
    target: float,
    continue_to_target: bool,
    c: float,
    test_size: float,
    text_field: str,
    label_field: str,
    jobs: int,
    stop_kappa: float,
    stop_window: int,
    stop_change: float,
    stop_uncertainty: float,
    val: Path | None,
    stop_target: float,
    cold_start: str,
    start_random_share: float,
    self_training: bool,
    class_balanced: bool,
    learner: str,
    dedup: float,
    entity_diverse: bool,
    crf_iterations: int,
    word_clusters: bool,
    out: Path,
    cache_dir: Path,
) -> None:
    """The work behind ``labelwise simulate`` (see :func:`labelwise.cli.simulate.simulate`)."""
    options = dict(locals())  # every option as given, recorded in run.json
    with input_errors():
        check_task_options(task, options)
    features = options["features"] = features or DEFAULT_FEATURES.get(task, "tfidf")
    if task == "spans":
        from labelwise.cli._simulate_spans import run_spans

        run_spans(
            data=data,
            test=test,
            strategy=strategy or DEFAULT_STRATEGIES[task],
            features=features,
            init=init,
            batch=batch,
            budget=budget,
            seeds=seeds,
            target=target,
            test_size=test_size,
            text_field=text_field,
            jobs=jobs,
            dedup=dedup,
            entity_diverse=entity_diverse,
            crf_iterations=crf_iterations,
            word_clusters=word_clusters,
            out=out,
            cache_dir=cache_dir,
            options=options,
        )
        return
    console = make_console()
    with input_errors():
        names = strategy_names(strategy or DEFAULT_STRATEGIES[task], task)
        pool_data = read_dataset(
            data, text_field=text_field, label_field=label_field, require_labels=True
        )
        test_data = (
            None
            if test is None
            else read_dataset(
                test, text_field=text_field, label_field=label_field, require_labels=True
            )
        )
        if test_data is None:
            pool_data, test_data = _split(pool_data, test_size)
        check_run_options(
            init=init, batch=batch, budget=budget, target=target, jobs=jobs, n_pool=len(pool_data)
        )
        seed_values = seed_list(seeds)
        if not 0 <= start_random_share <= 1:
            raise ValueError(f"--start-random-share must be in [0, 1]. Got {start_random_share}.")
        cold_start = options["cold_start"] = resolve_cold_start(cold_start, features)
        if cold_start not in COLD_STARTS:
            raise ValueError(
                f"Unknown --cold-start {cold_start!r}; choose from {', '.join(COLD_STARTS)}."
            )
        if cold_start == "zero-shot" and features == "tfidf":
            raise ValueError(
                "--cold-start zero-shot needs sentence features (--features minilm or "
                "minilm+tfidf)."
            )
        if learner not in LEARNERS:
            raise ValueError(f"Unknown --learner {learner!r}; choose from {', '.join(LEARNERS)}.")
        if learner == "mixed-committee" and features != "minilm+tfidf":
            raise ValueError(
                "--learner mixed-committee reads both blocks of --features minilm+tfidf; "
                f"got --features {features}."
            )
        schema = LabelSchema(sorted(set(pool_data.classes()) | set(test_data.classes())))
        pool_X, test_X, embedder = featurize(
            features, pool_data.texts, test_data.texts, cache_dir, console
        )
        config = SimulationConfig(
            init_size=init,
            batch_size=batch,
            budget=min(budget, len(pool_data)),
            seeds=seed_values,
            target_fraction=target,
            continue_to_target=continue_to_target,
            n_jobs=jobs,
            start_random_share=start_random_share,
        )
        console.print(
            f"pool {len(pool_data):,} items, test {len(test_data):,}, {schema.n_classes} classes, "
            f"features {features} {tuple(pool_X.shape)}"
        )
        stopping: list[StoppingCriterion] = [
            LabelBudget(config.budget),
            StabilizingPredictions(threshold=stop_kappa, window=stop_window),
            ClassificationChange(threshold=stop_change),
            OverallUncertainty(threshold=stop_uncertainty),
        ]
        if val is not None:
            val_data = read_dataset(
                val, text_field=text_field, label_field=label_field, require_labels=True
            )
            _, val_X, _ = featurize(features, pool_data.texts, val_data.texts, cache_dir, console)
            stopping.append(TargetMetric(val_X, val_data.labels, stop_target))
        logistic = classification_learner(schema.classes, c=c)
        # A model folder's width is its embedding's; beside TF-IDF, MiniLM comes first.
        width = None if embedder is None else int(embedder.transform(schema.classes[:1]).shape[1])
        chooser = None
        if learner == "mixed-committee" and width is not None:  # minilm+tfidf: checked above
            chooser = classification_committee(schema.classes, features=features, width=width, c=c)
        arms = build_arms(
            names,
            logistic,
            chooser=chooser,
            cold_start=_cold_start(cold_start, features, schema, embedder, width),
            self_training=self_training,
            dedup=dedup,
            class_balanced=class_balanced,
        )
        result = _run(
            console,
            Pool(pool_X, pool_data.texts),
            pool_data,
            test_X,
            test_data,
            schema,
            logistic,
            arms,
            config,
            stopping,
        )
    record = run_record(
        options,
        learner=logistic,
        arms={
            name: {"strategy": arm.strategy, "learner": arm.learner, "cold_start": arm.cold_start}
            for name, arm in arms.items()
        },
    )
    print_report(
        console,
        result,
        out,
        summary_table(result, cold_start=cold_start),
        stopping_table(result),
        run=record,
    )


@contextmanager
def input_errors() -> Iterator[None]:
    """Bad input (a file row, an option value) ends the command with its message, exit 2."""
    try:
        yield
    except (LabelwiseError, ValueError, FileNotFoundError) as exc:
        err = make_error_console()
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(code=2) from None


def print_report(
    console: Console,
    result: SimulationResult | SequenceSimulationResult,
    out: Path,
    *tables: Table,
    run: Mapping[str, Any] | None = None,
) -> None:
    """Write the report files (:func:`~labelwise.simulation.write_report`; ``run`` as
    ``run.json``), print the tables and where the files are."""
    paths = write_report(result, out, run=run)
    for table in tables:
        console.print(table)
    for kind, path in paths.items():
        console.print(f"{kind}: {path}")


def run_record(
    options: Mapping[str, Any], *, learner: Any, arms: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """How a simulation was made, for ``run.json``: every option as given, each data file
    with its size and SHA-256, the learner and each arm (strategy with its wrappers,
    learner, cold start) and the package version, so two output folders can be compared."""
    files = {
        role: file_fingerprint(Path(options[role]))
        for role in ("data", "test", "val")
        if options.get(role) is not None
    }
    return {
        "package": "labelwise",
        "version": __version__,
        "command": "simulate",
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.items()},
        "files": files,
        "learner": describe(learner),
        "arms": {
            name: {part: describe(value) for part, value in arm.items()}
            for name, arm in arms.items()
        },
    }


def file_fingerprint(path: Path) -> dict[str, Any]:
    """A file's absolute path, size in bytes and SHA-256 (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return {"path": str(path.resolve()), "bytes": size, "sha256": digest.hexdigest()}


#: Containers longer than this are summarised in ``run.json`` (a CRF's word clusters or a
#: schema's 151 class names say nothing there that the data hash does not).
_MAX_LISTED = 20


def describe(value: Any) -> Any:
    """A JSON-ready description of an estimator, strategy or option value: estimators as
    their class and parameters (recursively), long containers by their length."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "get_params"):
        params = value.get_params(deep=False)
        return {
            "class": type(value).__name__,
            "params": {k: describe(v) for k, v in params.items()},
        }
    if isinstance(value, Mapping):
        if len(value) > _MAX_LISTED:
            return f"<{type(value).__name__} of {len(value):,} entries>"
        return {str(k): describe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if len(value) > _MAX_LISTED:
            return f"<{type(value).__name__} of {len(value):,} entries>"
        return [describe(v) for v in value]
    # Strategies and wrappers print their parameters (``DeduplicatedBatch(...)``).
    return " ".join(repr(value).split())


def check_task_options(task: str, options: dict[str, Any]) -> None:
    """Refuse an unknown ``--task`` and any option of the other task set off its default."""
    if task not in TASKS:
        raise ValueError(f"Unknown --task {task!r}; choose from {', '.join(TASKS)}.")
    defaults = inspect.signature(simulate).parameters
    for other, names in TASK_OPTIONS.items():
        if other == task:
            continue
        changed = [n for n in names if options[n] != defaults[n].default]
        if changed:
            flags = ", ".join(_FLAGS.get(n, "--" + n.replace("_", "-")) for n in changed)
            raise ValueError(f"{flags}: only for --task {other}, not --task {task}.")


def strategy_names(spec: str, task: str) -> list[str]:
    """The strategy names of ``spec`` (comma-separated), checked against ``task``'s
    registry; a name of the other task's registry is named as such."""
    registries = {"classification": list(STRATEGIES), "spans": [RANDOM, *SEQUENCE_STRATEGIES]}
    valid = registries[task]
    names = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [s for s in names if s not in valid]
    if unknown or not names:
        other = next(t for t in registries if t != task)
        foreign = [s for s in unknown if s in registries[other]]
        if foreign:
            kind = "strategy" if len(foreign) == 1 else "strategies"
            lead = f"{', '.join(foreign)}: --task {other} {kind}, not --task {task}"
        else:
            lead = f"Unknown strategy {unknown or spec!r}"
        raise ValueError(f"{lead}; --task {task} takes: {', '.join(valid)}.")
    return list(dict.fromkeys(names))


def check_run_options(
    *,
    init: int,
    batch: int,
    budget: int,
    target: float,
    jobs: int,
    n_pool: int,
    unit: str = "items",
) -> None:
    """``--init``, ``--batch``, ``--budget``, ``--target`` and ``--jobs``, checked in the
    CLI's words before any featurizer loads (the library's own checks, which still run,
    name its parameters, not the flags, and came after minutes of embedding)."""
    for flag, value in (
        ("--init", init),
        ("--batch", batch),
        ("--budget", budget),
        ("--jobs", jobs),
    ):
        if value < 1:
            raise ValueError(f"{flag} must be at least 1. Got {value}.")
    if init > min(budget, n_pool):
        raise ValueError(
            f"--init ({init}) must not exceed --budget ({budget}) or the pool ({n_pool:,} {unit})."
        )
    if not 0 < target <= 1:
        raise ValueError(
            f"--target must be in (0, 1], a fraction of the full-data score. Got {target}."
        )


def seed_list(spec: str) -> tuple[int, ...]:
    """``--seeds``: a count ``"3"`` (seeds 0, 1, 2) or a list ``"0,4,7"``."""
    parts = [p.strip() for p in str(spec).split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if not values or any(v < 0 for v in values) or ("," not in str(spec) and values[0] == 0):
        raise ValueError(
            f"--seeds must be a positive count (3) or a list of seeds (0,1,2). Got {spec!r}."
        )
    if "," in str(spec):
        return tuple(dict.fromkeys(values))
    return tuple(range(values[0]))


def split_order(n: int, test_size: float) -> tuple[np.ndarray, np.ndarray]:
    """(pool, test) positions of ``n`` rows: a fixed random ``test_size`` share is test."""
    if not 0 < test_size < 1:
        raise ValueError(f"--test-size must be in (0, 1). Got {test_size}.")
    order = np.random.default_rng(12345).permutation(n)
    cut = int(round(n * (1 - test_size)))
    return order[:cut], order[cut:]


def _split(dataset: TextDataset, test_size: float) -> tuple[TextDataset, TextDataset]:

    def subset(idx: np.ndarray) -> TextDataset:
        return TextDataset(
            texts=[dataset.texts[i] for i in idx],
            labels=[dataset.labels[i] for i in idx],
            metadata=[dataset.metadata[i] for i in idx],
            source=dataset.source,
        )

    pool, test = split_order(len(dataset), test_size)
    return subset(pool), subset(test)


def featurize(
    kind: str, pool_texts: list[str], test_texts: list[str], cache_dir: Path, console: Console
) -> tuple[Any, Any, Any]:
    """``(pool rows, test rows, sentence embedder or None)`` for ``--features kind``; TF-IDF
    (alone or beside MiniLM) is fit on the pool."""
    if kind == "tfidf":
        featurizer = TfidfFeaturizer().fit(pool_texts)
        return featurizer.transform(pool_texts), featurizer.transform(test_texts), None
    with StepProgress(console, "embedding", len(pool_texts) + len(test_texts)) as bar:
        offset = 0

        def progress(done: int, _total: int) -> None:
            bar.update(completed=offset + done, description="texts")

        embedder = SentenceEmbedder(
            "minilm" if kind == "minilm+tfidf" else kind,
            cache=EmbeddingCache(cache_dir),
            progress=progress,
        )
        pool_X = embedder.transform(pool_texts)
        offset = len(pool_texts)
        test_X = embedder.transform(test_texts)
    if kind == "minilm+tfidf":
        featurizer = classification_featurizer(kind, embedder=embedder)
        pool_X, test_X = (
            pool_features(featurizer, pool_texts, embeddings=pool_X),
            features_of(featurizer, test_texts, embeddings=test_X),
        )
    return pool_X, test_X, embedder


def build_arms(
    names: list[str],
    learner: Any,
    *,
    cold_start: Any,
    self_training: bool,
    dedup: float,
    class_balanced: bool = False,
    chooser: Any = None,
) -> dict[str, Arm]:
    """One arm per strategy name: every non-random arm trains ``chooser`` (default
    ``learner``); committee strategies read its members, or a bagged committee of
    ``learner`` when it has none; ``--self-training`` wraps every such learner;
    ``--class-balanced`` and then ``--dedup`` wrap every non-random strategy
    (``DeduplicatedBatch(ClassBalanced(margin))``).

    Random sampling is the baseline a team would have without labelwise: a random seed
    set, plain learner, no wrappers, whatever the options say."""
    if not 0.0 <= dedup < 1.0:
        raise ValueError(f"--dedup must be in [0, 1). Got {dedup}.")
    chooser = learner if chooser is None else chooser
    base = SelfTrainingClassifier(chooser) if self_training else chooser
    arms = {}
    for name in names:
        if name == RANDOM:
            arms[name] = Arm(STRATEGIES[name](), learner=learner)
            continue
        strategy = classification_strategy(name, class_balanced=class_balanced)
        if dedup:
            strategy = DeduplicatedBatch(strategy, threshold=dedup)
        arm_learner = base
        if strategy.learner_capability == "member_proba":  # answered through wrappers
            # A committee of different learners has members of its own.
            arm_learner = (
                chooser
                if hasattr(chooser, "member_proba")
                else Committee(learner, n_members=5, random_state=0)
            )
        arms[name] = Arm(strategy, learner=arm_learner, cold_start=cold_start)
    return arms


def resolve_cold_start(kind: str | None, features: str) -> str:
    """``--cold-start`` as given, or the recipe's where the features allow it (a zero-shot
    start needs sentence embeddings to compare label names with), else random."""
    if kind is not None:
        return kind
    # Any other features (minilm, minilm+tfidf, a model folder) carry sentence embeddings.
    if DEFAULT_COLD_START == "zero-shot" and features == "tfidf":
        return "random"
    return DEFAULT_COLD_START


def _cold_start(
    kind: str, features: str, schema: LabelSchema, embedder: Any, width: int | None
) -> Any:
    return cold_start(
        kind,
        features="minilm" if features not in FEATURES else features,
        classes=schema.classes,
        embedder=embedder,
        width=width,
    )


def _run(
    console: Console,
    pool: Pool,
    pool_data: TextDataset,
    test_X: Any,
    test_data: TextDataset,
    schema: LabelSchema,
    learner: Any,
    strategies: dict[str, Arm],
    config: SimulationConfig,
    stopping: list[StoppingCriterion],
) -> SimulationResult:
    points_per_run = (
        config.budget - config.init_size + config.batch_size - 1
    ) // config.batch_size + 1
    total = points_per_run * len(strategies) * len(config.seeds)
    result_metric = "micro F1" if schema.multilabel else "accuracy"
    with StepProgress(console, "simulating", total) as bar:

        def on_step(point: CurvePoint) -> None:
            bar.update(
                advance=1,
                description=f"{point.strategy} seed {point.seed}: {point.n_labels:,} labels, "
                f"{result_metric} {point.score:.3f}",
            )

        return run_simulation(
            pool,
            pool_data.labels,
            test_X,
            test_data.labels,
            schema=schema,
            learner=learner,
            strategies=strategies,
            config=config,
            stopping=stopping,
            on_step=on_step,
        )


def summary_table(result: SimulationResult, *, cold_start: str = "random") -> Table:
    """The summary as a rich table: one row per strategy; its caption says what makes one
    seed's runs differ from another's."""
    cfg = result.config
    if cold_start == "random":
        seeds_differ = "each seed draws its own random seed set"
    elif cfg.start_random_share > 0:
        seeds_differ = (
            f"random sampling draws its own random seed set; the others' seed set: "
            f"{cfg.start_random_share:.0%} drawn at random under the seed, the rest by the "
            f"{cold_start} cold start"
        )
    else:
        seeds_differ = (
            f"random sampling draws its own random seed set; the others start from the "
            f"{cold_start} cold start with no random share, so their seeds differ only "
            "through the strategies' own randomness"
        )
    table = Table(
        caption=f"Seeds: {seeds_differ}.",
        title=(
            f"Full-data {result.metric} {result.full_data_score:.4f}; target "
            f"{cfg.target_fraction:.0%} = {result.target_score:.4f}; "
            f"{len(cfg.seeds)} seeds, init {cfg.init_size}, batch {cfg.batch_size}, budget {cfg.budget}"
        ),
    )
    table.add_column("strategy")
    table.add_column(f"final {result.metric}", justify="right", min_width=15)
    table.add_column("AULC", justify="right")
    table.add_column("labels to target", justify="right")
    table.add_column("per seed", justify="right")
    table.add_column("random ÷", justify="right")
    table.add_column("query s", justify="right")
    for row in result.summary():
        mean, per_seed = row.labels_to_target_text()
        table.add_row(
            strategy_title(row.strategy),
            f"{row.final_score_mean:.4f} ± {row.final_score_sd:.4f}",
            f"{row.aulc_mean:.4f}",
            mean,
            per_seed,
            row.ratio_text(),
            f"{row.median_query_seconds:.3f}",
        )
    return table


def stopping_table(result: SimulationResult) -> Table:
    """Where each stopping criterion would have stopped each strategy, and the score there."""
    table = Table(
        title=f"Stopping criteria (full-data {result.metric} {result.full_data_score:.4f})"
    )
    table.add_column("strategy")
    table.add_column("criterion")
    table.add_column("fired", justify="right")
    table.add_column("labels at stop", justify="right")
    table.add_column(f"{result.metric} there", justify="right")
    for row in result.stopping_summary():
        table.add_row(
            strategy_title(row.strategy),
            row.criterion,
            f"{row.runs_fired}/{row.runs}",
            "—" if row.n_labels_mean is None else f"{row.n_labels_mean:,.0f}",
            "—" if row.score_mean is None else f"{row.score_mean:.4f}",
        )
    return table
