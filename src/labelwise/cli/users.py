"""``labelwise users``: add accounts, set passwords and issue API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from labelwise.cli.console import make_console
from labelwise.cli.db import DatabaseOption, open_session
from labelwise.cli.errors import reporting_errors

app = typer.Typer(no_args_is_help=True, help="Add users, set passwords and issue API tokens.")

PASSWORD_RULES = (
    "8 to 256 characters, not one of the commonest passwords nor the username (prompted "
    "twice, hidden, when missing)."
)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The username.")],
    password: Annotated[str | None, typer.Option(help=PASSWORD_RULES)] = None,
    admin: Annotated[bool, typer.Option("--admin", help="A site admin (every project).")] = False,
    db: DatabaseOption = None,
) -> None:
    """Add a user."""
    from labelwise.service import users

    secret = password or typer.prompt(
        f"Password for {name}", hide_input=True, confirmation_prompt=True
    )
    with reporting_errors(), open_session(db) as session:
        user = users.create_user(session, username=name, password=secret, is_admin=admin)
    make_console().print(f"user created: {user.username}" + (" (site admin)" if admin else ""))


@app.command("set-password")
def set_password(
    name: Annotated[str, typer.Argument(help="The user (any case).")],
    password: Annotated[
        str | None, typer.Option(help="The new password: " + PASSWORD_RULES)
    ] = None,
    db: DatabaseOption = None,
) -> None:
    """Set a user's password, e.g. a locked-out admin's (their API tokens stay valid)."""
    from labelwise.service import users

    with reporting_errors():
        if password is None:
            # Find the account before asking for a password it could never get.
            with open_session(db) as session:
                name = users.get_user(session, username=name).username
        secret = password or typer.prompt(
            f"New password for {name}", hide_input=True, confirmation_prompt=True
        )
        with open_session(db) as session:
            user = users.set_password(session, username=name, password=secret)
    make_console().print(f"password set for {user.username}", markup=False, highlight=False)


@app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option("--name", help="What the token is for.")] = "",
    db: DatabaseOption = None,
) -> None:
    """Print a new API token for a user (shown once; only its hash is stored)."""
    from labelwise.service import users

    with reporting_errors(), open_session(db) as session:
        user = users.get_user(session, username=name)
        secret = users.create_token(session, user=user, name=label)
    # Bare, so that `$(labelwise users token alice)` captures exactly the token.
    make_console().print(secret, markup=False, highlight=False, soft_wrap=True)
