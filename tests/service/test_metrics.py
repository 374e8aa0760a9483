from __future__ import annotations

import pytest

from labelwise.service import metrics, projects, queue
from tests.service.pool_factory import make_project, make_user


def test_agreement_counts_items_two_people_labeled(session):
    owner = make_user(session, "owner")
    project, truth = make_project(session, owner, settings={"overlap": 2})
    other = make_user(session, "other")
    projects.add_member(session, project_id=project.id, user=other)
    assert metrics.project_metrics(session, project_id=project.id).agreement is None
    for disagree in (False, False, False, True):
        a = queue.lease_next(session, project_id=project.id, annotator=owner)
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=owner,
            item_id=a.item_id,
            value=truth[a.item_id],
        )
        label = "weather" if truth[a.item_id] != "weather" else "bye"
        queue.submit_annotation(
            session,
            project_id=project.id,
            annotator=other,
            item_id=a.item_id,
            value=label if disagree else truth[a.item_id],
        )
    result = metrics.project_metrics(session, project_id=project.id).agreement
    assert result is not None and result.items == 4
    assert result.pairwise == pytest.approx(0.75)
