"""Shared fixtures: small CLINC150 slices from ../shared/data and seeded generators."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelwise.data import TextDataset, read_dataset

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def shared_dataset(name: str) -> Path:
    """``../shared/data/<name>`` (or under ``$LABELWISE_SHARED_DATA``); a missing one fails."""
    path = Path(os.environ.get("LABELWISE_SHARED_DATA", SHARED_DATA)) / name
    if not path.is_dir():
        pytest.fail(f"{name} not found at {path}; the tests read ../shared/data beside the repo.")
    return path


@pytest.fixture(scope="session")
def clinc_dir() -> Path:
    return shared_dataset("clinc150")


@pytest.fixture(scope="session")
def trec_dir() -> Path:
    return shared_dataset("trec")


def take_intents(dataset: TextDataset, n_intents: int) -> TextDataset:
    """The rows of the first ``n_intents`` labels (sorted), in file order."""
    keep = set(dataset.classes()[:n_intents])
    idx = [i for i, label in enumerate(dataset.labels) if label in keep]
    return TextDataset(
        texts=[dataset.texts[i] for i in idx],
        labels=[dataset.labels[i] for i in idx],
        metadata=[dataset.metadata[i] for i in idx],
        source=dataset.source,
    )


@pytest.fixture(scope="session")
def clinc_slice(clinc_dir: Path) -> tuple[TextDataset, TextDataset]:
    """Train and test rows of 12 CLINC150 intents (1,200 train / 360 test)."""
    train = take_intents(read_dataset(clinc_dir / "train.jsonl", require_labels=True), 12)
    test = take_intents(read_dataset(clinc_dir / "test.jsonl", require_labels=True), 12)
    return train, test


@pytest.fixture(autouse=True)
def _repeatable_random_draws() -> None:
    """Seed the ``random`` module for tests that draw with it.

    (The queue no longer does: its draws come from a generator the caller injects, by
    default seeded by the project, the annotator and the time, so they repeat too.)
    """
    random.seed(20261125)


# --- Databases ---------------------------------------------------------------------------
# Every store/service/server test runs on SQLite and on the real PostgreSQL. Each test
# process gets its own PostgreSQL database (created from LABELWISE_TEST_POSTGRES_URL's
# server), migrated once; each test then starts from empty tables.

POSTGRES_URL = os.environ.get(
    "LABELWISE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_database_url() -> str:
    """A fresh database for this test process; fails under CI=true when the server is missing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    admin_url = make_url(POSTGRES_URL)
    name = f"labelwise_test_{os.getpid()}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except OperationalError as exc:
        message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.orig}"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    return admin_url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _postgres_template():
    from labelwise.store import make_engine, upgrade_database

    url = _postgres_database_url()
    engine = make_engine(url)
    upgrade_database(engine)
    yield engine
    engine.dispose()
    _drop_postgres_database(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from labelwise.store import make_engine, upgrade_database

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


#: The ``params`` of a fixture that gives a database of each kind (see fresh_database_url).
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a copied SQLite file, or the emptied PostgreSQL one."""
    return fresh_database_url(request, request.param, tmp_path)


def fresh_database_url(request: pytest.FixtureRequest, kind: str, folder: Path) -> str:
    """A migrated, empty database of ``kind`` ("sqlite": a file in ``folder``, or
    "postgresql": this process's database, emptied), for fixtures of any scope."""
    import shutil

    from sqlalchemy import text

    from labelwise.store import Base

    if kind == "sqlite":
        path = folder / "labelwise.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    engine = request.getfixturevalue("_postgres_template")
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return str(engine.url.render_as_string(hide_password=False))


@pytest.fixture
def engine(database_url: str):
    from labelwise.store import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine):
    from labelwise.store import make_session_factory

    return make_session_factory(engine)


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """The address of a two-worker ``distributed.LocalCluster``: separate worker
    processes, so everything a scorer ships is really pickled. One per test module, not
    per session: the scheduler runs on a thread of the test process, and left running its
    periodic work slows every later test there (the suite took twice as long)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address
