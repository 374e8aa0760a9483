"""feedback report keys: the reporter's own key per report, unique per project

A bot that retries a batch of feedback reports (a timeout, a lost response) sends the
same reports again; with ``report_key`` set, a report already stored is a duplicate and is
not stored twice. NULL (no id given) is allowed any number of times.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback_reports") as batch:
        batch.add_column(sa.Column("report_key", sa.String(length=200), nullable=True))
    op.create_index(
        "uq_feedback_reports_project_report_key",
        "feedback_reports",
        ["project_id", "report_key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_feedback_reports_project_report_key", table_name="feedback_reports")
    with op.batch_alter_table("feedback_reports") as batch:
        batch.drop_column("report_key")
