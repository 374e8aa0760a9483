"""``labelwise project create / add-member`` and ``labelwise status``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from labelwise.service import policies, projects, queue, users
from labelwise.service.transactions import begin_write
from labelwise.store import Annotation, Item, Role, TaskType, make_engine, make_session_factory


def load(database_url, name):
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        project = projects.find_project(session, name=name)
    engine.dispose()
    return project


def test_create_with_a_labels_file_and_settings(cli, admin, database_url, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("spam\n\nham\n", encoding="utf-8")
    result = cli(
        "project", "create", "mail", "--labels-file", str(labels), "--multi-label",
        "--strategy", "entropy", "--features", "tfidf", "--retrain-every", "20", "--owner", admin,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    project = load(database_url, "mail")
    assert project.labels == ["spam", "ham"] and project.task is TaskType.MULTI_LABEL
    assert (project.settings["strategy"], project.settings["retrain_every"]) == ("entropy", 20)
    as_json = tmp_path / "labels.json"
    as_json.write_text(json.dumps(["a", "b"]), encoding="utf-8")
    assert (
        cli("project", "create", "j", "--labels-file", str(as_json), "--owner", admin).exit_code
        == 0
    )
    assert load(database_url, "j").labels == ["a", "b"]


def test_create_refusals_exit_2_with_the_reason(cli, admin):
    cases = [
        (["intents", "--labels", "a,b"], "already exists"),
        (["p", "--labels", "a,b", "--strategy", "psychic"], "unknown strategy"),
        (["p", "--labels", "a,b", "--features", "bert"], "features"),
        (["p", "--owner-less"], "No such option"),
        (["p"], "exactly one of --labels and --labels-file"),
        (["p", "--labels", "a,b", "--owner", "ghost"], "No user named 'ghost'"),
        (["p", "--labels", "only"], "at least two labels"),
        (["p", "--labels", "a,b", "--audit-share", "0.9"], "less than or equal to 0.5"),
    ]
    for args, message in cases:
        if "--owner" not in args and "--owner-less" not in args:
            args = [*args, "--owner", admin]
        result = cli("project", "create", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)


def test_a_broken_json_labels_file_names_line_and_column(cli, admin, tmp_path):
    labels = tmp_path / "labels.json"
    labels.write_text('["a",\n "b" "c"]', encoding="utf-8")
    result = cli("project", "create", "j", "--labels-file", str(labels), "--owner", admin)
    assert result.exit_code == 2, result.output
    assert "line 2" in result.output
    assert "invalid JSON: Expecting ',' delimiter at column 6" in result.output


def test_create_sets_the_audit_share_and_defaults_to_the_shared_one(cli, admin, database_url):
    assert cli("project", "create", "d", "--labels", "a,b", "--owner", admin).exit_code == 0
    assert load(database_url, "d").settings["audit_fraction"] == 0.1
    assert load(database_url, "d").settings["retrain_every"] == 20
    result = cli(
        "project", "create", "n", "--labels", "a,b", "--audit-share", "0", "--owner", admin
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert load(database_url, "n").settings["audit_fraction"] == 0.0


@pytest.mark.usefixtures("admin")
def test_add_member_by_name_or_id(cli, database_url):
    assert cli("users", "add", "ann", "--password", "ann-password").exit_code == 0
    result = cli("project", "add-member", "intents", "ann")
    assert result.exit_code == 0, result.output
    project = load(database_url, "intents")
    result = cli("project", "add-member", str(project.id), "ann", "--role", "admin")
    assert result.exit_code == 0 and "ann is now admin of intents" in result.output
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        ann = users.get_user(session, username="ann")
        assert policies.project_role(session, project_id=project.id, user=ann) is Role.ADMIN
    engine.dispose()
    assert cli("project", "add-member", "nope", "ann").exit_code == 2


@pytest.mark.usefixtures("admin")
def test_status_counts(cli, tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text('{"text": "a", "label": "timer"}\n{"text": "b"}\n', encoding="utf-8")
    assert cli("import", "intents", str(path)).exit_code == 0
    result = cli("status", "intents")
    assert result.exit_code == 0, result.output
    assert "intents (project 1)" in result.output
    lines = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in result.output.splitlines()
        if line.count("│") == 3
    }
    assert lines["items"] == "2" and lines["labeled items"] == "1 (50.0%)"
    assert lines["model version"] == "none yet"
    missing = cli("status", "nothing")
    assert missing.exit_code == 2 and "No project named 'nothing'" in missing.output


def test_create_span_projects_with_entity_types(cli, admin, database_url):
    ok = [
        ("ner", ["--task", "spans", "--entity-types", "PER, LOC"]),
        ("ner2", ["--task", "spans", "--labels", "PER,LOC"]),
        ("nlu", ["--task", "intents_entities", "--labels", "play,book", "--entity-types", "city"]),
    ]
    for name, args in ok:
        result = cli("project", "create", name, *args, "--owner", admin)
        assert result.exit_code == 0, result.output
    ner, ner2, nlu = (load(database_url, name) for name, _ in ok)
    assert (ner.task, ner.labels, ner.entity_types) == (
        TaskType.SPANS,
        ["PER", "LOC"],
        ["PER", "LOC"],
    )
    assert (ner2.labels, ner2.entity_types) == (["PER", "LOC"], ["PER", "LOC"])
    assert (nlu.task, nlu.labels, nlu.entity_types) == (
        TaskType.INTENTS_ENTITIES,
        ["play", "book"],
        ["city"],
    )
    refused = [
        (["--task", "spans"], "exactly one of --labels"),
        (["--task", "intents_entities", "--labels", "a,b"], "at least one entity type"),
        (["--task", "intents_entities", "--labels", "a", "--entity-types", "x"], "two intents"),
        (["--task", "spans", "--entity-types", "time range"], "may not contain spaces"),
        (["--labels", "a,b", "--entity-types", "x"], "Only span projects have entity types"),
        (["--task", "spans", "--multi-label", "--labels", "a"], "contradicts"),
    ]
    for args, message in refused:
        result = cli("project", "create", "bad", *args, "--owner", admin)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)


@pytest.mark.usefixtures("admin")
def test_status_says_whether_active_learning_is_helping(cli, database_url, tmp_path):
    rows = [
        {"text": f"please {label} item {k}", **({"label": label} if k < 8 else {})}
        for label in ("translate", "timer", "transfer")
        for k in range(18)
    ]
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert cli("import", "intents", str(path), "--user", "root").exit_code == 0
    result = cli("retrain", "intents", "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 0, result.output
    # Then 20 random audit items are labeled, and 10 chosen items skipped: a warning.
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        root = users.get_user(session, username="root")
        unlabeled = list(
            session.execute(
                select(Item.id, Item.text)
                .where(~Item.id.in_(select(Annotation.item_id)))
                .order_by(Item.id)
            )
        )
        begin_write(session)
        audit = [item_id for item_id, _ in unlabeled[:20]]
        session.execute(update(Item).where(Item.id.in_(audit)).values(is_audit=True))
        session.commit()
        for item_id, text in unlabeled[:20]:
            queue.submit_annotation(
                session, project_id=1, annotator=root, item_id=item_id, value=text.split()[1]
            )
        for item_id, _ in unlabeled[20:]:
            queue.skip_item(session, project_id=1, annotator=root, item_id=item_id)
    engine.dispose()
    result = cli("status", "intents")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # The version was trained before any audit label: its estimate says what it lacks.
    assert (
        "Is active learning helping? Not enough random audit labels to say yet: 0 so far, "
        "40 more needed."
    ) in lines
    [warning] = [line for line in lines if line.startswith("Warning: ")]
    assert warning.startswith(
        "Warning: Active learning may be chasing unlabelable or out-of-scope items: 29% of "
        "decisions on actively chosen items are skips or flags, against 0% on random audit"
    )
