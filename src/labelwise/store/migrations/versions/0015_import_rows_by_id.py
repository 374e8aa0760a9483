"""import rows: index staged rows by (job_id, id), not (job_id, first)

An import publishes its staged rows in id ranges of one job (``job_id = ? AND id BETWEEN
? AND ?``). With only ``(job_id, first)`` to choose from, SQLite's planner (no statistics)
took that index and scanned every row the job still had staged for each batch: a
1,000,000-row import spent most of its 136 s there, quadratically. ``(job_id, id)`` serves
the range directly; every query that reads ``first`` reads it within such a range.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_import_rows_job_id_id", "import_rows", ["job_id", "id"])
    op.drop_index("ix_import_rows_job_id_first", table_name="import_rows")


def downgrade() -> None:
    op.create_index("ix_import_rows_job_id_first", "import_rows", ["job_id", "first"])
    op.drop_index("ix_import_rows_job_id_id", table_name="import_rows")
