"""Users, passwords (argon2) and API tokens.

Like every public service function, these own their transaction: they commit on success
and leave rollback to the session's context manager on error.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelwise.service.errors import AuthenticationError, ConflictError, ValidationError
from labelwise.service.events import record
from labelwise.service.passwords import MAX_PASSWORD_CHARS, check_password
from labelwise.service.service_tokens import looks_like_service_token, refuse_service_token
from labelwise.service.token_hash import token_digest
from labelwise.service.transactions import begin_write, end_read
from labelwise.store import ApiToken, ServiceToken, User
from labelwise.store.models import username_key

_hasher = PasswordHasher()
# Verifying against this when the user does not exist keeps the response time the same,
# so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("labelwise-dummy-password")


def create_user(session: Session, *, username: str, password: str, is_admin: bool = False) -> User:
    """Add a user with an argon2 password hash.

    Usernames compare case-insensitively: ``Admin`` beside ``admin`` raises ConflictError
    naming the existing account. The password must pass :func:`check_password`
    (ValidationError saying why).
    """
    username = username.strip()
    if not username:
        raise ValidationError("A username may not be empty.")
    check_password(password, username=username)
    _refuse_taken(session, username)
    password_hash = _hasher.hash(password)  # slow on purpose: before the writer lock
    begin_write(session)
    _refuse_taken(session, username)
    user = User(username=username, password_hash=password_hash, is_admin=is_admin)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent insert of the same name (PostgreSQL: no writer lock) won the race.
        session.rollback()
        _refuse_taken(session, username)
        raise
    record(session, "user_created", user_id=user.id, username=username, is_admin=is_admin)
    session.commit()
    return user


def authenticate(session: Session, *, username: str, password: str) -> User:
    """The user whose password this is; AuthenticationError otherwise (same message).

    The username matches whatever its case. A password longer than any that can be set
    fails without being hashed.
    """
    if len(password) > MAX_PASSWORD_CHARS:
        raise AuthenticationError("Unknown user or wrong password.")
    user = find_user(session, username=username)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise AuthenticationError("Unknown user or wrong password.") from None
    if user is None:
        raise AuthenticationError("Unknown user or wrong password.")
    return user


def create_token(session: Session, *, user: User, name: str = "") -> str:
    """A new API token for ``user``; the secret is returned once and stored only hashed."""
    begin_write(session)
    secret = "lw_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=token_digest(secret)))
    session.flush()
    record(session, "token_created", user_id=user.id, name=name)
    session.commit()
    return secret


def user_for_token(session: Session, *, token: str) -> User:
    """The owner of an unrevoked token; AuthenticationError otherwise."""
    row = session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None:
        if looks_like_service_token(token) and session.scalar(
            select(ServiceToken.id).where(ServiceToken.token_hash == token_digest(token))
        ):
            refuse_service_token(token)
        raise AuthenticationError("Unknown or revoked API token.")
    return row.user


def revoke_token(session: Session, *, token: str) -> None:
    begin_write(session)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        record(session, "token_revoked", user_id=row.user_id)
    session.commit()  # also when nothing changed: the write transaction ends here


def list_users(session: Session) -> list[User]:
    """Every user, by username."""
    found = list(session.scalars(select(User).order_by(User.username)))
    end_read(session)
    return found


def find_user(session: Session, *, username: str) -> User | None:
    """The user of this name, whatever its case; None when there is none."""
    return session.scalar(select(User).where(User.username_key == username_key(username.strip())))


def get_user(session: Session, *, username: str) -> User:
    """The user of this name, whatever its case; ValidationError naming it otherwise."""
    user = find_user(session, username=username)
    if user is None:
        raise ValidationError(f"No user named {username!r}.")
    return user


def set_password(session: Session, *, username: str, password: str) -> User:
    """Give an existing user a new password (checked like a new account's).

    Their API tokens stay valid: revoke them separately when the old password leaked.
    """
    user = get_user(session, username=username)
    check_password(password, username=user.username)
    password_hash = _hasher.hash(password)  # slow on purpose: before the writer lock
    begin_write(session)
    user.password_hash = password_hash
    record(session, "password_set", user_id=user.id)
    session.commit()
    return user


def _refuse_taken(session: Session, username: str) -> None:
    existing = find_user(session, username=username)
    if existing is not None:
        same = existing.username == username
        raise ConflictError(
            f"User {existing.username!r} already exists"
            + ("." if same else f" (usernames ignore case, so {username!r} is taken).")
        )
