"""jobs that say what they do and how far they got, one queued retrain per project,
case-insensitive usernames, resolvable flags

- ``jobs.status`` admits ``skipped`` (a retrain with too few trainable labels is neither
  done nor failed); ``jobs.payload`` holds what a job was asked to do (an import's file
  and options) and ``jobs.progress`` how far it got and what it produced.
- A partial unique index allows at most one *queued* retrain per project, so concurrent
  submits cannot queue duplicate full retrains. Duplicates already queued are marked
  skipped first.
- ``users.username_key`` (the lower-cased username) is unique: ``Admin`` beside
  ``admin`` is refused. An existing database holding such a pair stops the upgrade with a
  message naming them.
- A flag can be resolved (``resolved_at``, ``resolved_by_id``, ``resolution``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OLD_STATUSES = ("queued", "running", "done", "failed")
_NEW_STATUSES = (*_OLD_STATUSES, "skipped")
_ONE_QUEUED = sa.text("status = 'queued' AND kind = 'retrain'")


def _status_enum(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name="jobstatus", native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    bind = op.get_bind()
    # The same fold as labelwise.store.models.username_key, done here in Python: SQLite's
    # lower() knows ASCII only.
    keys: dict[str, list[str]] = {}
    users = bind.execute(sa.text("SELECT id, username FROM users")).all()
    for row in users:
        keys.setdefault(row.username.casefold(), []).append(row.username)
    clashes = [names for names in keys.values() if len(names) > 1]
    if clashes:
        listed = "; ".join(", ".join(repr(n) for n in names) for names in clashes)
        raise RuntimeError(
            "Usernames are now case-insensitive, and these accounts differ only in case: "
            f"{listed}. Rename or delete all but one of each, then upgrade again."
        )
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column(
            "status",
            existing_type=_status_enum(_OLD_STATUSES),
            type_=_status_enum(_NEW_STATUSES),
            existing_nullable=False,
        )
        batch.add_column(
            sa.Column("payload", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
        batch.add_column(
            sa.Column("progress", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )
    # Keep the oldest queued retrain of each project; the others would repeat its work.
    bind.execute(
        sa.text(
            "UPDATE jobs SET status = 'skipped', error = 'duplicate of an earlier queued retrain' "
            "WHERE status = 'queued' AND kind = 'retrain' AND id NOT IN ("
            "SELECT min(id) FROM jobs WHERE status = 'queued' AND kind = 'retrain' "
            "GROUP BY project_id)"
        )
    )
    op.create_index(
        "uq_jobs_one_queued_retrain",
        "jobs",
        ["project_id"],
        unique=True,
        sqlite_where=_ONE_QUEUED,
        postgresql_where=_ONE_QUEUED,
    )

    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("username_key", sa.String(length=100), nullable=True))
    for row in users:
        bind.execute(
            sa.text("UPDATE users SET username_key = :key WHERE id = :id"),
            {"key": row.username.casefold(), "id": row.id},
        )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("username_key", existing_type=sa.String(length=100), nullable=False)
        batch.create_unique_constraint("uq_users_username_key", ["username_key"])

    with op.batch_alter_table("annotations") as batch:
        batch.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resolved_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolution", sa.String(length=32), nullable=True))
        batch.create_foreign_key(
            "fk_annotations_resolved_by_id_users",
            "users",
            ["resolved_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("annotations") as batch:
        batch.drop_constraint("fk_annotations_resolved_by_id_users", type_="foreignkey")
        batch.drop_column("resolution")
        batch.drop_column("resolved_by_id")
        batch.drop_column("resolved_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_username_key", type_="unique")
        batch.drop_column("username_key")
    op.drop_index("uq_jobs_one_queued_retrain", table_name="jobs")
    op.execute("UPDATE jobs SET status = 'done' WHERE status = 'skipped'")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("progress")
        batch.drop_column("payload")
        batch.alter_column(
            "status",
            existing_type=_status_enum(_NEW_STATUSES),
            type_=_status_enum(_OLD_STATUSES),
            existing_nullable=False,
        )
