"""intent clusters: new-intent discovery

- ``intent_clusters``: a cluster of messages the model could not place (out-of-scope
  predictions and low confidence), found by a discovery job: its size, suggested name and
  distinctive terms, representative item ids, status (open / created / out_of_scope /
  dismissed), the label created from it, and who decided when.
- ``intent_cluster_members``: the cluster's items with their rank (0 = nearest the
  centroid) and cosine similarity to the centroid.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intent_clusters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "created",
                "out_of_scope",
                "dismissed",
                name="clusterstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("suggested_name", sa.String(length=200), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("representatives", sa.JSON(), nullable=False),
        sa.Column("created_label", sa.String(length=200), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_intent_clusters_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_intent_clusters_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["model_versions.id"],
            name=op.f("fk_intent_clusters_model_version_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_intent_clusters_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intent_clusters")),
    )
    op.create_index(
        "ix_intent_clusters_project_status", "intent_clusters", ["project_id", "status"]
    )
    op.create_table(
        "intent_cluster_members",
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["intent_clusters.id"],
            name=op.f("fk_intent_cluster_members_cluster_id_intent_clusters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_intent_cluster_members_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cluster_id", "item_id", name=op.f("pk_intent_cluster_members")),
    )
    op.create_index(
        op.f("ix_intent_cluster_members_item_id"), "intent_cluster_members", ["item_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_intent_cluster_members_item_id"), table_name="intent_cluster_members")
    op.drop_table("intent_cluster_members")
    op.drop_index("ix_intent_clusters_project_status", table_name="intent_clusters")
    op.drop_table("intent_clusters")
