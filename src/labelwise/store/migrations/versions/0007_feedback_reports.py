"""user feedback reports and their review

- ``feedback_reports``: a user's report that the bot got a message wrong (linked to the
  item, and to the ingested message when named by external id), "what I meant", comment,
  channel; its review (status, reviewer, time, confirmed label, the label annotation
  written); the evidence and score of the triage ranking; the first model version
  trained after the confirmation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("traffic_message_id", sa.Integer(), nullable=True),
        sa.Column("predicted", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("meant_label", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "confirmed",
                "rejected",
                name="feedbackstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_label", sa.String(length=200), nullable=True),
        sa.Column("annotation_id", sa.Integer(), nullable=True),
        sa.Column("fixed_version_id", sa.Integer(), nullable=True),
        sa.Column("scored_version_id", sa.Integer(), nullable=True),
        sa.Column("model_label", sa.String(length=200), nullable=True),
        sa.Column("model_margin", sa.Float(), nullable=True),
        sa.Column("model_p_production", sa.Float(), nullable=True),
        sa.Column("density", sa.Float(), nullable=False),
        sa.Column("impact", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["annotations.id"],
            name=op.f("fk_feedback_reports_annotation_id_annotations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["fixed_version_id"],
            ["model_versions.id"],
            name=op.f("fk_feedback_reports_fixed_version_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_feedback_reports_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_feedback_reports_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_feedback_reports_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["scored_version_id"],
            ["model_versions.id"],
            name=op.f("fk_feedback_reports_scored_version_id_model_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["traffic_message_id"],
            ["traffic_messages.id"],
            name=op.f("fk_feedback_reports_traffic_message_id_traffic_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_reports")),
    )
    op.create_index(op.f("ix_feedback_reports_item_id"), "feedback_reports", ["item_id"])
    op.create_index(
        "ix_feedback_reports_project_status", "feedback_reports", ["project_id", "status"]
    )
    op.create_index(
        "ix_feedback_reports_project_channel", "feedback_reports", ["project_id", "channel"]
    )


def downgrade() -> None:
    op.drop_index("ix_feedback_reports_project_channel", table_name="feedback_reports")
    op.drop_index("ix_feedback_reports_project_status", table_name="feedback_reports")
    op.drop_index(op.f("ix_feedback_reports_item_id"), table_name="feedback_reports")
    op.drop_table("feedback_reports")
