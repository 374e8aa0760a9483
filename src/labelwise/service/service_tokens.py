"""Service tokens: what a production bot authenticates with.

A service token belongs to one project and carries scopes (``ingest``, ``feedback``,
``predict``). It is stored only hashed, in its own table, apart from people's API tokens:
the routes that take a person never look it up, so a leaked bot token cannot read labels,
label, export or administer anything. An admin creates, lists and revokes them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from labelwise.service.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from labelwise.service.events import record
from labelwise.service.token_hash import token_digest
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import Project, ServiceToken

#: What a service token may be allowed to do, and nothing else.
SCOPES: tuple[str, ...] = ("ingest", "feedback", "predict")
#: The prefix tells a reader (and a secret scanner) what kind of secret this is.
PREFIX = "lws_"
#: ``last_used_at`` is refreshed at most this often, so a busy bot's requests don't each
#: write (and queue on SQLite's writer lock) just to say they were made.
TOUCH_EVERY = timedelta(minutes=1)


def looks_like_service_token(token: str) -> bool:
    return token.startswith(PREFIX)


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, deduplicated in :data:`SCOPES` order; ValidationError naming an unknown one."""
    given = list(scopes)
    unknown = [s for s in given if s not in SCOPES]
    if unknown:
        raise ValidationError(
            f"Unknown scope {unknown[0]!r}; a service token may have: {', '.join(SCOPES)}."
        )
    if not given:
        raise ValidationError(f"A service token needs at least one scope of: {', '.join(SCOPES)}.")
    return [s for s in SCOPES if s in given]


def create_service_token(
    session: Session,
    *,
    project_id: int,
    name: str,
    scopes: Iterable[str],
    created_by_id: int | None,
) -> tuple[ServiceToken, str]:
    """A new token for ``project_id``; the secret is returned once and stored only hashed."""
    name = name.strip()
    if not name:
        raise ValidationError("A service token needs a name (say which bot uses it).")
    if len(name) > 100:
        raise ValidationError(
            f"A service token's name has at most 100 characters; got {len(name)}."
        )
    allowed = check_scopes(scopes)
    begin_write(session)
    if session.get(Project, project_id) is None:
        raise NotFoundError(f"Project {project_id} does not exist.")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ServiceToken(
        project_id=project_id,
        name=name,
        token_hash=token_digest(secret),
        scopes=allowed,
        created_by_id=created_by_id,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    record(
        session,
        "service_token_created",
        project_id=project_id,
        user_id=created_by_id,
        token_id=row.id,
        name=name,
        scopes=allowed,
    )
    session.commit()
    return row, secret


def list_service_tokens(session: Session, *, project_id: int) -> list[ServiceToken]:
    """The project's service tokens, revoked ones included (their history matters), newest first."""
    rows = list(
        session.scalars(
            select(ServiceToken)
            .where(ServiceToken.project_id == project_id)
            .order_by(ServiceToken.id.desc())
        )
    )
    end_read(session)
    return rows


def revoke_service_token(
    session: Session, *, project_id: int, token_id: int, user_id: int | None
) -> ServiceToken:
    """Revoke one of the project's tokens (again is a no-op); NotFoundError otherwise."""
    begin_write(session)
    row = session.get(ServiceToken, token_id)
    if row is None or row.project_id != project_id:
        raise NotFoundError(f"Project {project_id} has no service token {token_id}.")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        record(
            session,
            "service_token_revoked",
            project_id=project_id,
            user_id=user_id,
            token_id=row.id,
        )
    session.commit()
    return row


def authorize_service(session: Session, *, token: str, project_id: int, scope: str) -> ServiceToken:
    """The unrevoked service token ``token`` if it may do ``scope`` in ``project_id``.

    Raises
    ------
    AuthenticationError
        Unknown or revoked token.
    PermissionDeniedError
        A token of another project, or without the scope.
    """
    row = session.scalar(select(ServiceToken).where(ServiceToken.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("Unknown or revoked service token.")
    if row.project_id != project_id:
        raise PermissionDeniedError(
            f"This service token belongs to project {row.project_id}, not {project_id}."
        )
    if scope not in row.scopes:
        raise PermissionDeniedError(f"This service token may {', '.join(row.scopes)}; not {scope}.")
    now = datetime.now(UTC)
    last = row.last_used_at
    if last is None or _aware(last) < now - TOUCH_EVERY:
        begin_write(session)
        # A plain UPDATE: two requests refreshing at once both succeed, last one wins.
        session.execute(
            update(ServiceToken).where(ServiceToken.id == row.id).values(last_used_at=now)
        )
        session.commit()
    return row


def refuse_service_token(token: str) -> None:
    """Raise the error a service token gets where only people may go (else nothing)."""
    if looks_like_service_token(token):
        raise PermissionDeniedError(
            "A service token may only ingest traffic, report feedback and predict "
            f"({', '.join(f'/api/projects/{{id}}/{s}' for s in ('traffic', 'feedback', 'predict'))}); "
            "this needs a person's API token."
        )


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored as UTC).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
