from __future__ import annotations

import pytest

from labelwise.service import users
from labelwise.service.errors import AuthenticationError, ConflictError, ValidationError


def test_password_is_stored_hashed_and_verifies(session):
    user = users.create_user(session, username="ana", password="correct horse")
    assert "correct horse" not in user.password_hash
    assert user.password_hash.startswith("$argon2")
    assert users.authenticate(session, username="ana", password="correct horse").id == user.id


@pytest.mark.parametrize(("name", "password"), [("ana", "wrong password"), ("bob", "whatever1")])
def test_wrong_password_and_unknown_user_fail_alike(session, name, password):
    users.create_user(session, username="ana", password="correct horse")
    with pytest.raises(AuthenticationError, match="Unknown user or wrong password"):
        users.authenticate(session, username=name, password=password)


def test_taken_username_and_short_password_are_refused(session):
    users.create_user(session, username="ana", password="correct horse")
    with pytest.raises(ConflictError):
        users.create_user(session, username="ana", password="another one")
    with pytest.raises(ValidationError, match="8 characters"):
        users.create_user(session, username="bob", password="short")


def test_token_round_trip_and_revocation(session):
    user = users.create_user(session, username="ana", password="correct horse")
    token = users.create_token(session, user=user, name="laptop")
    assert users.user_for_token(session, token=token).id == user.id
    users.revoke_token(session, token=token)
    with pytest.raises(AuthenticationError):
        users.user_for_token(session, token=token)
    with pytest.raises(AuthenticationError):
        users.user_for_token(session, token="lw_not-a-token")
