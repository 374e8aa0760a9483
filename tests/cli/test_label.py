"""``labelwise label`` in the terminal, and ``labelwise retrain``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labelwise.cli.label import resolve_answer
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
    # label by full name, skip, label by prefix, undo it, label again, quit
    keys = "timer\ns\ntransl\nu\ntransfer\nq\n"
    result = cli("label", "intents", "--user", "root", "--no-worker", input=keys)
    assert result.exit_code == 0, result.output
    assert "why this item" in result.output and "undone" in result.output
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
def test_an_ambiguous_answer_asks_again(cli, database_url):
    result = cli("label", "intents", "--user", "root", "--no-worker", input="t\ntimer\nq\n")
    assert result.exit_code == 0, result.output
    assert "no single label matches 't'" in result.output
    assert [r.value for r in decisions(database_url)] == ["timer"]


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
    assert "model v1: 12 labels" in result.output


def test_resolve_answer():
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
    assert resolve_answer("", served, labels) == "timer"
    assert resolve_answer("2", served, labels) == "transfer"
    assert resolve_answer("transl", served, labels) == "translate"
    assert resolve_answer("tr", served, labels) is None
    assert resolve_answer("9", served, labels) is None
