"""The demo projects: CLINC150 intents, and SNIPS intents with entities."""

from __future__ import annotations

from sqlalchemy import select

from labelwise.service import demo, projects, training
from labelwise.store import Item, JobStatus, TaskType
from labelwise.tasks import IntentsAndEntities
from tests.service.pool_factory import make_user
from tests.service.span_factory import label_items


def test_the_spans_demo_is_an_intents_entities_project_of_the_snips_texts(
    session, session_factory, tmp_path
):
    owner = make_user(session, "owner")
    project = demo.create_spans_demo_project(session, owner=owner)
    assert demo.create_spans_demo_project(session, owner=owner).id == project.id  # once
    gold = demo.spans_gold()
    assert project.task is TaskType.INTENTS_ENTITIES
    assert project.labels == sorted({row["intent"] for row in gold}) and len(project.labels) == 7
    assert "artist" in project.entity_types and "timeRange" in project.entity_types
    items = session.execute(
        select(Item.id, Item.text, Item.reference_label)
        .where(Item.project_id == project.id)
        .order_by(Item.position)
    ).all()
    session.commit()
    assert [text for _, text, _ in items] == [row["text"] for row in gold]
    assert all(reference is None for _, _, reference in items)  # only the texts
    # Simulated labeling with the gold answers trains both models.
    task = IntentsAndEntities(project.labels, project.entity_types)
    truth = {
        item_id: task.validate({"intent": row["intent"], "spans": row["spans"]}, text=text)
        for (item_id, text, _), row in zip(items, gold, strict=True)
    }
    changes = {"features": "tfidf", "min_labels": 10}
    projects.update_settings(session, project_id=project.id, changes=changes)
    label_items(session, project, owner, truth, [i for i, _, _ in items[:30]])
    training.RetrainWorker(session_factory, data_dir=tmp_path).run_pending()
    jobs = training.list_jobs(session, project_id=project.id)
    assert jobs and all(job.status is JobStatus.DONE for job in jobs if job.kind == "retrain")
    latest = training.list_model_versions(session, project_id=project.id)[-1]
    assert latest.label_count == 30 and "eval_span_f1" not in latest.metrics  # no eval set
