"""Entity-extraction simulation: a short real CRF run on a SNIPS slice, the summary
arithmetic, and the known answers of the pre-annotation edit count."""

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelwise.data import Span
from labelwise.exceptions import InputError
from labelwise.learners import CRFTagger
from labelwise.simulation import (
    EditCounts,
    SequencePoint,
    SequenceSimulationConfig,
    SequenceSimulationResult,
    preannotation_edits,
    random_checkpoints,
    read_tagged_sentences,
    run_preannotation,
    run_sequence_simulation,
    sentence_edits,
    tagged_sentences,
    write_report,
)
from labelwise.strategies import MNLP, EntityDiverseBatch, TokenEntropy

# Where tests/conftest.py reads the shared data: ../shared/data beside the repo, or
# $LABELWISE_SHARED_DATA (a worktree elsewhere).
SNIPS = (
    Path(
        os.environ.get(
            "LABELWISE_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
        )
    )
    / "snips"
)


def _rows(split: str, n: int, step: int) -> list[dict[str, Any]]:
    with open(SNIPS / f"{split}.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    return rows[::step][:n]


@pytest.fixture(scope="module")
def snips_slice():
    if not SNIPS.is_dir():
        pytest.fail(f"SNIPS not found at {SNIPS}; the tests read ../shared/data beside the repo.")
    # Every 80th train row spans all 7 intents; every 23rd test row likewise.
    train = tagged_sentences(_rows("train", 160, 80))
    test = tagged_sentences(_rows("test", 30, 23))
    return train, test


CONFIG = SequenceSimulationConfig(
    init_size=40, batch_size=40, budget=120, seeds=(0,), random_step=50
)
LEARNER = CRFTagger(max_iterations=15)


def _run(snips_slice, **kwargs) -> SequenceSimulationResult:
    (pool, pool_tags), (test, test_tags) = snips_slice
    return run_sequence_simulation(
        pool,
        pool_tags,
        test,
        test_tags,
        strategies={"mnlp": MNLP(), "mnlp_diverse": EntityDiverseBatch(MNLP())},
        learner=LEARNER,
        config=CONFIG,
        **kwargs,
    )


@pytest.fixture(scope="module")
def result(snips_slice) -> SequenceSimulationResult:
    return _run(snips_slice)


def test_the_run_is_deterministic_and_reports_each_finished_run(snips_slice, result):
    finished: list[list[SequencePoint]] = []
    again = _run(snips_slice, on_run=finished.append)
    strip = [(p.strategy, p.seed, p.n_sentences, p.n_tokens, p.f1) for p in result.curves]
    assert strip == [(p.strategy, p.seed, p.n_sentences, p.n_tokens, p.f1) for p in again.curves]
    assert again.full_data_f1 == result.full_data_f1
    # One call per run (random too), each with that run's whole curve.
    assert sorted((run[0].strategy, run[0].seed) for run in finished) == [
        ("mnlp", 0),
        ("mnlp_diverse", 0),
        ("random", 0),
    ]
    assert sum(len(run) for run in finished) == len(again.curves)
    assert all(len({(p.strategy, p.seed) for p in run}) == 1 for run in finished)


def test_active_curves_grow_by_batches_up_to_the_budget(result):
    assert result.strategies == ["mnlp", "mnlp_diverse", "random"]
    for name in ("mnlp", "mnlp_diverse"):
        sentences, tokens, f1 = result.curve(name, 0)
        assert sentences.tolist() == [40, 80, 120]
        assert np.all(np.diff(tokens) > 0)
        assert np.all((f1 >= 0) & (f1 <= 1))
    # Every strategy starts from the same seed sentences, so the first points agree.
    firsts = {result.curve(name, 0)[1][0] for name in result.strategies}
    assert len(firsts) == 1


def test_random_runs_on_the_checkpoint_grid_to_its_target(result):
    sentences, _, f1 = result.curve("random", 0)
    grid = random_checkpoints(160, CONFIG)
    assert grid == [40, 80, 120, 160]
    assert sentences.tolist() == grid[: sentences.size]
    # It stops past the budget only at a checkpoint that reached the target, or at the pool.
    last = sentences[-1]
    assert last == 160 or (last >= CONFIG.budget and f1[-1] >= result.target_f1(0))
    # The whole pool is the full-data model, fit on the same sentences.
    if last == 160:
        assert f1[-1] == pytest.approx(result.full_data_f1[0], abs=0.02)


def test_summary_numbers_agree_with_the_curves(result):
    summary = {row.strategy: row for row in result.summary()}
    target = result.target_f1(0)
    for name, row in summary.items():
        sentences, tokens, f1 = result.curve(name, 0)
        hits = np.flatnonzero(f1 >= target)
        if hits.size:
            assert row.sentences_to_target == [int(sentences[hits[0]])]
            assert row.tokens_to_target == [int(tokens[hits[0]])]
            assert row.sentence_fraction_of_pool == pytest.approx(sentences[hits[0]] / 160)
            assert row.token_fraction_of_pool == pytest.approx(tokens[hits[0]] / result.n_tokens)
        else:
            assert row.sentences_to_target == [None]
            assert row.sentence_fraction_of_pool is None and row.sentences_vs_random is None
        assert row.f1_at_budget_mean == pytest.approx(f1[sentences <= CONFIG.budget][-1])
    rand = summary["random"]
    assert rand.sentences_to_target_mean is not None  # measured on the grid, never censored
    assert rand.sentences_vs_random == pytest.approx(1.0)
    mnlp = summary["mnlp"]
    if mnlp.tokens_to_target_mean is not None:
        assert mnlp.tokens_vs_random == pytest.approx(
            mnlp.tokens_to_target_mean / rand.tokens_to_target_mean
        )
    assert mnlp.median_query_seconds > 0 and rand.median_query_seconds == 0
    json.dumps(result.to_dict())


def test_summary_reports_not_reached_and_ratios():
    config = SequenceSimulationConfig(init_size=10, batch_size=10, budget=30, seeds=(0, 1))
    result = SequenceSimulationResult(config, n_sentences=100, n_tokens=1000, full_data_f1=[1, 1])

    def add(name: str, seed: int, points: list[tuple[int, int, float]]) -> None:
        result.curves += [SequencePoint(name, seed, s, t, f, 0.1, 0.0) for s, t, f in points]

    add("a", 0, [(10, 100, 0.5), (20, 150, 0.995), (30, 200, 1.0)])
    add("a", 1, [(10, 100, 0.5), (20, 160, 0.9), (30, 250, 0.99)])
    add("b", 0, [(10, 100, 0.5), (20, 150, 0.6), (30, 200, 0.7)])
    add("b", 1, [(10, 100, 0.5), (20, 150, 0.99), (30, 200, 0.7)])
    add("random", 0, [(10, 100, 0.5), (30, 300, 0.8), (60, 600, 0.99)])
    add("random", 1, [(10, 100, 0.5), (30, 300, 0.8), (100, 1000, 1.0)])
    rows = {r.strategy: r for r in result.summary()}
    a, b, rand = rows["a"], rows["b"], rows["random"]
    assert a.sentences_to_target == [20, 30] and a.tokens_to_target == [150, 250]
    assert a.sentences_to_target_mean == 25 and a.tokens_to_target_mean == 200
    assert rand.sentences_to_target_mean == 80 and rand.tokens_to_target_mean == 800
    assert a.sentences_vs_random == pytest.approx(25 / 80)
    assert a.tokens_vs_random == pytest.approx(200 / 800)
    assert a.token_fraction_of_pool == pytest.approx(0.2)
    assert b.sentences_to_target == [None, 20] and b.sentences_to_target_mean is None
    assert b.tokens_vs_random is None
    assert a.f1_at_budget_mean == pytest.approx(0.995)
    assert rand.f1_at_budget_mean == pytest.approx(0.8)  # the last point within the budget
    assert a.aulc_mean == pytest.approx(np.mean([(0.7475 + 0.9975) / 2, (0.7 + 0.945) / 2]))


def test_config_is_checked():
    with pytest.raises(ValueError, match="init_size"):
        SequenceSimulationConfig(init_size=50, budget=20).validate(100)
    with pytest.raises(ValueError, match="'random_step'"):
        SequenceSimulationConfig(random_step=0).validate(1000)


def test_random_checkpoints():
    config = SequenceSimulationConfig(init_size=100, batch_size=100, budget=300, random_step=500)
    assert random_checkpoints(1250, config) == [100, 200, 300, 800, 1250]
    assert random_checkpoints(250, config) == [100, 200, 250]
    assert random_checkpoints(300, config) == [100, 200, 300]


def test_tagged_sentences_reads_tokens_or_spans():
    rows: list[dict[str, Any]] = [
        {"text": "play New York", "tokens": ["play", "New", "York"], "tags": ["O", "B-c", "I-c"]},
        {"text": "one pmnear", "spans": [{"start": 0, "end": 6, "label": "t"}]},
    ]
    sentences, tags = tagged_sentences(rows)
    assert sentences[0].tokens == ("play", "New", "York") and tags[0] == ["O", "B-c", "I-c"]
    assert sentences[1].tokens == ("one", "pm", "near") and tags[1] == ["B-t", "I-t", "O"]
    bad = [{"text": "a b", "tokens": ["a", "b"], "tags": ["O", "I-c"]}]
    with pytest.raises(InputError) as err:
        tagged_sentences(bad, file="x.jsonl")
    assert (err.value.line, err.value.field) == (1, "tags[1]")


def test_read_tagged_sentences_names_file_lines_and_reads_csv_spans(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(
        '{"text": "to Paris", "spans": [{"start": 3, "end": 8, "label": "city"}]}\n\n'
        '{"text": "in Rome", "tokens": ["in", "Rome"], "tags": ["O", "I-city"]}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as err:
        read_tagged_sentences(path)
    # The blank line 2 counts: the bad row is line 3 of the file, not the second row.
    assert (err.value.file, err.value.line, err.value.field) == (str(path), 3, "tags[1]")
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text(
        'sentence,spans\n"fly to Paris","[{""start"": 7, ""end"": 12, ""label"": ""city""}]"\n',
        encoding="utf-8",
    )
    sentences, tags = read_tagged_sentences(csv_path, text_field="sentence")
    assert sentences[0].tokens == ("fly", "to", "Paris") and tags == [["O", "O", "B-city"]]
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match="no records"):
        read_tagged_sentences(empty)
    with pytest.raises(InputError) as err:
        tagged_sentences([{"text": "  ", "spans": []}], lines=[7])
    assert (err.value.line, err.value.field) == (7, "text")


def _two_seed_result() -> SequenceSimulationResult:
    config = SequenceSimulationConfig(init_size=10, batch_size=10, budget=20, seeds=(0, 1))
    result = SequenceSimulationResult(
        config, n_sentences=100, n_tokens=1000, full_data_f1=[0.8, 0.8]
    )
    points = {
        ("mnlp", 0): [(10, 100, 0.5), (20, 220, 0.7)],
        ("mnlp", 1): [(10, 120, 0.4), (20, 260, 0.8)],
        # Random stops at the first grid point past the budget that reaches the target.
        ("random", 0): [(10, 100, 0.5), (20, 200, 0.6), (70, 700, 0.8)],
        ("random", 1): [(10, 120, 0.4), (20, 210, 0.5), (70, 690, 0.7), (100, 1000, 0.8)],
    }
    for (name, seed), run in points.items():
        result.curves += [SequencePoint(name, seed, s, t, f, 0.1, 0.0) for s, t, f in run]
    return result


def test_mean_curve_averages_tokens_and_f1_at_shared_checkpoints():
    result = _two_seed_result()
    sentences, tokens, f1, sd = result.mean_curve("random")
    assert sentences.tolist() == [10, 20, 70]  # 100 only one seed reached
    assert tokens.tolist() == [110, 205, 695]
    assert f1 == pytest.approx([0.45, 0.55, 0.75]) and sd == pytest.approx([0.05] * 3)
    curves = result.to_dict()["mean_curves"]
    assert curves["mnlp"] == {
        "sentences": [10, 20],
        "tokens": [110.0, 240.0],
        "f1_mean": pytest.approx([0.45, 0.75]),
        "f1_sd": pytest.approx([0.05, 0.05]),
    }


def test_sequence_report_has_two_panels_and_curves_in_sentences_and_tokens(tmp_path):
    import matplotlib.image

    paths = write_report(_two_seed_result(), tmp_path)
    header = paths["curves_csv"].read_text().splitlines()[0].split(",")
    assert header[:4] == ["strategy", "seed", "n_sentences", "n_tokens"]
    summary = json.loads(paths["summary_json"].read_text())
    assert "curves" not in summary and "mean_curves" not in summary
    assert "mean_curves" in json.loads(paths["curves_json"].read_text())
    # Two 8-inch panels side by side at 120 dpi; the classification plot is one (960 px).
    height, width = matplotlib.image.imread(paths["plot_png"]).shape[:2]
    assert (width, height) == (1920, 600)


class _CountedTagger(CRFTagger):
    """A CRFTagger whose fits are counted (clones share the class-level list)."""

    fits: list[int] = []

    def fit(self, X, y):
        type(self).fits.append(len(X))
        return super().fit(X, y)


def test_learners_replace_the_learner_of_named_arms(snips_slice):
    (pool, pool_tags), (test, test_tags) = snips_slice
    _CountedTagger.fits.clear()
    config = SequenceSimulationConfig(init_size=8, batch_size=8, budget=16, seeds=(0,))
    result = run_sequence_simulation(
        pool[:24],
        pool_tags[:24],
        test[:5],
        test_tags[:5],
        strategies={"mnlp": MNLP(), "entropy": TokenEntropy()},
        learner=CRFTagger(max_iterations=5),
        learners={"mnlp": _CountedTagger(max_iterations=5)},
        config=config,
    )
    assert result.strategies == ["mnlp", "entropy", "random"]
    assert _CountedTagger.fits == [8, 16]  # the mnlp arm's fits, and only those
    with pytest.raises(ValueError, match="not among the strategies"):
        run_sequence_simulation(
            pool[:24],
            pool_tags[:24],
            test[:5],
            test_tags[:5],
            strategies={"mnlp": MNLP()},
            learners={"margin": CRFTagger()},
            config=config,
        )


# -- pre-annotation edits: known answers --------------------------------------------


@pytest.mark.parametrize(
    ("gold", "predicted", "expected"),
    [
        # exact match: nothing to do
        ([(0, 2, "city")], [(0, 2, "city")], EditCounts(from_scratch=1)),
        # same extent, other type: one relabel
        ([(0, 2, "city")], [(0, 2, "state")], EditCounts(relabels=1, from_scratch=1)),
        # same type, one edge off / both edges off
        ([(0, 2, "city")], [(0, 1, "city")], EditCounts(moves=1, from_scratch=1)),
        ([(1, 3, "city")], [(0, 4, "city")], EditCounts(moves=2, from_scratch=1)),
        # other type and one edge off: relabel + move
        ([(0, 2, "city")], [(1, 2, "state")], EditCounts(relabels=1, moves=1, from_scratch=1)),
        # other type and both edges off costs 3 as a fix: delete + add (2) is cheaper
        ([(1, 3, "city")], [(0, 4, "state")], EditCounts(adds=1, deletes=1, from_scratch=1)),
        # no overlap: delete the prediction, add the gold span
        ([(0, 2, "city")], [(3, 4, "city")], EditCounts(adds=1, deletes=1, from_scratch=1)),
        # nothing predicted: from scratch
        ([(0, 1, "a"), (2, 3, "b")], [], EditCounts(adds=2, from_scratch=2)),
        # nothing to find: delete every prediction
        ([], [(0, 1, "a")], EditCounts(deletes=1)),
        # one prediction covering two gold spans: move one edge, add the other
        ([(0, 1, "a"), (2, 3, "a")], [(0, 3, "a")], EditCounts(adds=1, moves=1, from_scratch=2)),
        # the cheap pairing wins: (0,2) fixes gold (0,2) exactly, (1,4) moves one edge to (2,4)
        (
            [(0, 2, "a"), (2, 4, "a")],
            [(1, 4, "a"), (0, 2, "a")],
            EditCounts(moves=1, from_scratch=2),
        ),
    ],
)
def test_sentence_edits_known_answers(gold, predicted, expected):
    assert sentence_edits(gold, predicted) == expected


def test_preannotation_edits_sums_sentences_and_takes_spans():
    gold = [[Span(0, 4, "city")], [Span(0, 3, "date"), Span(5, 9, "time")], []]
    predicted = [[Span(0, 4, "city")], [Span(0, 3, "time")], [Span(1, 2, "x")]]
    edits = preannotation_edits(gold, predicted)
    assert edits == EditCounts(adds=1, deletes=1, relabels=1, moves=0, from_scratch=3)
    assert edits.total == 3 and edits.ratio == 1.0
    assert preannotation_edits([[]], [[]]).ratio is None
    with pytest.raises(ValueError, match="same sentences"):
        preannotation_edits([[]], [])


def test_run_preannotation_counts_the_queried_batches(snips_slice):
    (pool, pool_tags), _ = snips_slice
    out = run_preannotation(
        pool,
        pool_tags,
        strategy=MNLP(),
        learner=LEARNER,
        init_size=40,
        n_labeled=80,
        n_corrected=80,
        batch_size=40,
    )
    assert out.n_labeled == 80 and out.n_corrected == 80 and len(out.per_batch) == 2
    assert out.retrained == out.per_batch[0] + out.per_batch[1]
    # The first corrected batch is suggested by the frozen model in both counts.
    assert (
        out.per_batch[0].from_scratch == out.retrained.from_scratch - out.per_batch[1].from_scratch
    )
    assert out.fixed.from_scratch == out.retrained.from_scratch > 0
    assert 0 < out.retrained.total < 2 * out.retrained.from_scratch
    json.dumps(out.to_dict())
    with pytest.raises(ValueError, match="multiple of batch_size"):
        run_preannotation(
            pool,
            pool_tags,
            strategy=MNLP(),
            n_labeled=90,
            batch_size=40,
            init_size=40,
            n_corrected=10,
        )
