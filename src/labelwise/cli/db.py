"""The database option every command shares, its session, and ``labelwise init``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from labelwise.cli.console import make_console
from labelwise.cli.errors import reporting_errors
from labelwise.service import projects, users
from labelwise.service.errors import NotFoundError
from labelwise.settings import Settings
from labelwise.store import Project, make_engine, make_session_factory, upgrade_database

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="LABELWISE_DATABASE_URL",
        help="sqlite:///path.db or postgresql+psycopg://user@host/db [default: sqlite:///labelwise.db]",
        show_default=False,
    ),
]


def database_url(db: str | None) -> str:
    """``--db``, else the settings (``LABELWISE_DATABASE_URL``, else ``sqlite:///labelwise.db``)."""
    return db or Settings().database_url


@contextmanager
def open_session(db: str | None) -> Iterator[Session]:
    """A session on the database, its engine disposed afterwards (one command, one engine)."""
    engine = make_engine(database_url(db))
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def resolve_project(session: Session, ref: str) -> Project:
    """The project named ``ref``, or with id ``ref`` when no project has that name."""
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
    console = make_console()
    url = database_url(db)
    with reporting_errors():
        engine = make_engine(url)
        try:
            upgrade_database(engine)
        finally:
            engine.dispose()
        console.print(f"database ready: {_display_url(url)}")
        if admin is not None:
            secret = password or typer.prompt(
                f"Password for {admin}", hide_input=True, confirmation_prompt=True
            )
            with open_session(url) as session:
                user = users.create_user(session, username=admin, password=secret, is_admin=True)
            console.print(f"site admin created: {user.username}")


def _display_url(url: str) -> str:
    """The URL with any password masked, for printing."""
    return make_url(url).render_as_string(hide_password=True)
