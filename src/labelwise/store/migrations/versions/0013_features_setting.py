"""features: stored projects keep the features they trained on

New classification projects train on MiniLM beside TF-IDF (the recipe's features,
``labelwise.service.project_settings.default_features``); TF-IDF was the default before.
Projects store their whole settings when created, so every one should name its features
already; one that does not (hand-written, or from a tool that wrote settings itself) now
says ``tfidf`` explicitly, so a later settings change does not switch its features to the
new default under it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_projects = sa.table("projects", sa.column("id", sa.Integer), sa.column("settings", sa.JSON))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_projects.c.id, _projects.c.settings)).all()
    for project_id, settings in rows:
        if isinstance(settings, dict) and "features" not in settings:
            bind.execute(
                _projects.update()
                .where(_projects.c.id == project_id)
                .values(settings={**settings, "features": "tfidf"})
            )


def downgrade() -> None:
    # Nothing to undo: "tfidf" is what 0012's code reads when the key is missing.
    pass
