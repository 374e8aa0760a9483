"""relabel suspects: human labels suspected wrong, and their reviews

- ``relabel_suspects``: per project, a suspected label (its item, annotation, annotator,
  given and suggested label, suspicion score and rank, the job that found it) and its
  review (status open / kept / changed, reviewer, the reviewer's annotation and label,
  when it was resolved).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relabel_suspects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("annotation_id", sa.Integer(), nullable=True),
        sa.Column("annotator_id", sa.Integer(), nullable=True),
        sa.Column("given_label", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("suggested_label", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("review_annotation_id", sa.Integer(), nullable=True),
        sa.Column("outcome_label", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["annotations.id"],
            name=op.f("fk_relabel_suspects_annotation_id_annotations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["annotator_id"],
            ["users.id"],
            name=op.f("fk_relabel_suspects_annotator_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_relabel_suspects_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_relabel_suspects_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_relabel_suspects_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["review_annotation_id"],
            ["annotations.id"],
            name=op.f("fk_relabel_suspects_review_annotation_id_annotations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_relabel_suspects_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relabel_suspects")),
    )
    op.create_index(op.f("ix_relabel_suspects_item_id"), "relabel_suspects", ["item_id"])
    op.create_index(
        "ix_relabel_suspects_project_status_rank",
        "relabel_suspects",
        ["project_id", "status", "rank"],
    )


def downgrade() -> None:
    op.drop_index("ix_relabel_suspects_project_status_rank", table_name="relabel_suspects")
    op.drop_index(op.f("ix_relabel_suspects_item_id"), table_name="relabel_suspects")
    op.drop_table("relabel_suspects")
