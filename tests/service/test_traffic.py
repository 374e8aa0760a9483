"""Traffic ingest: per-message errors, idempotency on external ids, counting repeats."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from labelwise.service import importing, projects, traffic, users
from labelwise.service.errors import NotFoundError, ValidationError
from labelwise.store import Item, TrafficMessage, TrafficStat


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="correct horse battery")


@pytest.fixture
def project(session, owner):
    return projects.create_project(
        session, name="bot", labels=["balance", "transfer", "oos"], owner=owner
    )


def _stats(session, project_id):
    rows = session.execute(
        select(Item.text, Item.position, TrafficStat.count)
        .join(TrafficStat, TrafficStat.item_id == Item.id)
        .where(Item.project_id == project_id)
        .order_by(Item.position)
    ).all()
    return [tuple(row) for row in rows]


def test_new_texts_become_items_and_repeats_count(session, project):
    report = traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[
            {"text": "what is my balance", "prediction": "balance", "confidence": 0.91},
            {"text": "send 5 dollars to bob", "channel": "web", "conversation_id": " "},
            {"text": "What is   my BALANCE", "channel": ""},  # same text after normalisation
        ],
    )
    assert (report.accepted, report.duplicate, report.rejected) == (3, 0, 0)
    assert (report.new_items, report.repeats) == (2, 1)
    assert _stats(session, project.id) == [
        ("what is my balance", 0, 2),
        ("send 5 dollars to bob", 1, 1),
    ]
    again = traffic.ingest_traffic(
        session, project_id=project.id, messages=[{"text": "send 5 dollars to bob"}]
    )
    assert (again.new_items, again.repeats) == (0, 1)
    assert _stats(session, project.id)[1] == ("send 5 dollars to bob", 1, 2)
    stored = session.scalars(select(TrafficMessage).order_by(TrafficMessage.id)).all()
    assert [m.predicted for m in stored] == ["balance", None, None, None]
    assert stored[0].confidence == pytest.approx(0.91)
    assert stored[1].channel == "web" and stored[1].conversation_id is None
    assert stored[2].channel == ""


def test_an_external_id_is_ingested_once(session, project):
    batch = [
        {"text": "hi", "external_id": "m-1"},
        {"text": "hi", "external_id": "m-1"},  # repeated inside the batch
        {"text": "hello", "external_id": 7},
    ]
    first = traffic.ingest_traffic(session, project_id=project.id, messages=batch)
    assert (first.accepted, first.duplicate) == (2, 1)
    retried = traffic.ingest_traffic(session, project_id=project.id, messages=batch)
    assert (retried.accepted, retried.duplicate, retried.new_items) == (0, 3, 0)
    assert _stats(session, project.id) == [("hi", 0, 1), ("hello", 1, 1)]


def test_an_imported_text_repeated_by_traffic_gets_a_count_not_a_second_item(
    session, project, tmp_path
):
    path = tmp_path / "items.jsonl"
    path.write_text('{"text": "freeze my card"}\n', encoding="utf-8")
    importing.import_items(session, project_id=project.id, path=path)
    report = traffic.ingest_traffic(
        session, project_id=project.id, messages=[{"text": "Freeze my card"}] * 3
    )
    assert (report.new_items, report.repeats) == (0, 3)
    assert _stats(session, project.id) == [("freeze my card", 0, 3)]


@pytest.mark.parametrize(
    ("message", "field", "reason"),
    [
        ({}, "text", "missing text"),
        ({"text": "  "}, "text", "empty text"),
        ({"text": 5}, "text", "must be a string"),
        ({"text": "a\x00b"}, "text", "NUL"),
        ("just a string", "(message)", "must be an object"),
        ({"text": "x", "txt": "y"}, "txt", "unknown field"),
        ({"text": "x", "confidence": 1.5}, "confidence", "from 0 to 1"),
        ({"text": "x", "confidence": "high"}, "confidence", "got str"),
        ({"text": "x", "timestamp": "yesterday"}, "timestamp", "ISO 8601"),
        ({"text": "x", "timestamp": True}, "timestamp", "boolean"),
        ({"text": "x", "external_id": ""}, "external_id", "blank"),
        ({"text": "x", "external_id": "e" * 201}, "external_id", "limit is 200"),
        ({"text": "x", "external_id": 1.5}, "external_id", "string or an integer"),
        ({"text": "x", "prediction": 3}, "prediction", "label name"),
        ({"text": "x", "metadata": [1]}, "metadata", "must be an object"),
        ({"text": "x", "channel": "c" * 101}, "channel", "limit is 100"),
    ],
)
def test_a_bad_message_is_refused_by_index_and_field_and_the_rest_stored(
    session, project, message, field, reason
):
    report = traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[{"text": "good one"}, message, {"text": "good two"}],
    )
    assert (report.accepted, report.rejected) == (2, 1)
    (error,) = report.errors
    assert (error.index, error.field) == (1, field)
    assert reason in error.message
    assert str(error).startswith(f"messages[1].{field}: ")
    assert session.scalar(select(func.count()).select_from(Item)) == 2


def test_timestamps_set_first_and_last_seen(session, project):
    traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[
            {"text": "hi", "timestamp": "2026-12-01T10:00:00Z"},
            {"text": "hi", "timestamp": 1764583200},  # 2025-12-01T10:00:00Z: earlier
            {"text": "hi", "timestamp": "2026-12-02T10:00:00"},  # no offset: UTC
        ],
        received_at=datetime(2026, 12, 3, tzinfo=UTC),
    )
    stat = session.scalars(select(TrafficStat)).one()
    assert stat.count == 3
    assert stat.first_seen_at.replace(tzinfo=UTC) == datetime(2025, 12, 1, 10, tzinfo=UTC)
    assert stat.last_seen_at.replace(tzinfo=UTC) == datetime(2026, 12, 2, 10, tzinfo=UTC)


def test_batch_limits_and_unknown_project(session, project):
    with pytest.raises(ValidationError, match="at most 10,000"):
        traffic.ingest_traffic(
            session, project_id=project.id, messages=[{"text": "x"}] * (traffic.MAX_BATCH + 1)
        )
    with pytest.raises(NotFoundError):
        traffic.ingest_traffic(session, project_id=project.id + 99, messages=[{"text": "x"}])


def test_a_full_batch_of_new_and_repeated_texts(session, project):
    messages = [{"text": f"message {i % 2500}", "external_id": f"id-{i}"} for i in range(10_000)]
    report = traffic.ingest_traffic(session, project_id=project.id, messages=messages)
    assert (report.accepted, report.new_items, report.repeats) == (10_000, 2_500, 7_500)
    assert session.scalar(select(func.sum(TrafficStat.count))) == 10_000
    positions = session.scalars(select(Item.position).order_by(Item.position)).all()
    assert positions == list(range(2_500))


def test_concurrent_ingest_loses_and_doubles_nothing(session_factory, session, project):
    # 20 clients, each sending its own messages plus a shared set of ids and texts twice
    # (a retry): every text's count must equal the distinct messages that carried it.
    n_clients, per_client = 20, 30
    errors: list[BaseException] = []

    def client(k: int) -> None:
        batch = [
            {"text": f"shared {j}", "external_id": f"c{k}-s{j}"} for j in range(per_client)
        ] + [{"text": "common", "external_id": f"common-{j}"} for j in range(10)]
        try:
            for _ in range(2):  # the retry repeats every id
                with session_factory() as own:
                    traffic.ingest_traffic(own, project_id=project.id, messages=batch)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    counts = dict(
        session.execute(
            select(Item.text, TrafficStat.count).join(TrafficStat, TrafficStat.item_id == Item.id)
        ).all()
    )
    assert counts["common"] == 10
    assert all(counts[f"shared {j}"] == n_clients for j in range(per_client))
    assert (
        session.scalar(select(func.count()).select_from(TrafficMessage))
        == n_clients * (per_client) + 10
    )
    positions = session.scalars(select(Item.position).order_by(Item.position)).all()
    assert positions == list(range(per_client + 1))


def test_the_summary_counts_days_coverage_and_the_most_asked(session, project):
    day1 = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    day2 = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)
    traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[
            {"text": "balance", "confidence": 0.9},
            {"text": "balance", "confidence": 0.5},
            {"text": "transfer"},
        ],
        received_at=day1,
    )
    traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[{"text": "balance", "confidence": 0.95}],
        received_at=day2,
    )
    summary = traffic.summarize_traffic(
        session, project_id=project.id, now=datetime(2026, 12, 3, tzinfo=UTC)
    )
    assert (summary.messages, summary.texts) == (4, 2)
    assert summary.repeat_share == pytest.approx(0.5)
    assert summary.per_day == [("2026-12-01", 3), ("2026-12-02", 1)]
    assert summary.coverage == pytest.approx(2 / 3)
    assert (summary.groups, summary.ungrouped) == (0, 2)
    assert [(a.text, a.count, a.labeled) for a in summary.most_asked] == [
        ("balance", 3, False),
        ("transfer", 1, False),
    ]
    assert summary.most_asked[0].last_seen_at == day2


def test_live_traffic_joins_the_audit_sample_at_the_audit_fraction():
    hashes = [importing.content_hash(f"message {i}") for i in range(4000)]
    share = sum(traffic.in_live_audit(h, 0.1) for h in hashes) / len(hashes)
    assert 0.085 < share < 0.115
    assert not any(traffic.in_live_audit(h, 0.0) for h in hashes)
    # The same text, the same decision: a retried batch cannot move an item in or out.
    assert [traffic.in_live_audit(h, 0.1) for h in hashes[:50]] == [
        traffic.in_live_audit(h, 0.1) for h in hashes[:50]
    ]


def test_ingested_texts_are_audited_by_their_hash_and_the_pool_is_still_sampled(session, owner):
    from labelwise.service.serving.sources import _designate_audit_sample

    project = projects.create_project(
        session, name="audited", labels=["a", "b"], owner=owner, settings={"audit_fraction": 0.5}
    )
    texts = [f"question number {i}" for i in range(200)]
    traffic.ingest_traffic(session, project_id=project.id, messages=[{"text": t} for t in texts])
    audited = {
        text
        for text, flag in session.execute(
            select(Item.text, Item.is_audit).where(Item.project_id == project.id)
        )
        if flag
    }
    assert audited == {t for t in texts if traffic.in_live_audit(importing.content_hash(t), 0.5)}
    # Traffic's own audit items do not stand for the pool's sample: it is still drawn once.
    import random

    from labelwise.service.transactions import begin_write

    before = len(audited)
    begin_write(session)
    _designate_audit_sample(session, project, 0.5, random.Random(0))
    session.commit()
    after = session.scalar(
        select(func.count()).where(Item.project_id == project.id, Item.is_audit.is_(True))
    )
    assert after > before
    begin_write(session)
    _designate_audit_sample(session, project, 0.5, random.Random(1))
    session.commit()
    assert (
        session.scalar(
            select(func.count()).where(Item.project_id == project.id, Item.is_audit.is_(True))
        )
        == after
    )
