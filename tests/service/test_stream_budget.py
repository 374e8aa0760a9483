"""The stream budget: traffic enters the queue by expected impact, within the budget."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from labelwise.service import (
    dashboard,
    projects,
    queue,
    stream_budget,
    traffic,
    traffic_groups,
    training,
    users,
)
from labelwise.service.errors import ValidationError
from labelwise.service.transactions import begin_write
from labelwise.store import Item, StreamBudget, StreamScore
from tests.service.word_embedder import WordEmbedder

DAY1 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


EMBED = WordEmbedder(256).transform
WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def _texts(n, tag):
    return [f"{tag} {WORDS[k % len(WORDS)]} {k} request {tag}{k}" for k in range(n)]


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="correct horse battery")


@pytest.fixture
def project(session, owner):
    return projects.create_project(
        session,
        name="bot",
        labels=["balance", "transfer"],
        owner=owner,
        settings={"audit_fraction": 0, "label_budget": 3, "budget_period": "day"},
    )


def _ingest_and_group(session, project_id, texts, when):
    traffic.ingest_traffic(
        session, project_id=project_id, messages=[{"text": t} for t in texts], received_at=when
    )
    settings = projects.parse_settings(
        projects.get_project(session, project_id=project_id).settings
    )
    traffic_groups.run_grouping(
        session, project_id=project_id, embed=EMBED, threshold=settings.near_duplicate_cosine
    )
    session.commit()


def _admitted(session, project_id):
    return session.scalars(
        select(Item.text)
        .join(StreamScore, StreamScore.item_id == Item.id)
        .where(StreamScore.project_id == project_id, StreamScore.admitted_at.is_not(None))
        .order_by(StreamScore.admitted_at, Item.position)
    ).all()


def _label_everything_served(session, project_id, annotator):
    served = []
    while (
        item := queue.lease_next(session, project_id=project_id, annotator=annotator)
    ) is not None:
        served.append(item)
        queue.submit_annotation(
            session,
            project_id=project_id,
            annotator=annotator,
            item_id=item.item_id,
            value="balance",
        )
    return served


def test_the_worker_admits_within_the_budget_and_only_admitted_traffic_is_served(
    session_factory, session, project, owner, tmp_path
):
    traffic.ingest_traffic(
        session, project_id=project.id, messages=[{"text": t} for t in _texts(12, "a")]
    )
    worker = training.RetrainWorker(
        session_factory, data_dir=tmp_path, embedder_factory=lambda: WordEmbedder(256)
    )
    assert worker.run_pending() == 1
    admitted = _admitted(session, project.id)
    assert 1 <= len(admitted) <= 3
    served = _label_everything_served(session, project.id, owner)
    assert [s.text for s in served] == admitted
    assert {s.source for s in served} == {"stream"}
    assert all("label budget" in s.why for s in served)
    # Nine traffic items were not admitted: none was served, from any source.
    assert session.scalar(select(func.count()).select_from(Item)) == 12


def test_without_a_budget_traffic_is_served_as_before(session, project, owner):
    projects.update_settings(session, project_id=project.id, changes={"label_budget": 0})
    _ingest_and_group(session, project.id, _texts(4, "b"), DAY1)
    progress = stream_budget.score_and_admit(session, project_id=project.id, embed=EMBED, now=DAY1)
    assert progress == {"offered": 0, "admitted": 0}
    served = _label_everything_served(session, project.id, owner)
    assert len(served) == 4 and {s.source for s in served} == {"random"}


def test_the_budget_holds_per_day_and_the_state_carries_over(session, project):
    per_day = {}
    for day in range(3):
        for hour in (0, 4, 8):  # three batches a day
            when = DAY1 + timedelta(days=day, hours=hour)
            _ingest_and_group(session, project.id, _texts(6, f"d{day}h{hour}"), when)
            stream_budget.score_and_admit(session, project_id=project.id, embed=EMBED, now=when)
            state = session.get(StreamBudget, project.id, populate_existing=True).state
            assert state["period"] == "day"
        per_day[day] = session.scalar(
            select(func.count()).where(
                StreamScore.admitted_at >= DAY1 + timedelta(days=day),
                StreamScore.admitted_at < DAY1 + timedelta(days=day + 1),
            )
        )
    assert all(1 <= n <= 3 for n in per_day.values()), per_day
    manager = session.get(StreamBudget, project.id).state["manager"]
    # Two finished days in the history; the third is the current period (18 offers).
    assert [row[1] for row in manager["history"]] == [18, 18]
    assert manager["offered"] == 18
    assert manager["admitted"] == per_day[2]


def test_a_repeat_offers_an_item_again_and_labeled_items_never(session, project, owner):
    projects.update_settings(session, project_id=project.id, changes={"label_budget": 1})
    _ingest_and_group(session, project.id, ["ask once", "ask twice", "ask thrice"], DAY1)
    first = stream_budget.score_and_admit(session, project_id=project.id, embed=EMBED, now=DAY1)
    assert first["offered"] == 3 and first["admitted"] == 1
    # Nothing changed: nothing is offered again.
    again = stream_budget.score_and_admit(session, project_id=project.id, embed=EMBED, now=DAY1)
    assert again["offered"] == 0
    (admitted,) = _admitted(session, project.id)
    waiting = sorted({"ask once", "ask twice", "ask thrice"} - {admitted})
    # One of the two others gets a label by hand (an import, say): never offered again.
    labeled_id = session.scalar(select(Item.id).where(Item.text == waiting[0]))
    queue.submit_annotation(
        session, project_id=project.id, annotator=owner, item_id=labeled_id, value="balance"
    )
    later = DAY1 + timedelta(hours=1)
    traffic.ingest_traffic(
        session,
        project_id=project.id,
        messages=[{"text": t} for t in ["ask once", "ask twice", "ask thrice"]],
        received_at=later,
    )
    offered = stream_budget.score_and_admit(session, project_id=project.id, embed=EMBED, now=later)
    # Only the one neither admitted nor labeled is offered again, at its new count.
    assert offered["offered"] == 1
    count = session.scalar(
        select(StreamScore.scored_count)
        .join(Item, Item.id == StreamScore.item_id)
        .where(Item.text == waiting[1])
    )
    assert count == 2


def test_a_batch_of_repeats_alone_has_the_worker_offer_grown_groups(
    session_factory, session, project, tmp_path
):
    projects.update_settings(session, project_id=project.id, changes={"label_budget": 1})
    worker = training.RetrainWorker(
        session_factory, data_dir=tmp_path, embedder_factory=lambda: WordEmbedder(256)
    )
    texts = ["ask once", "ask twice", "ask thrice"]
    traffic.ingest_traffic(session, project_id=project.id, messages=[{"text": t} for t in texts])
    assert worker.run_pending() == 1
    waiting = sorted(set(texts) - set(_admitted(session, project.id)))
    report = traffic.ingest_traffic(
        session, project_id=project.id, messages=[{"text": waiting[0]}] * 3
    )
    assert (report.new_items, report.repeats) == (0, 3)
    assert worker.run_pending() == 1  # queued by the repeats alone
    count = session.scalar(
        select(StreamScore.scored_count)
        .join(Item, Item.id == StreamScore.item_id)
        .where(Item.text == waiting[0])
        .execution_options(populate_existing=True)
    )
    assert count == 4
    # Without a budget, repeats alone queue nothing.
    projects.update_settings(session, project_id=project.id, changes={"label_budget": 0})
    traffic.ingest_traffic(session, project_id=project.id, messages=[{"text": waiting[1]}])
    assert worker.run_pending() == 0


def test_concurrent_ingest_and_scoring_never_admit_twice(session_factory, session, project):
    projects.update_settings(session, project_id=project.id, changes={"label_budget": 5})
    errors: list[BaseException] = []

    def client(k: int) -> None:
        try:
            with session_factory() as own:
                for j in range(3):
                    when = DAY1 + timedelta(minutes=j)
                    traffic.ingest_traffic(
                        own,
                        project_id=project.id,
                        messages=[{"text": t} for t in _texts(5, f"c{k}x{j}")],
                        received_at=when,
                    )
                    stream_budget.score_and_admit(own, project_id=project.id, embed=EMBED, now=when)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    # Ungrouped items are no leaders yet: group them all, then one last pass.
    _ingest_and_group(session, project.id, [], DAY1 + timedelta(minutes=5))
    stream_budget.score_and_admit(
        session, project_id=project.id, embed=EMBED, now=DAY1 + timedelta(minutes=5)
    )
    admitted = _admitted(session, project.id)
    assert 1 <= len(admitted) <= 5
    assert len(set(admitted)) == len(admitted)
    manager = session.get(StreamBudget, project.id, populate_existing=True).state["manager"]
    assert manager["admitted"] == len(admitted)


def test_concurrent_scoring_passes_spend_the_budget_once(session_factory, session, project):
    projects.update_settings(session, project_id=project.id, changes={"label_budget": 4})
    _ingest_and_group(session, project.id, _texts(40, "z"), DAY1)
    errors: list[BaseException] = []

    def scorer() -> None:
        try:
            with session_factory() as own:
                stream_budget.score_and_admit(own, project_id=project.id, embed=EMBED, now=DAY1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scorer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    admitted = _admitted(session, project.id)
    assert 1 <= len(admitted) <= 4
    manager = session.get(StreamBudget, project.id, populate_existing=True).state["manager"]
    assert manager["admitted"] == len(admitted)


def test_the_dashboard_shows_admitted_against_the_budget(session, project):
    _ingest_and_group(session, project.id, _texts(10, "p"), DAY1)
    stream_budget.score_and_admit(session, project_id=project.id, embed=EMBED, now=DAY1)
    data = dashboard.project_dashboard(session, project_id=project.id, now=DAY1)
    panel = data.stream_budget
    assert panel is not None
    assert (panel.budget, panel.period) == (3, "day")
    assert panel.admitted == len(_admitted(session, project.id)) == panel.waiting
    assert panel.threshold is not None and panel.threshold >= 0
    tomorrow = dashboard.project_dashboard(
        session, project_id=project.id, now=DAY1 + timedelta(days=1)
    )
    assert tomorrow.stream_budget.admitted == 0


def test_budget_settings_are_checked(session, project):
    with pytest.raises(ValidationError, match="budget_period"):
        projects.update_settings(session, project_id=project.id, changes={"budget_period": "month"})
    with pytest.raises(ValidationError, match="label_budget"):
        projects.update_settings(session, project_id=project.id, changes={"label_budget": -1})
    begin_write(session)
    session.rollback()
