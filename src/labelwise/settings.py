"""Application settings (server, CLI, service), read from ``LABELWISE_*`` variables.

The library never reads settings: its behaviour is in constructor arguments.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where data lives and how the server runs.

    Attributes
    ----------
    database_url : str
        ``sqlite:///labelwise.db`` (default: a file in the working directory, created on
        first use) or ``postgresql+psycopg://user@host:5432/db``.
    data_dir : Path
        Model artifacts and uploaded files.
    run_worker : bool
        Run the background retrain worker inside the server process.
    worker_poll_seconds : float
        How often an idle worker looks for queued jobs.
    secret_key : str
        Signs the web UI's CSRF tokens; empty: a random key per process.
    login_max_failures : int
        Failed log-ins per username within ``login_window_seconds`` before further
        attempts for it are refused (429); 0 disables this limit.
    login_max_failures_per_ip : int
        The same per client address, which stops one client trying many usernames;
        0 disables this limit.
    login_window_seconds : float
        The sliding window both limits count over, in seconds.
    db_pool_size : int
        Requests the server runs at once, and the database connections kept for them.
        The rule that keeps the server from deadlocking under load: a request holds one
        connection from its first query to its end and hops between threads meanwhile,
        so the server admits at most ``db_pool_size`` requests (later ones wait in the
        event loop, holding nothing), opens at most ``db_pool_size`` +
        ``WORKER_CONNECTIONS`` (2, the retrain worker's) connections, and gives the
        thread pool at least as many threads as it admits requests. On PostgreSQL keep
        ``db_pool_size + 2`` times the number of server processes under the server's
        ``max_connections`` (100 by default).
    max_upload_bytes : int
        The largest file an import may upload, in bytes (512 MiB by default); a larger
        one is refused with 413 while it is being written, and nothing is kept.
    request_queue_seconds : float
        How long a request may wait for admission; past it the answer is 503 with
        ``Retry-After`` (so is a writer that waited as long for SQLite's write lock).
    serving_seed : int, optional
        Seeds the generator that draws which source serves the next item (audit sample
        or ranked queue) and the random picks; unset, it is seeded from the OS. Set it to
        replay a serving order exactly.
    dask_scheduler : str, optional
        A Dask scheduler's address (``tcp://10.0.0.5:8786``): the retrain worker then
        scores the pool on that cluster (the ``distributed`` extra), with the same ranking
        as in-process. Unset, it scores in its own process. A pool too large for one
        machine's time budget is the reason to set it. The workers read the pool from the
        project's feature store, so they must see ``data_dir`` at the same path.
    """

    model_config = SettingsConfigDict(env_prefix="LABELWISE_", env_file=None)

    database_url: str = "sqlite:///labelwise.db"
    data_dir: Path = Path("labelwise-data")
    run_worker: bool = True
    worker_poll_seconds: float = Field(default=0.2, gt=0)
    secret_key: str = ""
    login_max_failures: int = Field(default=5, ge=0)
    login_max_failures_per_ip: int = Field(default=20, ge=0)
    login_window_seconds: float = Field(default=15 * 60, gt=0)
    db_pool_size: int = Field(default=32, ge=1, le=1000)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    request_queue_seconds: float = Field(default=30.0, gt=0, le=3600)
    serving_seed: int | None = None
    dask_scheduler: str | None = None
