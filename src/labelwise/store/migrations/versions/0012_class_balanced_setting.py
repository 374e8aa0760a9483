"""class-balanced ranking: stored projects keep the ranking they had

New projects rank with ``ClassBalanced`` around their strategy (the measured recipe,
``labelwise.recipes.classification``); a project stored before this setting existed
ranked without it, and its settings now say so instead of changing under it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_projects = sa.table("projects", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))


def upgrade() -> None:
    bind = op.get_bind()
    for project_id, settings in bind.execute(sa.select(_projects.c.id, _projects.c.settings)):
        if isinstance(settings, dict) and "class_balanced" not in settings:
            bind.execute(
                _projects.update()
                .where(_projects.c.id == project_id)
                .values(settings={**settings, "class_balanced": False})
            )


def downgrade() -> None:
    bind = op.get_bind()
    for project_id, settings in bind.execute(sa.select(_projects.c.id, _projects.c.settings)):
        if isinstance(settings, dict) and "class_balanced" in settings:
            rest = {k: v for k, v in settings.items() if k != "class_balanced"}
            bind.execute(
                _projects.update().where(_projects.c.id == project_id).values(settings=rest)
            )
