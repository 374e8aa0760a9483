"""The work behind ``labelwise simulate --task spans``: entity extraction with a CRF tagger.

Reading, splitting, error reporting and the report files are shared with the
classification path in :mod:`labelwise.cli._simulate`; the simulation itself is
:func:`labelwise.simulation.run_sequence_simulation`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.table import Table

from labelwise.cli._simulate import (
    check_run_options,
    featurize,
    input_errors,
    print_report,
    run_record,
    seed_list,
    split_order,
    strategy_names,
)
from labelwise.cli.console import make_console
from labelwise.cli.progress import StepProgress
from labelwise.data.spans import TokenizedText
from labelwise.features import EmbeddingCache, SentenceEmbedder, WordClusters
from labelwise.learners.crf import CRFTagger
from labelwise.recipes.spans import span_learner
from labelwise.simulation import (
    SequencePoint,
    SequenceSimulationConfig,
    SequenceSimulationResult,
    read_tagged_sentences,
    run_sequence_simulation,
)
from labelwise.simulation.runner import RANDOM
from labelwise.strategies import (
    SEQUENCE_STRATEGIES,
    DeduplicatedBatch,
    EntityDiverseBatch,
    QueryStrategy,
    strategy_title,
)


def run_spans(
    *,
    data: Path,
    test: Path | None,
    strategy: str,
    features: str,
    init: int,
    batch: int,
    budget: int,
    seeds: str,
    target: float,
    test_size: float,
    text_field: str,
    jobs: int,
    dedup: float,
    entity_diverse: bool,
    crf_iterations: int,
    word_clusters: bool,
    out: Path,
    cache_dir: Path,
    options: Mapping[str, Any],
) -> None:
    """Read span rows, simulate each strategy against random, print and write the report;
    ``options`` (every option as given) go to ``run.json``."""
    console = make_console()
    with input_errors():
        names = strategy_names(strategy, "spans")
        pool, pool_tags = read_tagged_sentences(data, text_field=text_field)
        if test is None:
            keep, held = split_order(len(pool), test_size)
            test_sents, test_tags = [pool[i] for i in held], [pool_tags[i] for i in held]
            pool, pool_tags = [pool[i] for i in keep], [pool_tags[i] for i in keep]
        else:
            test_sents, test_tags = read_tagged_sentences(test, text_field=text_field)
        check_run_options(
            init=init,
            batch=batch,
            budget=budget,
            target=target,
            jobs=jobs,
            n_pool=len(pool),
            unit="sentences",
        )
        config = SequenceSimulationConfig(
            init_size=init,
            batch_size=batch,
            budget=min(budget, len(pool)),
            seeds=seed_list(seeds),
            target_fraction=target,
            n_jobs=jobs,
        )
        config.validate(len(pool))  # before any CRF is fit or featurizer loaded
        tagger = CRFTagger(
            max_iterations=crf_iterations,
            word_clusters=_word_clusters(features, pool, cache_dir) if word_clusters else None,
        )
        strategies, learners = build_sequence_arms(
            names, tagger, dedup=dedup, entity_diverse=entity_diverse
        )
        # Sentence vectors only matter to --dedup; the CRF reads the tokens.
        vectors = _sentence_vectors(features, pool, cache_dir, console) if dedup else None
        types = {t[2:] for tags in (*pool_tags, *test_tags) for t in tags if t != "O"}
        if tagger.word_clusters is not None:
            console.print(
                f"CRF features include word clusters of the pool's "
                f"{len(tagger.word_clusters):,} words"
            )
        console.print(
            f"pool {len(pool):,} sentences ({sum(len(s) for s in pool):,} tokens), "
            f"test {len(test_sents):,}, {len(types)} entity types; CRF, strict span F1"
        )
        runs = (len(strategies) + 1) * len(config.seeds)  # random always runs
        with StepProgress(console, "simulating", runs) as bar:
            # The first run ends after the full-data CRF is fit (once per seed if seeded).
            bar.update(description="fitting the full-data CRF, then one CRF per round")

            def on_run(points: list[SequencePoint]) -> None:
                last = points[-1]
                bar.update(
                    advance=1,
                    description=f"{last.strategy} seed {last.seed}: {last.n_sentences:,} "
                    f"sentences, span F1 {last.f1:.3f}",
                    milestone=True,
                )

            result = run_sequence_simulation(
                pool,
                pool_tags,
                test_sents,
                test_tags,
                strategies=strategies,
                learner=tagger,
                learners=learners,
                config=config,
                features=vectors,
                on_run=on_run,
            )
    record = run_record(
        options,
        learner=tagger,
        arms={
            name: {"strategy": strategy, "learner": learners.get(name, tagger)}
            for name, strategy in strategies.items()
        },
    )
    print_report(console, result, out, sequence_summary_table(result), run=record)


def build_sequence_arms(
    names: list[str], tagger: CRFTagger, *, dedup: float, entity_diverse: bool
) -> tuple[dict[str, QueryStrategy], dict[str, Any]]:
    """Strategies by name (random, which the simulation always runs, is left out) and the
    learners that differ from ``tagger`` (a bagged committee for committee strategies).

    ``--dedup`` wraps each in :class:`DeduplicatedBatch`, ``--entity-diverse`` in
    :class:`EntityDiverseBatch` (outermost).
    """
    if not 0.0 <= dedup < 1.0:
        raise ValueError(f"--dedup must be in [0, 1). Got {dedup}.")
    strategies: dict[str, QueryStrategy] = {}
    learners: dict[str, Any] = {}
    for name in names:
        if name == RANDOM:
            continue
        base = SEQUENCE_STRATEGIES[name]()
        learner = span_learner(base, tagger=tagger)
        if learner is not tagger:
            learners[name] = learner
        strategy: QueryStrategy = base
        if dedup:
            strategy = DeduplicatedBatch(strategy, threshold=dedup)
        if entity_diverse:
            strategy = EntityDiverseBatch(strategy)
        strategies[name] = strategy
    return strategies, learners


def _word_clusters(
    features: str, sentences: list[TokenizedText], cache_dir: Path
) -> dict[str, tuple[str, ...]]:
    """Word clusters of the pool (a server project's retrain learns them on its pool too)."""
    vectors = (
        None
        if features == "tfidf"
        else SentenceEmbedder(features, cache=EmbeddingCache(cache_dir)).transform
    )
    return WordClusters(word_vectors=vectors, random_state=0).fit(sentences).clusters_


def _sentence_vectors(
    features: str, sentences: list[TokenizedText], cache_dir: Path, console: Any
) -> Any:
    texts = [s.text for s in sentences]
    # featurize also embeds a held-out set (and TF-IDF refuses an empty one); the pool's
    # first sentence is the cheapest stand-in, its vectors thrown away.
    vectors, _, _ = featurize(features, texts, texts[:1], cache_dir, console)
    return vectors


def _count(mean: float | None, fraction: float | None) -> str:
    if mean is None:
        return "not reached"
    return f"{mean:,.0f} ({fraction or 0:.1%})"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def sequence_summary_table(result: SequenceSimulationResult) -> Table:
    """One row per strategy: F1 at the budget, AULC, sentences and tokens to the target
    (and their share of the pool), each divided by random's."""
    cfg = result.config
    full = sum(result.full_data_f1) / len(result.full_data_f1)
    table = Table(
        title=(
            f"Full-data span F1 {full:.4f}; target {cfg.target_fraction:.0%} = "
            f"{cfg.target_fraction * full:.4f}; pool {result.n_sentences:,} sentences / "
            f"{result.n_tokens:,} tokens; {len(cfg.seeds)} seeds, init {cfg.init_size}, "
            f"batch {cfg.batch_size}, budget {cfg.budget}"
        ),
        caption=(
            "to target: mean over seeds of the first checkpoint at the target (% of the pool); "
            "÷ random: that cost divided by random's (0.30 = 30% of random's)"
        ),
    )
    table.add_column("strategy")
    table.add_column("F1 at budget", justify="right", min_width=15)
    table.add_column("AULC", justify="right")
    table.add_column("sentences to target", justify="right")
    table.add_column("per seed", justify="right")
    table.add_column("tokens to target", justify="right")
    table.add_column("sentences ÷ random", justify="right")
    table.add_column("tokens ÷ random", justify="right")
    table.add_column("query s", justify="right")
    for row in result.summary():
        table.add_row(
            strategy_title(row.strategy),
            f"{row.f1_at_budget_mean:.4f} ± {row.f1_at_budget_sd:.4f}",
            f"{row.aulc_mean:.4f}",
            _count(row.sentences_to_target_mean, row.sentence_fraction_of_pool),
            ", ".join("—" if h is None else f"{h:,}" for h in row.sentences_to_target),
            _count(row.tokens_to_target_mean, row.token_fraction_of_pool),
            _ratio(row.sentences_vs_random),
            _ratio(row.tokens_vs_random),
            f"{row.median_query_seconds:.3f}",
        )
    return table
