"""Projects, their members and their progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelwise.exceptions import InvalidLabelError
from labelwise.service.errors import ConflictError, NotFoundError, ValidationError
from labelwise.service.events import record
from labelwise.service.project_settings import ProjectSettings
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import (
    Annotation,
    AnnotationKind,
    Item,
    Job,
    Membership,
    ModelVersion,
    Project,
    Role,
    TaskType,
    User,
)
from labelwise.tasks import Task, task_for


def parse_settings(raw: dict[str, Any] | None, task: str | None = None) -> ProjectSettings:
    """Validated settings; ValidationError names every bad key.

    With ``task`` (a project's kind) the strategy must be one that task ranks with (a
    sequence strategy for spans projects, whose default is MNLP).
    """
    try:
        context = None if task is None else {"task": str(task)}
        return ProjectSettings.model_validate(raw or {}, context=context)
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ValidationError(f"Invalid project settings: {problems}.") from None


def _check_label_settings(settings: ProjectSettings, labels: Sequence[str]) -> None:
    """Settings that name a label must name one of the project's."""
    name = settings.out_of_scope_label
    if name is not None and name not in labels:
        raise ValidationError(
            f"Invalid project settings: out_of_scope_label: {name!r} is not a label of "
            f"this project (labels: {', '.join(labels)})."
        )


_WORDS = {2: "two", 3: "three"}


def task_of(project: Project) -> Task:
    """The project's task: what its labels are and how its label values behave.

    The only reader of ``projects.labels`` / ``projects.entity_types`` as a task: a
    ``spans`` project keeps its entity types in ``labels`` (mirrored in
    ``entity_types``), an ``intents_entities`` project its intents in ``labels`` and its
    entity types in ``entity_types``.
    """
    return task_for(project.task, project.labels, project.entity_types or [])


def check_label(project: Project, value: Any, *, text: str | None = None) -> Any:
    """A label value sent for ``project`` in stored form; ValidationError names the problem."""
    try:
        return task_of(project).validate(value, text=text)
    except InvalidLabelError as exc:
        raise ValidationError(str(exc)) from None


def create_project(
    session: Session,
    *,
    name: str,
    labels: Sequence[str],
    owner: User,
    task: TaskType = TaskType.SINGLE_LABEL,
    settings: dict[str, Any] | None = None,
    guidelines: str = "",
    entity_types: Sequence[str] = (),
) -> Project:
    """A new project with ``owner`` as its admin.

    ``labels`` are the label names (the intents of an ``intents_entities`` project, the
    entity types of a ``spans`` project); ``entity_types`` the entity types of an
    ``intents_entities`` project. A ``spans`` project may give its types in either (not
    both, unless equal); they are stored in ``labels`` and mirrored in ``entity_types``.
    """
    task = TaskType(task)
    name = name.strip()
    if not name:
        raise ValidationError("A project name may not be empty.")
    clean = _names(labels, "Label names")
    types = _names(entity_types, "Entity types")
    if task is TaskType.SPANS:
        if clean and types and clean != types:
            raise ValidationError(
                "A spans project's labels are its entity types; give them once "
                f"(labels {clean}, entity types {types})."
            )
        clean = types = clean or types
        if not clean:
            raise ValidationError("A spans project needs at least one entity type.")
    elif task is TaskType.INTENTS_ENTITIES:
        if not types:
            raise ValidationError("An intents-and-entities project needs at least one entity type.")
    elif types:
        raise ValidationError(
            f"Only span projects have entity types; a {task.value.replace('_', '-')} "
            f"project got {types}."
        )
    if task in (TaskType.SPANS, TaskType.INTENTS_ENTITIES):
        spaced = [t for t in types if any(ch.isspace() for ch in t)]
        if spaced:
            raise ValidationError(
                f"Entity types may not contain spaces (BIO tags are 'B-<type>'): {spaced}."
            )
    if not clean:
        raise ValidationError("A project needs at least one label.")
    fewest = task_for(task).fewest_labels
    if len(clean) < fewest:
        noun = "intents" if task is TaskType.INTENTS_ENTITIES else "labels"
        kind = task.value.replace("_", "-")
        raise ValidationError(
            f"{'An' if kind[0] in 'aeiou' else 'A'} {kind} project needs at least "
            f"{_WORDS.get(fewest, str(fewest))} {noun}, got "
            f"{clean}; add the alternative (for example 'other')."
        )
    checked = parse_settings(settings, task)
    _check_label_settings(checked, clean)
    begin_write(session)  # after the checks: a refused request never waits for the lock
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise ConflictError(f"A project named {name!r} already exists.")
    project = Project(
        name=name,
        task=task,
        labels=clean,
        entity_types=types,
        settings=checked.model_dump(),
        guidelines=guidelines,
    )
    session.add(project)
    session.flush()
    session.add(Membership(project_id=project.id, user_id=owner.id, role=Role.ADMIN))
    record(session, "project_created", project_id=project.id, user_id=owner.id, name=name)
    session.commit()
    return project


def _names(names: Sequence[str], what: str) -> list[str]:
    """Names stripped of surrounding spaces; empty or repeated names are refused."""
    clean = [str(name).strip() for name in names]
    if any(not name for name in clean):
        raise ValidationError(f"{what} may not be empty.")
    if len(set(clean)) != len(clean):
        raise ValidationError(f"{what} must be distinct.")
    return clean


def get_project(session: Session, *, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    return project


def find_project(session: Session, *, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFoundError(f"No project named {name!r}.")
    return project


def list_projects(session: Session, *, user: User) -> list[Project]:
    """Projects the user belongs to (all of them for a site admin), by id."""
    query = select(Project).order_by(Project.id)
    if not user.is_admin:
        query = query.join(Membership, Membership.project_id == Project.id).where(
            Membership.user_id == user.id
        )
    return list(session.scalars(query))


def update_settings(session: Session, *, project_id: int, changes: dict[str, Any]) -> Project:
    """Merge ``changes`` into the project's settings, validated as a whole."""
    begin_write(session)
    project = get_project(session, project_id=project_id)
    checked = parse_settings({**project.settings, **changes}, project.task)
    _check_label_settings(checked, project.labels)
    project.settings = checked.model_dump()
    record(session, "settings_changed", project_id=project_id, changes=changes)
    session.commit()
    return project


def update_guidelines(session: Session, *, project_id: int, guidelines: str) -> Project:
    """Replace the guidelines annotators read beside each item (plain text)."""
    begin_write(session)
    project = get_project(session, project_id=project_id)
    project.guidelines = guidelines
    record(session, "guidelines_changed", project_id=project_id, length=len(guidelines))
    session.commit()
    return project


@dataclass(frozen=True)
class Member:
    user_id: int
    username: str
    role: Role


def list_members(session: Session, *, project_id: int) -> list[Member]:
    """The project's members by username (site admins not listed unless added)."""
    get_project(session, project_id=project_id)
    rows = session.execute(
        select(User.id, User.username, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id)
        .order_by(User.username)
    ).all()
    end_read(session)
    return [Member(user_id=uid, username=name, role=role) for uid, name, role in rows]


def add_member(
    session: Session, *, project_id: int, user: User, role: Role = Role.ANNOTATOR
) -> Membership:
    """Give ``user`` a role in the project (updating an existing membership)."""
    begin_write(session)
    get_project(session, project_id=project_id)
    membership = session.scalar(
        select(Membership).where(Membership.project_id == project_id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(project_id=project_id, user_id=user.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    record(session, "member_added", project_id=project_id, user_id=user.id, role=str(role))
    session.commit()
    return membership


@dataclass(frozen=True)
class ProjectStatus:
    """Counts for the status command and the dashboard.

    ``items`` counts the pool to label; the held-out evaluation set is counted apart in
    ``evaluation_items`` (it is never served).
    """

    project_id: int
    name: str
    items: int
    evaluation_items: int
    labeled_items: int
    annotations: int
    skipped: int
    flagged: int
    model_version: int | None
    jobs: dict[str, int]


def project_status(session: Session, *, project_id: int) -> ProjectStatus:
    project = get_project(session, project_id=project_id)
    by_role = dict(
        session.execute(
            select(Item.is_evaluation, func.count())
            .where(Item.project_id == project_id)
            .group_by(Item.is_evaluation)
        ).all()
    )
    items, evaluation_items = by_role.get(False, 0), by_role.get(True, 0)
    live = (Annotation.project_id == project_id) & Annotation.undone_at.is_(None)
    by_kind = dict(
        session.execute(
            select(Annotation.kind, func.count()).where(live).group_by(Annotation.kind)
        ).all()
    )
    labeled_items = (
        session.scalar(
            select(func.count(func.distinct(Annotation.item_id))).where(
                live & (Annotation.kind == AnnotationKind.LABEL)
            )
        )
        or 0
    )
    version = session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project_id)
    )
    jobs = dict(
        session.execute(
            select(Job.status, func.count())
            .where(Job.project_id == project_id)
            .group_by(Job.status)
        ).all()
    )
    end_read(session)
    return ProjectStatus(
        project_id=project.id,
        name=project.name,
        items=items,
        evaluation_items=evaluation_items,
        labeled_items=labeled_items,
        annotations=by_kind.get(AnnotationKind.LABEL, 0),
        skipped=by_kind.get(AnnotationKind.SKIP, 0),
        flagged=by_kind.get(AnnotationKind.FLAG, 0),
        model_version=version,
        jobs={str(k): v for k, v in jobs.items()},
    )
