"""span tasks: projects with intents and entities, and their entity types

- ``projects.task`` admits ``intents_entities`` (one intent per text plus entity spans).
- ``projects.entity_types`` (JSON list, default ``[]``) holds the entity types of an
  ``intents_entities`` project, whose ``labels`` are its intents; a ``spans`` project
  keeps its types in ``labels`` and mirrors them here.

The task column is a string with a CHECK constraint (portable to SQLite), so the new
value means replacing the constraint: batch mode rebuilds the table on SQLite and alters
it in place on PostgreSQL. A downgrade refuses while an ``intents_entities`` project
exists (the old schema cannot hold it) and names them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_OLD_TASKS = ("single_label", "multi_label", "spans")
_NEW_TASKS = (*_OLD_TASKS, "intents_entities")


def _task_enum(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="tasktype", native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.alter_column(
            "task",
            existing_type=_task_enum(_OLD_TASKS),
            type_=_task_enum(_NEW_TASKS),
            existing_nullable=False,
        )
        batch.add_column(
            sa.Column("entity_types", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    # Spans projects mirror their types (labels) in the new column.
    op.execute("UPDATE projects SET entity_types = labels WHERE task = 'spans'")


def downgrade() -> None:
    bind = op.get_bind()
    names = bind.execute(
        sa.text("SELECT name FROM projects WHERE task = 'intents_entities' ORDER BY id")
    ).scalars()
    found = list(names)
    if found:
        raise RuntimeError(
            "These projects are intents-and-entities projects, which the older schema cannot "
            f"hold: {', '.join(repr(n) for n in found)}. Delete them (after exporting their "
            "labels), then downgrade again."
        )
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("entity_types")
        batch.alter_column(
            "task",
            existing_type=_task_enum(_NEW_TASKS),
            type_=_task_enum(_OLD_TASKS),
            existing_nullable=False,
        )
