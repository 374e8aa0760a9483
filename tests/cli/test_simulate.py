"""``labelwise simulate`` end to end through the Typer app, and its input errors."""

import json

from typer.testing import CliRunner

from labelwise.cli.main import app
from labelwise.strategies import STRATEGIES, ExpectedErrorReduction

runner = CliRunner()


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def test_simulate_on_a_clinc_slice_writes_every_output(clinc_slice, tmp_path):
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
            "--strategy",
            "margin,random",
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
    assert "Stopping criteria" in result.output and "StabilizingPredictions" in result.output
    assert "margin" in result.output and "random" in result.output
    for name in ("curves.json", "curves.csv", "summary.json", "learning_curves.png"):
        assert (out / name).is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["seeds"] == [0, 1]
    assert [row["strategy"] for row in summary["summary"]] == ["margin", "random"]


def test_bad_row_is_reported_with_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"text": "hi", "label": "greet"}\n{"text": "", "label": "greet"}\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["simulate", "--data", str(bad)])
    assert result.exit_code == 2
    # The console may wrap the message anywhere there is a space.
    assert f"{bad}, line 2, field 'text': empty text" in " ".join(result.output.split())


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
            "--cold-start",
            "representative",
            "--self-training",
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
