"""The application factory: ``uvicorn labelwise.server.app:create_app --factory``."""

from __future__ import annotations

import gc
import random
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from labelwise import __version__
from labelwise.server.docs import mount_docs
from labelwise.server.errors import register_error_handlers
from labelwise.server.limits import (
    SPARE_THREADS,
    WORKER_CONNECTIONS,
    BodyLimit,
    RequestLimit,
)
from labelwise.server.routes import ROUTERS
from labelwise.server.schemas.errors import ERROR_RESPONSES
from labelwise.server.security import app_secret
from labelwise.server.throttle import LoginThrottle, LoginThrottled, login_throttled
from labelwise.server.ui.routes import mount_ui
from labelwise.service.import_jobs import remove_partial_uploads
from labelwise.service.sentence_vectors import SentenceVectors
from labelwise.service.training import RetrainWorker, pool_scorer
from labelwise.settings import Settings
from labelwise.store import make_engine, make_session_factory, upgrade_database

_frozen = threading.Event()


def _freeze_startup_objects() -> None:
    """Move what start-up built (modules, the app, SQLAlchemy's mappers: ~240,000
    objects) out of the garbage collector's sight, once per process.

    Every full collection otherwise walks them all: under a traffic ingest that allocates
    many short-lived objects, that was a quarter to a third of the server's CPU
    (benchmarks/ingest.py). Only the first app in a process freezes, so a process that
    builds many apps (the tests) does not pin each one's objects for good.
    """
    if not _frozen.is_set():
        _frozen.set()
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A FastAPI app over ``settings`` (read from ``LABELWISE_*`` variables when omitted).

    Migrates the database to the packaged head, and runs the retrain worker for the
    app's lifetime when ``settings.run_worker`` is set.
    """
    settings = Settings() if settings is None else settings
    # Pool, admitted requests and threads sized together (``Settings.db_pool_size``).
    engine = make_engine(
        settings.database_url, pool_size=settings.db_pool_size + WORKER_CONNECTIONS
    )
    upgrade_database(engine)
    session_factory = make_session_factory(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Every admitted request must find a thread for each of its hops, so none waits
        # for a thread while holding a connection another request waits for.
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, settings.db_pool_size + SPARE_THREADS)
        # Uploads a crash left half-written (the worker also drops staged rows and
        # the files of ended jobs when it starts).
        remove_partial_uploads(settings.data_dir)
        _freeze_startup_objects()
        worker = None
        if settings.run_worker:
            worker = RetrainWorker(
                session_factory,
                data_dir=settings.data_dir,
                poll_seconds=settings.worker_poll_seconds,
                scorer=pool_scorer(settings.dask_scheduler),
            )
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
                worker.close()
            engine.dispose()

    app = FastAPI(
        title="labelwise",
        version=__version__,
        summary="Active learning for labeling: the labeling server's REST API.",
        lifespan=lifespan,
        # Served by mount_docs from packaged files: FastAPI's own pages load a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.secret_key = app_secret(settings.secret_key)
    # One generator for every request (random.Random is safe to share between threads):
    # serving draws are repeatable under a fixed seed.
    app.state.serving_rng = random.Random(settings.serving_seed)
    # Labeling functions that compare sentence embeddings embed through the worker's disk
    # cache (the model itself is loaded once per process, on the first text not cached).
    app.state.sentence_vectors = SentenceVectors.minilm(settings.data_dir)
    app.state.login_throttle = LoginThrottle.from_settings(settings)
    app.add_middleware(
        RequestLimit, limit=settings.db_pool_size, queue_timeout=settings.request_queue_seconds
    )
    # Outermost (added last): an oversized upload is refused before it waits for a slot.
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    register_error_handlers(app)
    app.exception_handler(LoginThrottled)(login_throttled)
    for router in ROUTERS:
        app.include_router(router, prefix="/api", responses=ERROR_RESPONSES)
    mount_ui(app)
    mount_docs(app)
    return app
