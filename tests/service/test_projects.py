from __future__ import annotations

import pytest

from labelwise.recipes import DEFAULT_SPAN_FEATURES
from labelwise.recipes.classification import DEFAULT_FEATURES
from labelwise.service import demo, importing, policies, project_settings, projects, queue, users
from labelwise.service.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from labelwise.service.project_settings import (
    DEFAULT_AUDIT_FRACTION,
    DEFAULT_RETRAIN_EVERY,
    MAX_LEASE_SECONDS,
)
from labelwise.store import Role, TaskType


@pytest.fixture
def owner(session):
    return users.create_user(session, username="owner", password="owner-password")


@pytest.mark.parametrize("task", [TaskType.MULTI_LABEL, TaskType.SPANS])
def test_one_tag_or_one_entity_type_is_a_real_task(session, owner, task):
    project = projects.create_project(
        session, name=f"one-{task.value}", labels=["PER"], owner=owner, task=task
    )
    assert project.labels == ["PER"]


def test_create_project_makes_the_owner_admin(session, owner):
    project = projects.create_project(session, name="intents", labels=["a", "b"], owner=owner)
    assert project.settings["strategy"] == "margin"
    assert policies.project_role(session, project_id=project.id, user=owner) is Role.ADMIN


@pytest.mark.parametrize(
    ("labels", "settings", "message"),
    [
        ([], None, "at least one label"),
        (["a"], None, "at least two labels"),
        (["a", " "], None, "may not be empty"),
        (["a", "a"], None, "distinct"),
        (["a", "b"], {"strategy": "psychic"}, "unknown strategy"),
        (["a", "b"], {"retrain_every": 0}, "retrain_every"),
        (["a", "b"], {"no_such_knob": 1}, "no_such_knob"),
        # Every number has an upper bound (a 10**12-second lease made ``next`` fail).
        (["a", "b"], {"lease_seconds": 10**12}, "lease_seconds"),
        (["a", "b"], {"retrain_every": 10**9}, "retrain_every"),
        (["a", "b"], {"min_labels": 10**9}, "min_labels"),
        (["a", "b"], {"queue_size": 10**9}, "queue_size"),
        (["a", "b"], {"overlap": 11}, "overlap"),
        (["a", "b"], {"audit_fraction": 0.9}, "audit_fraction"),
        (["a", "b"], {"regularization": float("inf")}, "regularization"),
        (["a", "b"], {"out_of_scope_label": "oos"}, "'oos' is not a label of this project"),
        (["a", "b"], {"weak_label_weight": -0.1}, "weak_label_weight"),
        (["a", "b"], {"weak_label_weight": 1.5}, "weak_label_weight"),
        (["a", "b"], {"weak_label_weight": float("nan")}, "weak_label_weight"),
        (["a", "b"], {"weak_label_weight": "half"}, "weak_label_weight"),
        (["a", "b"], {"full_rescore_every": 0}, "full_rescore_every"),
        (["a", "b"], {"full_rescore_every": 10**6}, "full_rescore_every"),
        # Candidates are neighbours in the sentence embeddings, which TF-IDF has none of.
        (
            ["a", "b"],
            {"full_rescore_every": 5, "features": "tfidf"},
            "full_rescore_every above 1 .* set features to minilm or minilm\\+tfidf",
        ),
    ],
)
def test_bad_projects_are_refused_with_the_reason(session, owner, labels, settings, message):
    with pytest.raises(ValidationError, match=message):
        projects.create_project(session, name="p", labels=labels, owner=owner, settings=settings)


def test_duplicate_project_name_conflicts(session, owner):
    projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    with pytest.raises(ConflictError):
        projects.create_project(session, name="p", labels=["a", "b"], owner=owner)


def test_outsiders_do_not_see_a_project_and_annotators_are_not_admins(session, owner):
    project = projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    outsider = users.create_user(session, username="out", password="outsider-pw")
    annotator = users.create_user(session, username="ann", password="annotator-pw")
    projects.add_member(session, project_id=project.id, user=annotator)
    with pytest.raises(NotFoundError):
        policies.require_member(session, project_id=project.id, user=outsider)
    assert projects.list_projects(session, user=outsider) == []
    assert [p.id for p in projects.list_projects(session, user=annotator)] == [project.id]
    with pytest.raises(PermissionDeniedError):
        policies.require_project_admin(session, project_id=project.id, user=annotator)


def test_update_settings_validates_the_merged_settings(session, owner):
    project = projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    projects.update_settings(session, project_id=project.id, changes={"retrain_every": 5})
    assert project.settings["retrain_every"] == 5
    with pytest.raises(ValidationError):
        projects.update_settings(session, project_id=project.id, changes={"overlap": 0})
    # A setting that names a label must name one of the project's; nothing is changed.
    with pytest.raises(ValidationError, match=r"out_of_scope_label: 'c' is not a label.*a, b"):
        projects.update_settings(
            session, project_id=project.id, changes={"out_of_scope_label": "c", "queue_size": 7}
        )
    session.rollback()
    session.expire_all()
    assert project.settings.get("out_of_scope_label") is None
    assert project.settings["queue_size"] != 7
    projects.update_settings(session, project_id=project.id, changes={"out_of_scope_label": "b"})
    assert project.settings["out_of_scope_label"] == "b"


def test_weak_label_weight_is_off_by_default_and_needs_labeling_functions(session, owner):
    project = projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    assert project.settings["weak_label_weight"] == 0.0
    projects.update_settings(session, project_id=project.id, changes={"weak_label_weight": 0.5})
    assert project.settings["weak_label_weight"] == 0.5
    # Only a task that takes labeling functions has weak labels to train on.
    tags = projects.create_project(
        session, name="tags", labels=["a", "b"], owner=owner, task=TaskType.MULTI_LABEL
    )
    with pytest.raises(ValidationError, match="weak_label_weight: .*multi-label project"):
        projects.update_settings(session, project_id=tags.id, changes={"weak_label_weight": 0.5})
    session.rollback()
    with pytest.raises(ValidationError, match="weak_label_weight: .*spans project"):
        projects.create_project(
            session,
            name="spans",
            labels=["PER"],
            owner=owner,
            task=TaskType.SPANS,
            settings={"weak_label_weight": 0.2},
        )
    projects.update_settings(session, project_id=tags.id, changes={"weak_label_weight": 0})


def test_weak_label_weight_by_cv_needs_a_weight_to_choose(session, owner):
    project = projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    assert project.settings["weak_label_weight_by_cv"] is False
    with pytest.raises(ValidationError, match="weak_label_weight_by_cv chooses .* above 0 first"):
        projects.update_settings(
            session, project_id=project.id, changes={"weak_label_weight_by_cv": True}
        )
    session.rollback()
    projects.update_settings(
        session,
        project_id=project.id,
        changes={"weak_label_weight": 0.5, "weak_label_weight_by_cv": True},
    )
    assert project.settings["weak_label_weight_by_cv"] is True


def test_weak_labels_from_model_and_rules_needs_a_weight_and_no_cross_validation(session, owner):
    project = projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    assert project.settings["weak_labels_from"] == "rules"
    with pytest.raises(ValidationError, match="'model_and_rules' .* weak_label_weight above 0"):
        projects.update_settings(
            session, project_id=project.id, changes={"weak_labels_from": "model_and_rules"}
        )
    session.rollback()
    with pytest.raises(ValidationError, match="leave it false"):
        projects.update_settings(
            session,
            project_id=project.id,
            changes={
                "weak_label_weight": 0.5,
                "weak_label_weight_by_cv": True,
                "weak_labels_from": "model_and_rules",
            },
        )
    session.rollback()
    with pytest.raises(ValidationError, match="weak_labels_from"):
        projects.update_settings(
            session, project_id=project.id, changes={"weak_labels_from": "people"}
        )
    session.rollback()
    projects.update_settings(
        session,
        project_id=project.id,
        changes={"weak_label_weight": 0.5, "weak_labels_from": "model_and_rules"},
    )
    assert project.settings["weak_labels_from"] == "model_and_rules"


def test_new_projects_and_the_demo_share_one_default_cadence_and_audit_share(session, owner):
    project = projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    assert project.settings["retrain_every"] == DEFAULT_RETRAIN_EVERY == 20
    assert project.settings["audit_fraction"] == DEFAULT_AUDIT_FRACTION == 0.1
    demo_project = demo.create_demo_project(session, owner=owner)
    assert demo_project.settings["retrain_every"] == DEFAULT_RETRAIN_EVERY
    assert demo_project.settings["audit_fraction"] == DEFAULT_AUDIT_FRACTION


@pytest.mark.parametrize(
    ("task", "features"),
    [
        (TaskType.SINGLE_LABEL, DEFAULT_FEATURES),
        (TaskType.MULTI_LABEL, DEFAULT_FEATURES),
        (TaskType.INTENTS_ENTITIES, DEFAULT_FEATURES),
        (TaskType.SPANS, DEFAULT_SPAN_FEATURES),
    ],
)
def test_new_projects_train_on_the_recipes_features(session, owner, task, features):
    """The server trains what ``labelwise simulate`` measured: MiniLM beside TF-IDF."""
    assert (DEFAULT_FEATURES, DEFAULT_SPAN_FEATURES) == ("minilm+tfidf", "tfidf")
    # An intents+entities project's labels are intents, and it names its entity types.
    kinds = {"task": task, "entity_types": ["city"] if task is TaskType.INTENTS_ENTITIES else ()}
    project = projects.create_project(
        session, name=f"p-{task.value}", labels=["a", "b"], owner=owner, **kinds
    )
    assert project.settings["features"] == features
    # A choice is kept, and a settings change leaves the stored features alone.
    chosen = projects.create_project(
        session,
        name=f"tfidf-{task.value}",
        labels=["a", "b"],
        owner=owner,
        **kinds,
        settings={"features": "tfidf"},
    )
    projects.update_settings(session, project_id=chosen.id, changes={"retrain_every": 5})
    assert chosen.settings["features"] == "tfidf"


def test_without_the_embeddings_extra_new_projects_train_on_tfidf(session, owner, monkeypatch):
    monkeypatch.setattr(project_settings, "sentence_embeddings_installed", lambda: False)
    project = projects.create_project(session, name="p", labels=["a", "b"], owner=owner)
    assert project.settings["features"] == "tfidf"


def test_settings_stored_without_features_read_back_as_the_old_default():
    """What migration 0013 writes into such projects; the recipe's default is for new ones."""
    stored = projects.parse_settings({"strategy": "margin"})
    assert stored.features == project_settings.STORED_FEATURES == "tfidf"


def test_the_demo_projects_train_on_the_recipes_features(session, owner):
    assert demo.create_demo_project(session, owner=owner).settings["features"] == DEFAULT_FEATURES
    spans_demo = demo.create_spans_demo_project(session, owner=owner)
    assert spans_demo.settings["features"] == DEFAULT_FEATURES  # its intent classifier's


def test_the_longest_lease_still_serves(session, owner, tmp_path):
    project = projects.create_project(
        session,
        name="p",
        labels=["a", "b"],
        owner=owner,
        settings={"lease_seconds": MAX_LEASE_SECONDS, "audit_fraction": 0.0},
    )
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"text": "hello"}\n', encoding="utf-8")
    importing.import_items(session, project_id=project.id, path=rows)
    served = queue.lease_next(session, project_id=project.id, annotator=owner)
    assert served is not None and served.text == "hello"
