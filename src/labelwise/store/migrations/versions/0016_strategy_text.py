"""strategy names as text: a query strategy's repr is not bounded by 200 characters

Each query round, lease and label stores the ``repr`` of the strategy that chose it (the
provenance exports and the "why" read). Wrappers nest: incremental rounds around class
balance around margin, with their neighbour index, run past 200 characters, which
PostgreSQL refused (``value too long for type character varying(200)``) and SQLite, which
does not enforce lengths, stored. Text has no limit on either.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

#: (table, nullable) of each strategy column.
_COLUMNS = (("query_rounds", False), ("annotations", True), ("leases", False))


def upgrade() -> None:
    for table, nullable in _COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "strategy",
                existing_type=sa.String(200),
                type_=sa.Text(),
                existing_nullable=nullable,
            )


def downgrade() -> None:
    # Names longer than 200 characters are cut to fit (PostgreSQL would refuse them).
    for table, nullable in _COLUMNS:
        op.execute(
            sa.text(
                f"UPDATE {table} SET strategy = substr(strategy, 1, 200) "
                "WHERE length(strategy) > 200"
            )
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "strategy",
                existing_type=sa.Text(),
                type_=sa.String(200),
                existing_nullable=nullable,
            )
