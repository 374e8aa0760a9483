"""production traffic, service tokens, and the production model version

- ``service_tokens``: a production bot's project-scoped credential (scopes such as
  ingest / feedback / predict), stored hashed, revocable, apart from people's tokens.
- ``traffic_messages``: each production message as received (external id, the bot's
  timestamp, conversation, channel, the production model's prediction and confidence,
  metadata); unique per project on the external id, which makes ingest idempotent.
- ``traffic_stats``: per item that came from traffic, how often and when its text was
  seen, and its near-duplicate group once the worker has embedded it.
- ``projects.production_version_id``: the model version the predict endpoint answers
  from, moved only by an admin's promotion.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_service_tokens_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_service_tokens_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_service_tokens_token_hash")),
    )
    op.create_index(op.f("ix_service_tokens_project_id"), "service_tokens", ["project_id"])
    op.create_table(
        "traffic_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("predicted", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_traffic_messages_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_traffic_messages_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traffic_messages")),
        sa.UniqueConstraint(
            "project_id", "external_id", name=op.f("uq_traffic_messages_project_id_external_id")
        ),
    )
    op.create_index(op.f("ix_traffic_messages_item_id"), "traffic_messages", ["item_id"])
    op.create_index(
        "ix_traffic_messages_project_received", "traffic_messages", ["project_id", "received_at"]
    )
    op.create_table(
        "traffic_stats",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("group_item_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_item_id"],
            ["items.id"],
            name=op.f("fk_traffic_stats_group_item_id_items"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_traffic_stats_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_traffic_stats_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_traffic_stats")),
    )
    op.create_index(
        "ix_traffic_stats_project_last_seen", "traffic_stats", ["project_id", "last_seen_at"]
    )
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("production_version_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_projects_production_version_id_model_versions"),
            "model_versions",
            ["production_version_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint(
            "fk_projects_production_version_id_model_versions", type_="foreignkey"
        )
        batch.drop_column("production_version_id")
    op.drop_index("ix_traffic_stats_project_last_seen", table_name="traffic_stats")
    op.drop_table("traffic_stats")
    op.drop_index("ix_traffic_messages_project_received", table_name="traffic_messages")
    op.drop_index(op.f("ix_traffic_messages_item_id"), table_name="traffic_messages")
    op.drop_table("traffic_messages")
    op.drop_index(op.f("ix_service_tokens_project_id"), table_name="service_tokens")
    op.drop_table("service_tokens")
