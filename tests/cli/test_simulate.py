"""``labelwise simulate`` end to end through the Typer app, and its input errors."""

import hashlib
import json

import pytest
from typer.testing import CliRunner

from labelwise import __version__
from labelwise.cli._simulate import build_arms, seed_list
from labelwise.cli._simulate_spans import build_sequence_arms
from labelwise.cli.main import app
from labelwise.cli.simulate import SEQUENCE_STRATEGY_NAMES
from labelwise.learners import BaggedCRF, Committee, CRFTagger, SelfTrainingClassifier
from labelwise.recipes.classification import classification_committee, classification_learner
from labelwise.strategies import (
    MNLP,
    SEQUENCE_STRATEGIES,
    STRATEGIES,
    DeduplicatedBatch,
    EntityDiverseBatch,
    ExpectedErrorReduction,
)

runner = CliRunner()


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


@pytest.mark.embeddings
def test_simulate_on_a_clinc_slice_writes_every_output(clinc_slice, tmp_path):
    # The defaults: the recipe (MiniLM beside TF-IDF, margin from a random seed set)
    # against random sampling.
    train, test = clinc_slice
    write_jsonl(
        tmp_path / "train.jsonl",
        [{"text": t, "label": y} for t, y in zip(train.texts, train.labels, strict=True)],
    )
    write_jsonl(
        tmp_path / "test.jsonl",
        [{"text": t, "label": y} for t, y in zip(test.texts, test.labels, strict=True)],
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--data",
            str(tmp_path / "train.jsonl"),
            "--test",
            str(tmp_path / "test.jsonl"),
            "--init",
            "24",
            "--batch",
            "48",
            "--budget",
            "120",
            "--seeds",
            "2",
            "--out",
            str(out),
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "labels to target" in result.output
    assert "Seeds: each seed draws its own random seed set." in " ".join(result.output.split())
    # Not a terminal: progress comes as plain lines, the last one always (3 points x 2 x 2).
    assert "simulating: 12/12 random seed 1: 120 labels, accuracy " in result.output
    assert "Stopping criteria" in result.output and "StabilizingPredictions" in result.output
    assert "margin" in result.output and "random" in result.output
    for name in ("curves.json", "curves.csv", "summary.json", "learning_curves.png"):
        assert (out / name).is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["seeds"] == [0, 1]
    assert [row["strategy"] for row in summary["summary"]] == ["margin", "random"]
    # How the run was made, to compare two output folders.
    run = json.loads((out / "run.json").read_text())
    assert summary["run"] == run
    assert run["version"] == __version__
    assert run["options"]["budget"] == 120 and run["options"]["features"] == "minilm+tfidf"
    assert run["options"]["cold_start"] == "random" and not run["options"]["class_balanced"]
    data = tmp_path / "train.jsonl"
    assert run["files"]["data"] == {
        "path": str(data.resolve()),
        "bytes": data.stat().st_size,
        "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
    }
    assert set(run["files"]) == {"data", "test"}
    assert run["learner"]["class"] == "ProbabilisticClassifier"
    assert run["learner"]["params"]["estimator"]["params"]["C"] == 10.0
    assert run["arms"]["margin"]["strategy"].startswith("MarginSampling(")
    assert run["arms"]["margin"]["cold_start"] is None
    # Random sampling is the plain baseline: no wrapper, no cold start.
    assert run["arms"]["random"]["strategy"].startswith("RandomSampling(")
    assert run["arms"]["random"]["cold_start"] is None


def test_bad_row_is_reported_with_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"text": "hi", "label": "greet"}\n{"text": "", "label": "greet"}\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["simulate", "--data", str(bad)])
    assert result.exit_code == 2
    # The console may wrap the message anywhere there is a space.
    assert f"{bad}, line 2, field 'text': empty text" in " ".join(result.output.split())


def test_an_error_line_keeps_a_long_path_whole_and_markup_literal(tmp_path):
    folder = tmp_path / ("[bold]" + "x" * 120)
    folder.mkdir()
    bad = folder / "bad.jsonl"
    bad.write_text('{"text": "", "label": "greet"}\n', encoding="utf-8")
    result = runner.invoke(app, ["simulate", "--data", str(bad)])
    assert result.exit_code == 2
    # Not re-joined: the console must not break the path, nor read "[bold]" as markup.
    assert f"{bad}, line 1, field 'text': empty text" in result.output


def test_unknown_strategy_is_refused(tmp_path):
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [{"text": "hi", "label": "a"}])
    result = runner.invoke(app, ["simulate", "--data", str(data), "--strategy", "margin,magic"])
    assert result.exit_code == 2
    assert "magic" in result.output


def test_cold_start_self_training_dedup_and_committee_options(clinc_slice, tmp_path):
    train, test = clinc_slice
    rows = list(zip(train.texts, train.labels, strict=True))[::3]
    write_jsonl(tmp_path / "train.jsonl", [{"text": t, "label": y} for t, y in rows])
    write_jsonl(
        tmp_path / "test.jsonl",
        [{"text": t, "label": y} for t, y in zip(test.texts, test.labels, strict=True)],
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--data",
            str(tmp_path / "train.jsonl"),
            "--test",
            str(tmp_path / "test.jsonl"),
            "--strategy",
            "margin,bald,random",
            "--init",
            "24",
            "--batch",
            "24",
            "--budget",
            "72",
            "--seeds",
            "1",
            "--features",
            "tfidf",
            "--cold-start",
            "representative",
            "--self-training",
            "--class-balanced",
            "--dedup",
            "0.9",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    curves = json.loads((out / "curves.json").read_text())["curves"]
    assert {p["strategy"] for p in curves} == {"margin", "bald", "random"}
    assert max(p["n_labels"] for p in curves) == 72
    # A deterministic start still differs per seed: the table says how.
    assert (
        "Seeds: random sampling draws its own random seed set; the others' seed set: 10% "
        "drawn at random under the seed, the rest by the representative cold start."
        in " ".join(result.output.split())
    )
    # Each arm's wrappers, learner and cold start are on record.
    arms = json.loads((out / "run.json").read_text())["arms"]
    assert arms["margin"]["strategy"].startswith("DeduplicatedBatch(ClassBalanced(MarginSampling(")
    assert arms["bald"]["strategy"].startswith("DeduplicatedBatch(ClassBalanced(BALD(")
    assert arms["random"]["strategy"].startswith("RandomSampling(")
    assert arms["bald"]["learner"]["class"] == "Committee"
    assert arms["margin"]["learner"]["class"] == "SelfTrainingClassifier"
    assert arms["margin"]["cold_start"].startswith("RepresentativeSeedSet(method=")
    assert arms["random"]["cold_start"] is None and arms["random"]["learner"]["class"] == (
        "ProbabilisticClassifier"
    )


def test_expected_error_reduction_runs_deduplicated(clinc_slice, tmp_path, monkeypatch):
    # EER refits on the labels, which reach it through the de-duplicating wrapper. A small
    # EER keeps the refits few (the defaults cost 500 logistic-regression fits a query).
    monkeypatch.setitem(
        STRATEGIES, "eer", lambda: ExpectedErrorReduction(n_candidates=6, n_eval=30, max_labels=2)
    )
    train, test = clinc_slice
    rows = list(zip(train.texts, train.labels, strict=True))[::20]
    write_jsonl(tmp_path / "train.jsonl", [{"text": t, "label": y} for t, y in rows])
    write_jsonl(
        tmp_path / "test.jsonl",
        [{"text": t, "label": y} for t, y in zip(test.texts, test.labels, strict=True)][::12],
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--data",
            str(tmp_path / "train.jsonl"),
            "--test",
            str(tmp_path / "test.jsonl"),
            "--strategy",
            "eer",
            "--features",
            "tfidf",
            "--init",
            "12",
            "--batch",
            "4",
            "--budget",
            "16",
            "--seeds",
            "1",
            "--dedup",
            "0.9",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    curves = json.loads((out / "curves.json").read_text())["curves"]
    assert {p["strategy"] for p in curves} == {"eer"}
    assert max(p["n_labels"] for p in curves) == 16


def test_zero_shot_cold_start_needs_sentence_features(tmp_path):
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [{"text": f"hi {i}", "label": "a" if i % 2 else "b"} for i in range(20)])
    result = runner.invoke(
        app,
        [
            "simulate",
            "--data",
            str(data),
            "--features",
            "tfidf",
            "--cold-start",
            "zero-shot",
            "--init",
            "2",
            "--budget",
            "4",
        ],
    )
    assert result.exit_code == 2
    assert "needs sentence features" in result.output


# -- --task spans -----------------------------------------------------------------------


def read_jsonl(path, n, step=1):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh][::step][:n]


def simulate_spans(train, test, out, *extra):
    return runner.invoke(
        app,
        [
            "simulate",
            "--task",
            "spans",
            "--data",
            str(train),
            "--test",
            str(test),
            "--out",
            str(out),
            *extra,
        ],
        env={"COLUMNS": "200"},
    )


def test_spans_on_a_snips_slice_writes_curves_in_sentences_and_tokens(clinc_dir, tmp_path):
    snips = clinc_dir.parent / "snips"
    # Every 90th train row and every 17th test row span all seven intents.
    train = read_jsonl(snips / "train.jsonl", 150, step=90)
    test = read_jsonl(snips / "test.jsonl", 40, step=17)
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "test.jsonl", test)
    out = tmp_path / "out"
    result = simulate_spans(
        tmp_path / "train.jsonl",
        tmp_path / "test.jsonl",
        out,
        "--strategy",
        "mnlp,random",
        "--init",
        "50",
        "--batch",
        "50",
        "--budget",
        "250",
        "--seeds",
        "1",
        "--crf-iterations",
        "30",
    )
    assert result.exit_code == 0, result.output
    for header in ("sentences to target", "tokens to target", "sentences ÷ random", "AULC"):
        assert header in result.output
    # Not a terminal: a plain line as each run (strategy x seed) ends.
    run = json.loads((out / "run.json").read_text())
    assert run["options"]["task"] == "spans" and set(run["files"]) == {"data", "test"}
    tagger = run["arms"]["mnlp"]["learner"]
    assert tagger["class"] == "CRFTagger" and tagger["params"]["max_iterations"] == 30
    # The pool's word clusters are summarised, not listed word by word.
    assert tagger["params"]["word_clusters"].startswith("<dict of ")
    progress = [line for line in result.output.splitlines() if line.startswith("simulating: ")]
    assert progress[0].startswith("simulating: 0/2 fitting the full-data CRF")
    assert len(progress) == 3
    assert progress[1].startswith("simulating: 1/2 ") and progress[2].startswith("simulating: 2/2 ")
    ended = {line.split()[2] for line in progress[1:]}
    assert ended == {"mnlp", "random"}
    assert "Full-data span F1" in result.output
    assert "CRF features include word clusters of the pool's" in result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == [
        "Normalized log-prob. (mnlp)",
        "Random",
    ]
    assert (out / "learning_curves.png").stat().st_size > 10_000
    data = json.loads((out / "curves.json").read_text())
    # The budget is capped at the pool; the tokens are those of the rows as given.
    n_tokens = sum(len(r["tokens"]) for r in train)
    assert data["config"]["budget"] == 150
    assert (data["n_sentences"], data["n_tokens"]) == (150, n_tokens)
    for name in ("mnlp", "random"):
        points = [p for p in data["curves"] if p["strategy"] == name]
        assert [p["n_sentences"] for p in points] == [50, 100, 150]
        assert points[-1]["n_tokens"] == n_tokens
        assert points[0]["n_tokens"] < points[1]["n_tokens"] < n_tokens
        mean = data["mean_curves"][name]
        assert mean["sentences"] == [50, 100, 150]
        assert mean["tokens"] == [p["n_tokens"] for p in points]
        assert mean["f1_mean"] == [p["f1"] for p in points]
    summary = {
        row["strategy"]: row for row in json.loads((out / "summary.json").read_text())["summary"]
    }
    assert summary["random"]["sentences_vs_random"] == 1.0
    assert "curves" not in json.loads((out / "summary.json").read_text())


def test_spans_reads_wnut17_tokens_and_tags_without_spans(clinc_dir, tmp_path):
    wnut = clinc_dir.parent / "wnut17"
    # Only tokens and tags: the text is found by aligning the tokens, the tags read as IOB2.
    train = [
        {k: r[k] for k in ("text", "tokens", "tags")} for r in read_jsonl(wnut / "train.jsonl", 60)
    ]
    test = [
        {k: r[k] for k in ("text", "tokens", "tags")} for r in read_jsonl(wnut / "dev.jsonl", 20)
    ]
    write_jsonl(tmp_path / "train.jsonl", train)
    write_jsonl(tmp_path / "test.jsonl", test)
    out = tmp_path / "out"
    result = simulate_spans(
        tmp_path / "train.jsonl",
        tmp_path / "test.jsonl",
        out,
        "--strategy",
        "token_entropy",
        "--init",
        "20",
        "--batch",
        "20",
        "--budget",
        "40",
        "--seeds",
        "0,3",
        "--crf-iterations",
        "10",
        "--no-word-clusters",
    )
    assert result.exit_code == 0, result.output
    assert "word clusters" not in result.output
    data = json.loads((out / "curves.json").read_text())
    assert data["config"]["seeds"] == [0, 3]
    assert data["n_tokens"] == sum(len(r["tokens"]) for r in train)
    assert {p["strategy"] for p in data["curves"]} == {"token_entropy", "random"}
    assert {p["seed"] for p in data["curves"]} == {0, 3}


def test_spans_bad_row_names_file_physical_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    # Line 2 is blank: the error names the line in the file, not the row's position.
    bad.write_text(
        '{"text": "play jazz", "spans": [{"start": 5, "end": 9, "label": "genre"}]}\n\n'
        '{"text": "play rock", "spans": [{"start": 5, "end": 40, "label": "genre"}]}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["simulate", "--task", "spans", "--data", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}, line 3, field 'spans[0].end': end 40 is past the end" in " ".join(
        result.output.split()
    )


def test_spans_bad_tags_are_located(tmp_path):
    bad = tmp_path / "bad.jsonl"
    write_jsonl(
        bad,
        [
            {
                "text": "in new york",
                "tokens": ["in", "new", "york"],
                "tags": ["O", "I-city", "I-city"],
            }
        ],
    )
    result = runner.invoke(app, ["simulate", "--task", "spans", "--data", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}, line 1, field 'tags[1]'" in " ".join(result.output.split())


def test_a_strategy_of_the_other_task_is_refused_with_the_valid_names(tmp_path):
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [{"text": "hi", "label": "a"}])
    result = runner.invoke(
        app, ["simulate", "--task", "spans", "--data", str(data), "--strategy", "margin,random"]
    )
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "margin: --task classification strategy, not --task spans" in message
    assert "--task spans takes: random, " + ", ".join(SEQUENCE_STRATEGIES) in message
    result = runner.invoke(app, ["simulate", "--data", str(data), "--strategy", "mnlp"])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "mnlp: --task spans strategy, not --task classification" in message
    assert "--task classification takes: " + ", ".join(STRATEGIES) in message


def test_options_of_the_other_task_are_refused(tmp_path):
    data = tmp_path / "d.jsonl"
    write_jsonl(data, [{"text": "hi", "label": "a"}])
    result = runner.invoke(app, ["simulate", "--data", str(data), "--entity-diverse"])
    assert result.exit_code == 2
    assert "--entity-diverse: only for --task spans" in " ".join(result.output.split())
    result = runner.invoke(app, ["simulate", "--data", str(data), "--no-word-clusters"])
    assert "--no-word-clusters: only for --task spans" in " ".join(result.output.split())
    result = runner.invoke(
        app,
        [
            "simulate",
            "--task",
            "spans",
            "--data",
            str(data),
            "--C",
            "3",
            "--self-training",
            "--class-balanced",
        ],
    )
    assert result.exit_code == 2
    assert "--C, --self-training, --class-balanced: only for --task classification" in " ".join(
        result.output.split()
    )
    result = runner.invoke(app, ["simulate", "--task", "ner", "--data", str(data)])
    assert result.exit_code == 2
    assert "Unknown --task 'ner'" in result.output


def test_sequence_strategy_names_match_the_registry():
    assert list(SEQUENCE_STRATEGY_NAMES) == ["random", *SEQUENCE_STRATEGIES]


@pytest.mark.parametrize(
    ("spec", "seeds"), [("3", (0, 1, 2)), ("1", (0,)), ("0,4,7", (0, 4, 7)), ("5,", (5,))]
)
def test_seeds_are_a_count_or_a_list(spec, seeds):
    assert seed_list(spec) == seeds


@pytest.mark.parametrize("spec", ["0", "-1", "two", "", "1,-2"])
def test_bad_seeds_are_refused(spec):
    with pytest.raises(ValueError, match="--seeds"):
        seed_list(spec)


def test_a_committee_of_different_learners_chooses_for_every_arm_but_random():
    classes = ["a", "b"]
    logistic = classification_learner(classes)
    mixed = classification_committee(classes, features="minilm+tfidf", width=4)
    names = ["margin", "kl_max_disagreement", "random"]
    arms = build_arms(
        names, logistic, chooser=mixed, cold_start=None, self_training=False, dedup=0.0
    )
    assert arms["margin"].learner is mixed
    assert arms["kl_max_disagreement"].learner is mixed  # its own members, not bagged
    assert arms["random"].learner is logistic
    trained = build_arms(
        names, logistic, chooser=mixed, cold_start=None, self_training=True, dedup=0.0
    )
    assert isinstance(trained["margin"].learner, SelfTrainingClassifier)
    assert trained["margin"].learner.learner is mixed
    assert trained["kl_max_disagreement"].learner is mixed
    # Without one, committee strategies bag the logistic regression.
    plain = build_arms(names, logistic, cold_start=None, self_training=False, dedup=0.0)
    assert isinstance(plain["kl_max_disagreement"].learner, Committee)
    assert plain["margin"].learner is logistic


def test_sequence_arms_wrap_and_give_committees_a_bagged_crf():
    tagger = CRFTagger(max_iterations=7)
    strategies, learners = build_sequence_arms(
        ["mnlp", "random", "sequence_committee"], tagger, dedup=0.9, entity_diverse=True
    )
    assert list(strategies) == ["mnlp", "sequence_committee"]  # random always runs anyway
    outer = strategies["mnlp"]
    assert isinstance(outer, EntityDiverseBatch)
    assert isinstance(outer.base, DeduplicatedBatch) and isinstance(outer.base.base, MNLP)
    assert list(learners) == ["sequence_committee"]
    assert isinstance(learners["sequence_committee"], BaggedCRF)
    assert learners["sequence_committee"].tagger is tagger
    with pytest.raises(ValueError, match="--dedup"):
        build_sequence_arms(["mnlp"], tagger, dedup=1.0, entity_diverse=False)


@pytest.mark.parametrize(
    ("task", "args", "message"),
    [
        ("classification", ["--init", "0"], "--init must be at least 1. Got 0."),
        ("classification", ["--batch", "0"], "--batch must be at least 1. Got 0."),
        ("classification", ["--jobs", "0"], "--jobs must be at least 1. Got 0."),
        (
            "classification",
            ["--init", "50"],
            "--init (50) must not exceed --budget (5000) or the pool (32 items).",
        ),
        (
            "classification",
            ["--init", "20", "--budget", "10"],
            "--init (20) must not exceed --budget (10) or the pool (32 items).",
        ),
        ("classification", ["--init", "5", "--target", "1.5"], "--target must be in (0, 1]"),
        ("classification", ["--init", "5", "--seeds", "x"], "--seeds must be a positive count"),
        (
            "classification",
            ["--init", "5", "--start-random-share", "1.5"],
            "--start-random-share must be in [0, 1]. Got 1.5.",
        ),
        ("classification", ["--init", "5", "--learner", "magic"], "Unknown --learner 'magic'"),
        (
            "classification",
            ["--init", "5", "--features", "tfidf", "--learner", "mixed-committee"],
            "--learner mixed-committee reads both blocks of --features minilm+tfidf",
        ),
        (
            "spans",
            ["--init", "50"],
            "--init (50) must not exceed --budget (5000) or the pool (32 sentences).",
        ),
        ("spans", ["--init", "5", "--target", "0"], "--target must be in (0, 1]"),
    ],
)
def test_run_options_are_refused_in_the_cli_words_before_any_features(
    tmp_path, monkeypatch, task, args, message
):
    """Bad numbers end the command before a featurizer loads (minutes with MiniLM), in
    the flags' names, not the library's (init_size, SimulationConfig)."""
    from labelwise.cli import _simulate

    def no_features(*_args, **_kwargs):
        raise AssertionError("featurized before the options were checked")

    monkeypatch.setattr(_simulate, "featurize", no_features)
    data = tmp_path / "d.jsonl"
    rows = [
        {"text": f"play song {i}", "label": "a" if i % 2 else "b", "spans": []} for i in range(40)
    ]
    write_jsonl(data, rows)
    result = runner.invoke(app, ["simulate", "--task", task, "--data", str(data), *args])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert message in output
    assert "init_size" not in output and "Config" not in output
