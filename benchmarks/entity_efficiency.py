"""Entity extraction active learning: sentences and tokens to 99% of full-data span F1.

CRF tagger (python-crfsuite, labelwise's ``CRFTagger``), strict span micro F1 on the
test split, 100 random seed sentences shared by every strategy under one seed, batches of
100, 3 seeds. Random is one random order scored on a checkpoint grid (every batch to the
budget, then every 500 sentences until it reaches the target), so what random needs is
measured, not censored.

Sections (``--only`` runs one; results of the others already in the JSON are kept):

- ``snips``: SNIPS slots, train pool (13,784) -> test (700). Target (issue 11): 99% of
  full-data span F1 with at most 15% of the pool's sentences and at most 30% of the
  tokens random needs (means of the seeds).
- ``preannotation``: after 300 sentences labeled by hand (MNLP), correct the model's
  suggestions on the next 1,000 sentences MNLP queries: total edits / edits from scratch
  (target <= 40%).
- ``wnut``: WNUT17 train -> test, to 95% of full-data F1.
- ``speed``: one MNLP top-100 query over 100,000 sentences (SNIPS train repeated).

    python benchmarks/entity_efficiency.py                      # everything, 3 seeds
    python benchmarks/entity_efficiency.py --seeds 1 --budget 1000 --only snips

Writes ``benchmarks/results/entity_efficiency.json`` and ``entity_efficiency.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data import Pool
from labelwise.features import SentenceEmbedder, WordClusters
from labelwise.learners import CRFTagger
from labelwise.simulation import (
    SequenceSimulationConfig,
    run_preannotation,
    run_sequence_simulation,
    seed_set,
    tagged_sentences,
)
from labelwise.strategies import (
    MNLP,
    EntityDiverseBatch,
    QueryStrategy,
    RandomSampling,
    SequenceLeastConfidence,
    TokenEntropy,
    WorstTokenMargin,
)

HERE = Path(__file__).resolve().parent
SECTIONS = ("speed", "preannotation", "preannotation_random", "snips", "wnut")

STRATEGY_FACTORIES: dict[str, Callable[[], QueryStrategy]] = {
    "mnlp": MNLP,
    "sequence_lc": SequenceLeastConfidence,
    "token_entropy": lambda: TokenEntropy(reduce="sum"),
    "token_margin": WorstTokenMargin,
    "mnlp_diverse": lambda: EntityDiverseBatch(MNLP()),
}


CLUSTER_CHOICES = ("none", "context", "context+minilm")


def learner(args: argparse.Namespace, pool: list[Any]) -> CRFTagger:
    """The CRF every run uses; with ``--word-clusters``, word clusters learned on the whole
    (unlabeled) pool, as a deployed project would learn them from its items."""
    if args.word_clusters == "none":
        return CRFTagger(max_iterations=args.max_iterations)
    started = time.perf_counter()
    word_vectors = SentenceEmbedder().transform if args.word_clusters == "context+minilm" else None
    clusters = WordClusters(word_vectors=word_vectors, random_state=0).fit(pool)
    print(
        f"word clusters ({args.word_clusters}): {len(clusters.clusters_):,} words, "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return CRFTagger(max_iterations=args.max_iterations, word_clusters=clusters.clusters_)


def learner_description(args: argparse.Namespace) -> str:
    if args.word_clusters == "none":
        return f"CRFTagger(max_iterations={args.max_iterations})"
    vectors = "SentenceEmbedder().transform" if args.word_clusters == "context+minilm" else "None"
    return (
        f"CRFTagger(max_iterations={args.max_iterations}, word_clusters="
        f"WordClusters(word_vectors={vectors}).fit(pool).clusters_)"
    )


def load(path: Path) -> tuple[list[Any], list[list[str]]]:
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return tagged_sentences(rows, file=path)


def simulate(
    name: str, data_dir: Path, args: argparse.Namespace, *, budget: int, target: float
) -> dict[str, Any]:
    pool, pool_tags = load(data_dir / "train.jsonl")
    test, test_tags = load(data_dir / "test.jsonl")
    strategies: dict[str, QueryStrategy] = {
        s: STRATEGY_FACTORIES[s]() for s in args.strategies.split(",") if s != "random"
    }
    config = SequenceSimulationConfig(
        init_size=args.init,
        batch_size=args.batch,
        budget=min(budget, len(pool)),
        seeds=tuple(range(args.seeds)),
        target_fraction=target,
        random_step=args.random_step,
        n_jobs=args.jobs,
    )
    started = time.perf_counter()
    result = run_sequence_simulation(
        pool,
        pool_tags,
        test,
        test_tags,
        strategies=strategies,
        learner=learner(args, pool),
        config=config,
        verbose=10,
    )
    out = result.to_dict()
    out["dataset"] = name
    out["learner"] = learner_description(args)
    out["wall_seconds"] = time.perf_counter() - started
    out["strategy_reprs"] = {k: repr(v) for k, v in strategies.items()}
    print(f"{name}: {out['wall_seconds']:.0f} s", flush=True)
    del result
    return out


def issue_target(row: dict[str, Any]) -> tuple[bool, str]:
    """SNIPS target: <= 15% of the pool's sentences and <= 30% of random's tokens."""
    frac, vs = row["sentence_fraction_of_pool"], row["tokens_vs_random"]
    if frac is None:
        return False, "not reached"
    met = frac <= 0.15 and vs is not None and vs <= 0.30
    return met, f"{frac:.1%} of sentences, {_pct(vs)} of random's tokens"


def preannotation(
    data_dir: Path, args: argparse.Namespace, strategy: QueryStrategy
) -> dict[str, Any]:
    pool, pool_tags = load(data_dir / "train.jsonl")
    started = time.perf_counter()
    result = run_preannotation(
        pool,
        pool_tags,
        strategy=strategy,
        learner=learner(args, pool),
        init_size=args.init,
        n_labeled=args.pre_labeled,
        n_corrected=args.pre_corrected,
        batch_size=args.batch,
        seed=0,
    )
    out = {
        **result.to_dict(),
        "seed": 0,
        "order": type(strategy).__name__,
        "learner": learner_description(args),
        "wall_seconds": time.perf_counter() - started,
    }
    print(f"preannotation ({out['order']}): {out['wall_seconds']:.0f} s", flush=True)
    return out


def speed(data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    pool, pool_tags = load(data_dir / "train.jsonl")
    tokens = [s.tokens for s in pool]
    n = args.speed_pool
    big = [tokens[i % len(tokens)] for i in range(n)]
    seeds = seed_set(len(tokens), 300, 0)
    model = learner(args, pool).fit([tokens[i] for i in seeds], [pool_tags[i] for i in seeds])
    big_pool = Pool(np.zeros((n, 0)), sequences=big)
    labeled = np.zeros(0, dtype=np.intp)
    unlabeled = np.arange(n)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started = time.perf_counter(), time.process_time()
    query = MNLP().query(model, big_pool, labeled, unlabeled, 100, random_state=0)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # A second, traced pass for the query's own peak allocation (tracing slows it down).
    tracemalloc.start()
    again = MNLP().query(model, big_pool, labeled, unlabeled, 100, random_state=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.array_equal(query.indices, again.indices)
    out = {
        "pool_sentences": n,
        "pool_tokens": int(sum(len(t) for t in big)),
        "model_trained_on": 300,
        "learner": learner_description(args),
        "wall_seconds": wall,
        # On a machine shared with others, CPU seconds say what the query itself costs.
        "cpu_seconds": cpu,
        "sentences_per_second": n / wall,
        "tracemalloc_peak_mib": peak / 2**20,
        "process_peak_rss_mib_before": rss_before / 1024,
        "process_peak_rss_mib_after": rss_after / 1024,
    }
    print(f"speed: {wall:.1f} s, peak {peak / 2**20:.0f} MiB traced", flush=True)
    return out


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "not reached" if value is None else f"{value:,.0f}"


def _per_seed(values: list[int | None]) -> str:
    return ", ".join("—" if v is None else f"{v:,}" for v in values)


def simulation_table(section: dict[str, Any], *, issue: bool) -> list[str]:
    cfg = section["config"]
    full = section["full_data_f1"]
    lines = [
        f"Pool {section['n_sentences']:,} sentences / {section['n_tokens']:,} tokens; "
        f"seed set {cfg['init_size']} random, batch {cfg['batch_size']}, budget "
        f"{cfg['budget']:,} sentences, seeds {list(cfg['seeds'])}. Full-data strict span F1 "
        f"{np.mean(full):.4f} (per seed {', '.join(f'{f:.4f}' for f in full)}); target "
        f"{cfg['target_fraction']:.0%} = {np.mean(section['target_f1']):.4f}. "
        f"Learner `{section.get('learner', '')}`. Wall time {section['wall_seconds'] / 60:.0f} min.",
        "",
        "| strategy | sentences to target (mean) | per seed | % of pool | tokens to target "
        "| % of pool tokens | sentences ÷ random | tokens ÷ random | F1 at budget | "
        "AULC | median query s |" + (" issue target |" if issue else ""),
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---|" if issue else ""),
    ]
    for row in section["summary"]:
        cells = [
            row["strategy"],
            _num(row["sentences_to_target_mean"]),
            _per_seed(row["sentences_to_target"]),
            _pct(row["sentence_fraction_of_pool"]),
            _num(row["tokens_to_target_mean"]),
            _pct(row["token_fraction_of_pool"]),
            _pct(row["sentences_vs_random"]),
            _pct(row["tokens_vs_random"]),
            f"{row['f1_at_budget_mean']:.4f} ± {row['f1_at_budget_sd']:.4f}",
            f"{row['aulc_mean']:.4f}",
            f"{row['median_query_seconds']:.2f}",
        ]
        if issue:
            cells.append(
                "—" if row["strategy"] == "random" else ("met" if issue_target(row)[0] else "no")
            )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def preannotation_table(p: dict[str, Any], order: str) -> list[str]:
    """The edits table of one pre-annotation run (``order``: which sentences come next)."""
    r, f = p["retrained"], p["fixed"]
    lines = [
        f"## Pre-annotation (SNIPS, next sentences by {order}, seed {p['seed']})",
        "",
        f"After {p['n_labeled']} sentences labeled by hand (chosen by {order}), the model's "
        f"suggestions on the next {p['n_corrected']:,} sentences ({order}) are corrected. "
        "Edits: add, delete, relabel, move one edge (a fix costing more than delete + add "
        "counts as delete + add); from scratch = one add per gold span. "
        f"Learner `{p.get('learner', '')}`.",
        "",
        "| suggestions from | adds | deletes | relabels | moves | total edits | "
        "from scratch | edits ÷ scratch | target ≤ 40% |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    frozen = f"model frozen at {p['n_labeled']}"
    for label, e in (("model refit after every batch", r), (frozen, f)):
        lines.append(
            f"| {label} | {e['adds']:,} | {e['deletes']:,} | {e['relabels']:,} | "
            f"{e['moves']:,} | {e['total']:,} | {e['from_scratch']:,} | "
            f"{_pct(e['ratio'])} | {'met' if (e['ratio'] or 1) <= 0.4 else 'no'} |"
        )
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Entity extraction: labels to target span F1",
        "",
        f"Command: `{results.get('command', '')}`",
        "",
        "CRF (each section names its learner), strict span micro F1 (CoNLL / seqeval "
        "strict). Random is one order per seed scored at checkpoints (every batch to the "
        "budget, then every 500 sentences) until it reaches the target. `÷ random` = "
        "this strategy's mean cost / random's (lower is better). "
        f"Machine: {results.get('machine', '')}.",
        "",
    ]
    if "snips" in results:
        section = results["snips"]
        lines += ["## SNIPS slots (train → test)", "", *simulation_table(section, issue=True)]
        met = [r["strategy"] for r in section["summary"] if issue_target(r)[0]]
        lines += [
            "",
            "Issue target (99% of full-data F1 with ≤ 15% of the pool's sentences and ≤ 30% "
            f"of the tokens random needs): **{'met by ' + ', '.join(met) if met else 'not met'}**.",
            "",
        ]
    for key, order in (("preannotation", "MNLP"), ("preannotation_random", "random order")):
        if key in results:
            lines += preannotation_table(results[key], order)
    if "wnut" in results:
        lines += [
            "## WNUT17 (train → test), target 95% of full-data F1",
            "",
            *simulation_table(results["wnut"], issue=False),
            "",
        ]
    if "speed" in results:
        s = results["speed"]
        lines += [
            "## Query time",
            "",
            f"MNLP top-100 over {s['pool_sentences']:,} sentences ({s['pool_tokens']:,} "
            f"tokens; SNIPS train repeated), `{s.get('learner', 'CRFTagger')}` fit on "
            f"{s['model_trained_on']} sentences: "
            f"**{s['wall_seconds']:.1f} s** wall ({s['sentences_per_second']:,.0f} sentences/s"
            + (f"; {s['cpu_seconds']:.1f} s CPU" if "cpu_seconds" in s else "")
            + "), "
            f"peak traced allocation {s['tracemalloc_peak_mib']:.0f} MiB (tracemalloc, a "
            f"second pass); process peak RSS {s['process_peak_rss_mib_before']:.0f} MiB before "
            f"the query, {s['process_peak_rss_mib_after']:.0f} MiB after.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(
            os.environ.get("LABELWISE_SHARED_DATA", HERE.parent.parent / "shared" / "data")
        ),
        help="holds snips/ and wnut17/ (default $LABELWISE_SHARED_DATA or ../shared/data)",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--init", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--budget", type=int, default=2100, help="SNIPS sentences per active run (15%% = 2,068)"
    )
    parser.add_argument("--wnut-budget", type=int, default=1500)
    parser.add_argument("--random-step", type=int, default=500)
    parser.add_argument(
        "--strategies",
        default="mnlp,sequence_lc,token_entropy,mnlp_diverse",
        help=f"comma-separated, from {sorted(STRATEGY_FACTORIES)}; random always runs",
    )
    parser.add_argument("--max-iterations", type=int, default=50, help="CRF L-BFGS iterations")
    parser.add_argument(
        "--word-clusters",
        choices=CLUSTER_CHOICES,
        default="context+minilm",
        help="CRF word-cluster features learned on the pool (labelwise.features.WordClusters)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="joblib processes")
    parser.add_argument("--only", choices=SECTIONS, action="append")
    parser.add_argument("--speed-pool", type=int, default=100_000)
    parser.add_argument("--pre-labeled", type=int, default=300)
    parser.add_argument("--pre-corrected", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    unknown = set(args.strategies.split(",")) - set(STRATEGY_FACTORIES) - {"random"}
    if unknown:
        parser.error(
            f"unknown strategies {sorted(unknown)}; choose from {sorted(STRATEGY_FACTORIES)}"
        )

    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / "entity_efficiency.json"
    results: dict[str, Any] = (
        json.loads(json_path.read_text(encoding="utf-8")) if json_path.exists() else {}
    )
    results.update(
        command="python benchmarks/entity_efficiency.py " + " ".join(sys.argv[1:]),
        learner=learner_description(args),
        machine=f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
    )
    sections = args.only or list(SECTIONS)
    command = results["command"]

    def save() -> None:
        # After every section, so a long run leaves what it has measured; each section
        # keeps the command that produced it (sections of older runs are kept).
        for name in sections:
            if name in results:
                results[name].setdefault("command", command)
        json_path.write_text(json.dumps(results, indent=2), encoding="utf-8")
        (args.out / "entity_efficiency.md").write_text(markdown(results), encoding="utf-8")

    # Quick sections first, so a long run shows results early.
    if "speed" in sections:
        results["speed"] = speed(args.data_dir / "snips", args)
        save()
    if "preannotation" in sections:
        results["preannotation"] = preannotation(args.data_dir / "snips", args, MNLP())
        save()
    if "preannotation_random" in sections:
        # The sentences a random-order queue (or the audit stream) would serve next.
        results["preannotation_random"] = preannotation(
            args.data_dir / "snips", args, RandomSampling()
        )
        save()
    if "snips" in sections:
        results["snips"] = simulate(
            "snips", args.data_dir / "snips", args, budget=args.budget, target=0.99
        )
        save()
    if "wnut" in sections:
        results["wnut"] = simulate(
            "wnut17", args.data_dir / "wnut17", args, budget=args.wnut_budget, target=0.95
        )
        save()
    print(markdown(results))


if __name__ == "__main__":
    main()
