"""Users, passwords (argon2) and API tokens.

Like every public service function, these own their transaction: they commit on success
and leave rollback to the session's context manager on error.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelwise.service.errors import AuthenticationError, ConflictError, ValidationError
from labelwise.service.events import record
from labelwise.service.transactions import end_read
from labelwise.store import ApiToken, User

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same,
# so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("labelwise-dummy-password")


def create_user(session: Session, *, username: str, password: str, is_admin: bool = False) -> User:
    """Add a user with an argon2 password hash. Raises ConflictError for a taken name."""
    username = username.strip()
    if not username:
        raise ValidationError("A username may not be empty.")
    if len(password) < 8:
        raise ValidationError("A password needs at least 8 characters.")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise ConflictError(f"User {username!r} already exists.")
    user = User(username=username, password_hash=_hasher.hash(password), is_admin=is_admin)
    session.add(user)
    session.flush()
    record(session, "user_created", user_id=user.id, username=username, is_admin=is_admin)
    session.commit()
    return user


def authenticate(session: Session, *, username: str, password: str) -> User:
    """The user whose password this is; AuthenticationError otherwise (same message)."""
    user = session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise AuthenticationError("Unknown user or wrong password.") from None
    if user is None:
        raise AuthenticationError("Unknown user or wrong password.")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, *, user: User, name: str = "") -> str:
    """A new API token for ``user``; the secret is returned once and stored only hashed."""
    secret = "lw_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(secret)))
    session.flush()
    record(session, "token_created", user_id=user.id, name=name)
    session.commit()
    return secret


def user_for_token(session: Session, *, token: str) -> User:
    """The owner of an unrevoked token; AuthenticationError otherwise."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        raise AuthenticationError("Unknown or revoked API token.")
    return row.user


def revoke_token(session: Session, *, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        record(session, "token_revoked", user_id=row.user_id)
        session.commit()


def list_users(session: Session) -> list[User]:
    """Every user, by username."""
    found = list(session.scalars(select(User).order_by(User.username)))
    end_read(session)
    return found


def get_user(session: Session, *, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ValidationError(f"No user named {username!r}.")
    return user
