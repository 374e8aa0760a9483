"""stream budget: the manager's state per project, and each traffic item's impact

- ``stream_budgets``: one row per project with a label budget, holding the budget
  manager's state (threshold, recent scores, admissions this period) as JSON.
- ``stream_scores``: per scored traffic item, its expected impact, the traffic count it
  was scored at, and when the budget admitted it (None: not admitted). A table of its own
  rather than columns on ``traffic_stats``: ingest rewrites those rows on every repeat,
  and projects without a budget never need these.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_budgets",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_stream_budgets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_stream_budgets")),
    )
    op.create_table(
        "stream_scores",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Float(), nullable=False),
        sa.Column("scored_count", sa.Integer(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_stream_scores_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_stream_scores_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_stream_scores")),
    )
    op.create_index(
        "ix_stream_scores_project_admitted", "stream_scores", ["project_id", "admitted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_stream_scores_project_admitted", table_name="stream_scores")
    op.drop_table("stream_scores")
    op.drop_table("stream_budgets")
