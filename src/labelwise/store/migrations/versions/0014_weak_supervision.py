"""weak supervision: labeling functions, their versions, weak labels, suggestion decisions

- ``labeling_functions``: a project's declarative labeling functions (the kinds of
  ``labelwise.weak.KINDS``: no code), with a version that rises on every edit and the
  bookkeeping of how far their votes are applied.
- ``labeling_function_versions``: every saved version, so a weak label says which
  version produced it.
- ``weak_labels``: one row per (function, item) vote; abstentions are not stored. Weak
  labels are kept apart from ``annotations`` so they never complete an item, count toward
  a retrain or export as a person's label.
- ``labeling_function_suggestions``: accepted and rejected suggestions, so a decided one
  is not offered again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="SET NULL"
    )


def _cascade_fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "labeling_functions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_version", sa.Integer(), nullable=True),
        sa.Column("applied_through_item_id", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('keyword', 'regex', 'label_name', 'exemplar', 'zero_shot')",
            name=op.f("ck_labeling_functions_declarative_kind"),
        ),
        sa.CheckConstraint(
            "origin IN ('person', 'suggestion')", name=op.f("ck_labeling_functions_known_origin")
        ),
        _cascade_fk("labeling_functions", "project_id", "projects"),
        _user_fk("labeling_functions", "created_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labeling_functions")),
        sa.UniqueConstraint(
            "project_id", "name", name=op.f("uq_labeling_functions_project_id_name")
        ),
    )
    op.create_index(op.f("ix_labeling_functions_project_id"), "labeling_functions", ["project_id"])
    op.create_table(
        "labeling_function_versions",
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("edited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _cascade_fk("labeling_function_versions", "function_id", "labeling_functions"),
        _user_fk("labeling_function_versions", "edited_by_id"),
        sa.PrimaryKeyConstraint(
            "function_id", "version", name=op.f("pk_labeling_function_versions")
        ),
    )
    op.create_table(
        "weak_labels",
        sa.Column("function_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        _cascade_fk("weak_labels", "function_id", "labeling_functions"),
        _cascade_fk("weak_labels", "item_id", "items"),
        sa.PrimaryKeyConstraint("function_id", "item_id", name=op.f("pk_weak_labels")),
    )
    op.create_index(op.f("ix_weak_labels_item_id"), "weak_labels", ["item_id"])
    op.create_table(
        "labeling_function_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "decision IN ('accepted', 'rejected')",
            name=op.f("ck_labeling_function_suggestions_known_decision"),
        ),
        _cascade_fk("labeling_function_suggestions", "project_id", "projects"),
        _user_fk("labeling_function_suggestions", "decided_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labeling_function_suggestions")),
        sa.UniqueConstraint(
            "project_id", "key", name=op.f("uq_labeling_function_suggestions_project_id_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("labeling_function_suggestions")
    op.drop_index(op.f("ix_weak_labels_item_id"), table_name="weak_labels")
    op.drop_table("weak_labels")
    op.drop_table("labeling_function_versions")
    op.drop_index(op.f("ix_labeling_functions_project_id"), table_name="labeling_functions")
    op.drop_table("labeling_functions")
