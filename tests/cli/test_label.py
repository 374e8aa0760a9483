"""``labelwise label`` in the terminal, and ``labelwise retrain``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from labelwise.cli.label import match_labels
from labelwise.service import queue
from labelwise.service.queue import ServedItem
from labelwise.store import (
    Annotation,
    AnnotationKind,
    Project,
    User,
    make_engine,
    make_session_factory,
)


@pytest.fixture
def pool(cli, admin, tmp_path):
    assert admin == "root"
    path = tmp_path / "pool.jsonl"
    lines = [
        *(f"set a timer for {i} minutes" for i in range(8)),
        *(f"translate {w} into french" for w in "one two three four five six seven eight".split()),
        *(f"send {i} dollars to my savings" for i in range(8)),
    ]
    path.write_text("".join(f'{{"text": "{t}"}}\n' for t in lines), encoding="utf-8")
    assert cli("import", "intents", str(path)).exit_code == 0
    return lines


def truth(text: str) -> str:
    return "timer" if "timer" in text else "translate" if "translate" in text else "transfer"


def decisions(database_url):
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        rows = session.query(Annotation).order_by(Annotation.id).all()
    engine.dispose()
    return rows


@pytest.mark.usefixtures("pool")
def test_label_skip_undo_and_quit(cli, database_url):
    # label by full name, skip (confirmed), label by prefix, undo it, label again, quit
    keys = "timer\ns\ny\ntransl\nu\ntransfer\nq\n"
    result = cli("label", "intents", "--user", "root", "--no-worker", input=keys)
    assert result.exit_code == 0, result.output
    assert "why this item" in result.output and "undone" in result.output
    assert "3 decisions this session (2 labels)" in result.output
    rows = decisions(database_url)
    live = [r for r in rows if r.undone_at is None]
    assert [r.kind for r in live] == [
        AnnotationKind.LABEL,
        AnnotationKind.SKIP,
        AnnotationKind.LABEL,
    ]
    assert [r.value for r in live if r.kind is AnnotationKind.LABEL] == ["timer", "transfer"]
    assert sum(r.undone_at is not None for r in rows) == 1


@pytest.mark.usefixtures("pool")
def test_an_ambiguous_prefix_lists_its_matches_and_asks_again(cli, database_url):
    result = cli("label", "intents", "--user", "root", "--no-worker", input="t\nTI\nq\n")
    assert result.exit_code == 0, result.output
    assert "'t' matches 3 labels: translate, timer, transfer" in result.output
    assert [r.value for r in decisions(database_url)] == ["timer"]


@pytest.mark.usefixtures("pool")
def test_skip_and_flag_ask_first_and_a_counter_follows_each_decision(cli, database_url):
    # s, then no: nothing stored; f, yes, a comment; then a label in capitals
    keys = "s\nn\nf\ny\nunclear text\nTIMER\nq\n"
    result = cli("label", "intents", "--user", "root", "--no-worker", input=keys)
    assert result.exit_code == 0, result.output
    assert "skip this item? [y/N]" in result.output
    assert "flag this item for review? [y/N]" in result.output
    rows = decisions(database_url)
    assert [r.kind for r in rows] == [AnnotationKind.FLAG, AnnotationKind.LABEL]
    assert rows[1].value == "timer"
    assert rows[0].comment == "unclear text"
    assert "1 this session · 24 of 24 items still unlabeled" in result.output
    assert "2 this session · 23 of 24 items still unlabeled" in result.output
    assert "2 decisions this session (1 label)" in result.output


@pytest.mark.usefixtures("pool")
def test_the_end_of_input_quits_cleanly(cli):
    result = cli("label", "intents", "--user", "root", "--no-worker", input="timer\n")
    assert result.exit_code == 0, result.output
    assert "1 decision this session (1 label)" in result.output


@pytest.mark.usefixtures("pool")
def test_retrain_wait_trains_and_reports_the_version(cli, database_url, tmp_path):
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        root = session.query(User).filter_by(username="root").one()
        project = session.query(Project).filter_by(name="intents").one()
        for _ in range(12):
            served = queue.lease_next(session, project_id=project.id, annotator=root)
            queue.submit_annotation(
                session,
                project_id=project.id,
                annotator=root,
                item_id=served.item_id,
                value=truth(served.text),
            )
    engine.dispose()
    result = cli("retrain", "intents", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    # (an audit share of the twelve is held out of training)
    assert re.search(r"model v1: \d+ labels \(job \d+, [\d.]+ s\)", result.output), result.output
    assert "labeled items" in result.output and "fit seconds" in result.output
    # a readable table, not a dict
    assert "{" not in result.output and "'" not in result.output


@pytest.mark.usefixtures("pool")
def test_retrain_with_too_few_labels_says_skipped_and_why(cli, tmp_path):
    result = cli("retrain", "intents", "--data-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "Skipped: 0 labeled items" in result.output
    assert "failed" not in result.output and "Traceback" not in result.output
    status = cli("status", "intents")
    assert "jobs skipped" in status.output, status.output


def test_match_labels():
    served = ServedItem(
        lease_id=1,
        item_id=1,
        position=0,
        text="x",
        meta={},
        expires_at=datetime.now(UTC),
        strategy="s",
        score=None,
        model_version=1,
        suggestions=[("timer", 0.7), ("transfer", 0.2)],
        is_audit=False,
    )
    labels = ["timer", "transfer", "translate"]
    assert match_labels("", served, labels) == ["timer"]
    assert match_labels("2", served, labels) == ["transfer"]
    assert match_labels("transl", served, labels) == ["translate"]
    assert match_labels("TRANSL", served, labels) == ["translate"]
    assert match_labels("tr", served, labels) == ["transfer", "translate"]
    assert match_labels("9", served, labels) == []
    assert match_labels("x", served, labels) == []
    # an exact name wins over the longer names it prefixes
    assert match_labels("Timer", served, [*labels, "timer_cancel"]) == ["timer"]


def answers_from(keys, monkeypatch):
    """An ``_Answers`` in keypress mode whose terminal yields ``keys`` one by one."""
    import io

    from rich.console import Console

    from labelwise.cli import label as label_module

    pressed = iter(keys)
    monkeypatch.setattr(label_module, "_read_key", lambda: next(pressed))
    monkeypatch.setattr(label_module, "_echo", lambda _text: None)
    console = Console(file=io.StringIO(), width=100)
    return label_module._Answers(console, keypress=True)


def test_a_keypress_is_a_whole_answer_and_letters_start_a_name(monkeypatch):
    answers = answers_from(["3", "s", "\r", "t", "i", "x", "\x7f", "\r"], monkeypatch)
    assert answers.answer() == "3"  # no Enter needed
    assert answers.answer() == "s"
    assert answers.answer() == ""  # Enter alone: the first suggestion
    assert answers.answer() == "ti"  # typed, with a backspace, then Enter


def test_slash_types_a_name_that_starts_like_a_command_and_escape_cancels(monkeypatch):
    answers = answers_from(["/", "s", "e", "t", "\r", "t", "\x1b", "y", "n"], monkeypatch)
    assert answers.answer() == "set"
    assert answers.answer() is None
    assert answers.confirm("skip this item?") is True
    assert answers.confirm("skip this item?") is False


def test_ctrl_c_in_keypress_mode_quits(monkeypatch):
    from labelwise.cli import label as label_module

    def interrupted():
        raise label_module._Quit

    answers = answers_from([], monkeypatch)
    monkeypatch.setattr(label_module, "_read_key", interrupted)
    with pytest.raises(label_module._Quit):
        answers.answer()
