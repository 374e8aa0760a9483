"""``labelwise serve`` and ``labelwise demo``: run the labeling server."""

from __future__ import annotations

import os
import secrets
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from labelwise.cli.console import make_console
from labelwise.cli.db import (
    DatabaseOption,
    connect,
    create_database,
    database_url,
    display_url,
    open_session,
)
from labelwise.cli.errors import reporting_errors

if TYPE_CHECKING:
    from labelwise.settings import Settings

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")]
DataDirOption = Annotated[
    Path | None,
    typer.Option(help="Model artifacts and embedding cache [default: LABELWISE_DATA_DIR]."),
]


ProxiesOption = Annotated[
    str | None,
    typer.Option(
        "--forwarded-allow-ips",
        envvar="LABELWISE_FORWARDED_ALLOW_IPS",
        show_envvar=False,
        help="Only behind a reverse proxy: the proxy addresses (comma-separated) whose "
        "X-Forwarded-For/-Proto are believed, so that the session cookie is Secure behind "
        "TLS and log-in throttling counts the real client [default: none trusted; env "
        "LABELWISE_FORWARDED_ALLOW_IPS].",
    ),
]


def uvicorn_options(proxies: str | None) -> dict[str, Any]:
    """How uvicorn treats forwarded headers: ignored unless ``proxies`` names the proxy.

    uvicorn's own default trusts ``X-Forwarded-For`` from 127.0.0.1, so any local client
    (another user's process, a script on the same host) could claim any address and
    escape the per-address log-in limit. Without a proxy in front nothing may set these
    headers, so by default they are not read at all.
    """
    proxies = (proxies or "").strip()
    if not proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": proxies}


def _run(settings: Settings, host: str, port: int, proxies: str | None = None) -> None:
    """Serve ``create_app`` with ``settings`` (handed over as ``LABELWISE_*`` variables).

    The CLI and the server are sibling edges over the service layer: neither imports the
    other, so uvicorn gets the app factory by name. Forwarded headers count only from
    ``proxies`` (see :func:`uvicorn_options`).
    """
    import uvicorn

    os.environ["LABELWISE_DATABASE_URL"] = settings.database_url
    os.environ["LABELWISE_DATA_DIR"] = str(settings.data_dir)
    os.environ["LABELWISE_RUN_WORKER"] = "true" if settings.run_worker else "false"
    uvicorn.run(
        "labelwise.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level="info",
        **uvicorn_options(proxies),
    )


def _settings(db: str | None, data_dir: Path | None, worker: bool) -> Settings:
    from labelwise.settings import Settings

    base = Settings()
    return base.model_copy(
        update={
            "database_url": database_url(db),
            "data_dir": data_dir or base.data_dir,
            "run_worker": worker,
        }
    )


def serve(
    db: DatabaseOption = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    data_dir: DataDirOption = None,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Retrain in the background.")
    ] = True,
    forwarded_allow_ips: ProxiesOption = None,
) -> None:
    """Serve the web UI (/ui/login) and the REST API (/docs) with the retrain worker."""
    # The app migrates an older schema on start, but never creates a database: a typo in
    # --db must not leave an empty one behind.
    with reporting_errors():
        connect(db, migrate=True).dispose()
    _run(_settings(db, data_dir, worker), host, port, forwarded_allow_ips)


def demo_command(
    db: Annotated[
        str, typer.Option("--db", help="Where the demo keeps its data.")
    ] = "sqlite:///labelwise-demo.db",
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    data_dir: DataDirOption = None,
    admin: Annotated[str, typer.Option(help="The demo's admin user.")] = "admin",
    password: Annotated[
        str | None,
        typer.Option(
            help="Its password; for an existing admin, its new password [default: a random "
            "one, printed, for a new admin]."
        ),
    ] = None,
    serve_it: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server afterwards.")
    ] = True,
) -> None:
    """Create the demo projects (600 CLINC150 utterances over 20 intents; 350 SNIPS
    utterances to label with an intent and entities) and serve them."""
    from labelwise.service import demo, passwords, users

    console = make_console()
    with reporting_errors():
        if password is not None:  # refused before any database is made
            passwords.check_password(password, username=admin)
        db = database_url(db)
        create_database(db)
        with open_session(db) as session:
            user = users.find_user(session, username=admin)
            secret = None
            changed = False
            if user is None:
                secret = password or secrets.token_urlsafe(12)
                user = users.create_user(session, username=admin, password=secret, is_admin=True)
            elif password is not None:
                user = users.set_password(session, username=admin, password=password)
                secret, changed = password, True
            project = demo.create_demo_project(session, owner=user)
            spans_project = demo.create_spans_demo_project(session, owner=user)
            token = users.create_token(session, user=user, name="demo")
    console.print(
        f"demo project [bold]{project.name}[/bold] (id {project.id}) is ready in {display_url(db)}"
    )
    console.print(
        f"demo project [bold]{spans_project.name}[/bold] (id {spans_project.id}): "
        "intents and entities"
    )
    if secret is not None:
        state = " (changed)" if changed else ""
        console.print(
            f"admin user: [bold]{escape(user.username)}[/bold]  password{state}: "
            f"[bold]{escape(secret)}[/bold]"
        )
    else:
        console.print(
            f"admin user: [bold]{escape(user.username)}[/bold] (existing; its password is "
            "unchanged: pass --password to set a new one)"
        )
    console.print(f"API token: {token}")
    command = shlex.join(["labelwise", "label", project.name, "--user", admin, "--db", db])
    console.print(f"label in the terminal: {escape(command)}", soft_wrap=True)
    if serve_it:
        console.print(
            f"labeling page: http://{host}:{port}/ui/login   API docs: http://{host}:{port}/docs"
        )
        for shown in (project, spans_project):
            console.print(f"{shown.name}: http://{host}:{port}/ui/projects/{shown.id}")
        _run(_settings(db, data_dir, True), host, port)
