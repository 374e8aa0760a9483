"""held-out evaluation set: items imported with a reference label, never served or trained on

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot add a NOT NULL column with ALTER TABLE alone
    # on every version; the batch mode copies the table where it must.
    with op.batch_alter_table("items") as batch:
        batch.add_column(
            sa.Column("is_evaluation", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("reference_label", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("reference_label")
        batch.drop_column("is_evaluation")
