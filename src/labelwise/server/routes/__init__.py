"""One router per resource; ``create_app`` mounts each under ``/api``."""

# No ``from __future__ import annotations`` here: it would shadow the annotations module.
from fastapi import APIRouter

from labelwise.server.routes import (
    annotations,
    auth,
    clusters,
    dashboard,
    exports,
    feedback,
    flags,
    imports,
    items,
    labeling_functions,
    labels,
    metrics,
    model_versions,
    predictions,
    projects,
    queue,
    relabel,
    service_tokens,
    traffic,
    training,
    users,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    users.router,
    projects.router,
    items.router,
    imports.router,
    queue.router,
    annotations.router,
    flags.router,
    labeling_functions.router,
    clusters.router,
    labels.router,
    exports.router,
    training.router,
    service_tokens.router,
    traffic.router,
    feedback.router,
    model_versions.router,
    predictions.router,
    metrics.router,
    dashboard.router,
    relabel.router,
)
