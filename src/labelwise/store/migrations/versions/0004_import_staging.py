"""import jobs stage their rows before publishing them

- ``import_rows`` holds the parsed rows of a running import job (text, hash, label,
  metadata, file line). A large import is staged in many short transactions, so labeling
  is never blocked for long, and published from here at once: one import stays all or
  nothing. The rows are deleted when the job ends.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_import_rows_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_import_rows"),
    )
    op.create_index("ix_import_rows_job_id_first", "import_rows", ["job_id", "first"])


def downgrade() -> None:
    op.drop_index("ix_import_rows_job_id_first", table_name="import_rows")
    op.drop_table("import_rows")
