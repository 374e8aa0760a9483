"""The database option every command shares, its session, and ``labelwise init``.

Only ``init`` and ``demo`` create a database. Every other command first checks that the
database exists and carries labelwise's schema at this version's revision, and otherwise
says which database it tried (an absolute path, never a relative one) and the command
that creates or migrates it, instead of leaving an empty file and a traceback behind.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from labelwise.cli.console import make_console
from labelwise.cli.errors import reporting_errors
from labelwise.exceptions import LabelwiseError

# SQLAlchemy (and through it the store) is imported by the functions that use it: the
# command line is parsed, and --help printed, without it.
if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.engine import URL
    from sqlalchemy.orm import Session

    from labelwise.store import Project

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="LABELWISE_DATABASE_URL",
        help="sqlite:///path.db (or just a path) or postgresql://user@host/db "
        "[default: sqlite:///labelwise.db]",
        show_default=False,
    ),
]

#: Spellings of a PostgreSQL URL people paste (Heroku, libpq, SQLAlchemy 1.x), all served
#: by the psycopg 3 driver labelwise installs.
POSTGRES_SCHEMES = frozenset(
    {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2", "postgresql+psycopg3"}
)
SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+pysqlite"})


class DatabaseSetupError(LabelwiseError):
    """The database a command was pointed at is missing, unreachable or not labelwise's."""


def database_url(db: str | None) -> str:
    """``--db``, else the settings (``LABELWISE_DATABASE_URL``, else ``sqlite:///labelwise.db``).

    The URL comes back normalized: a bare path becomes a SQLite URL, a relative SQLite path
    an absolute one (so a printed URL works from any folder), and ``postgres://``,
    ``postgresql://`` or ``postgresql+psycopg2://`` the installed ``postgresql+psycopg://``.
    """
    if db:
        return normalize_url(db)
    from labelwise.settings import Settings  # pydantic-settings: only when --db is missing

    return normalize_url(Settings().database_url)


def normalize_url(raw: str) -> str:
    """``raw`` in the one spelling :func:`~labelwise.store.make_engine` accepts; see above."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    raw = raw.strip()
    if "://" not in raw:
        if not raw:
            raise DatabaseSetupError("--db is empty: give sqlite:///path.db or postgresql://...")
        return f"sqlite:///{Path(raw).expanduser().resolve()}"
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseSetupError(f"cannot parse the database URL {raw!r}") from None
    scheme = url.drivername.lower()
    if scheme in POSTGRES_SCHEMES:
        url = url.set(drivername="postgresql+psycopg")
    elif scheme in SQLITE_SCHEMES:
        if url.database and url.database != ":memory:":
            url = url.set(database=str(Path(url.database).expanduser().resolve()))
    else:
        raise DatabaseSetupError(
            f"unsupported database {url.drivername!r} in {_display(url)}: use sqlite:///path.db "
            "or postgresql://user@host/db"
        )
    return url.render_as_string(hide_password=False)


def display_url(url: str) -> str:
    """The URL with any password masked, for printing."""
    from sqlalchemy.engine import make_url

    return _display(make_url(url))


def _display(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def connect(db: str | None, *, migrate: bool = False) -> Engine:
    """An engine on an existing labelwise database, or a :class:`DatabaseSetupError`.

    Parameters
    ----------
    db : str or None
        The ``--db`` value (None: the settings' URL).
    migrate : bool, default False
        Accept a database at an older schema revision (``serve``, whose app migrates on
        start); otherwise the schema must be at this version's head.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from labelwise.store.engine import make_engine

    url = database_url(db)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database or "")
        # Checked before make_engine, which would create the folder and the file.
        if not path.is_file():
            raise DatabaseSetupError(
                f"no database at {path}; create it with: {_init_hint(url)}"
                + ("" if path.parent.is_dir() else f" (the folder {path.parent} does not exist)")
            )
    engine = make_engine(url)
    try:
        problem = _schema_problem(engine)
    except DBAPIError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise DatabaseSetupError(f"cannot open the database {display_url(url)}: {reason}") from None
    except BaseException:
        engine.dispose()
        raise
    if problem is not None and not (migrate and problem.older):
        engine.dispose()
        raise DatabaseSetupError(f"the database {display_url(url)} {problem.text}")
    return engine


@dataclass(frozen=True)
class _Problem:
    text: str
    #: An older revision that ``init`` (or the server on start) migrates.
    older: bool = False


def _schema_problem(engine: Engine) -> _Problem | None:
    """What keeps the database's schema from being this version's, or None."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from labelwise.store.engine import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    heads = set(script.get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    hint = _init_hint(engine.url.render_as_string(hide_password=True))
    if not current:
        return _Problem(f"has no labelwise tables; create them with: {hint}")
    if current == heads:
        return None
    known = {revision.revision for revision in script.walk_revisions()}
    at = ", ".join(sorted(current))
    if current - known:
        return _Problem(f"is at schema revision {at}, newer than this labelwise: upgrade labelwise")
    return _Problem(
        f"is at schema revision {at}, older than this labelwise's "
        f"{', '.join(sorted(heads))}; migrate it with: {hint}",
        older=True,
    )


def _init_hint(url: str) -> str:
    return f"labelwise init --db {shlex.quote(url)}"


@contextmanager
def open_session(db: str | None) -> Iterator[Session]:
    """A session on an existing database, its engine disposed afterwards (one command, one engine)."""
    from labelwise.store.engine import make_session_factory

    engine = connect(db)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def resolve_project(session: Session, ref: str) -> Project:
    """The project named ``ref``, or with id ``ref`` when no project has that name."""
    from labelwise.service import projects
    from labelwise.service.errors import NotFoundError

    try:
        return projects.find_project(session, name=ref)
    except NotFoundError:
        if not ref.isdigit():
            raise
        return projects.get_project(session, project_id=int(ref))


def init(
    db: DatabaseOption = None,
    admin: Annotated[str | None, typer.Option(help="Also create this site admin.")] = None,
    password: Annotated[
        str | None, typer.Option(help="The admin's password (prompted, hidden, when missing).")
    ] = None,
) -> None:
    """Create or migrate the database, and optionally its first site admin."""
    from labelwise.service import users

    console = make_console()
    with reporting_errors():
        url = database_url(db)
        create_database(url)
        console.print(f"database ready: {display_url(url)}")
        if admin is not None:
            secret = password or typer.prompt(
                f"Password for {admin}", hide_input=True, confirmation_prompt=True
            )
            with open_session(url) as session:
                user = users.create_user(session, username=admin, password=secret, is_admin=True)
            console.print(f"site admin created: {user.username}")


def create_database(url: str) -> None:
    """Create (or migrate) the database at the normalized ``url``: ``init`` and ``demo`` only."""
    from labelwise.store.engine import make_engine, upgrade_database

    engine = make_engine(url)
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
