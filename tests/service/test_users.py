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


def test_usernames_are_case_insensitive_and_a_case_variant_is_refused(session):
    users.create_user(session, username="admin", password="correct horse")
    with pytest.raises(ConflictError, match=r"User 'admin' already exists .*'Admin' is taken"):
        users.create_user(session, username="Admin", password="another one")
    assert users.authenticate(session, username="ADMIN", password="correct horse").username == (
        "admin"
    )
    assert users.get_user(session, username="Admin").username == "admin"
    assert users.find_user(session, username="nobody") is None
    assert [user.username for user in users.list_users(session)] == ["admin"]


@pytest.mark.parametrize(
    ("password", "reason"),
    [("password123", "most common"), ("Grace-Hopper", "the username"), ("x" * 257, "at most 256")],
)
def test_a_new_account_needs_an_uncommon_password_that_is_not_its_name(session, password, reason):
    with pytest.raises(ValidationError, match=reason):
        users.create_user(session, username="grace-hopper", password=password)
    assert users.list_users(session) == []


def test_an_overlong_password_fails_log_in_without_being_hashed(session, monkeypatch):
    users.create_user(session, username="ana", password="correct horse")

    class Refusing:
        def verify(self, *_args: object) -> None:
            raise AssertionError("an overlong password must not be hashed")

    monkeypatch.setattr(users, "_hasher", Refusing())
    with pytest.raises(AuthenticationError, match="Unknown user or wrong password"):
        users.authenticate(session, username="ana", password="x" * 100_000)


def test_set_password_replaces_the_hash_and_checks_the_policy(session):
    users.create_user(session, username="ana", password="correct horse")
    with pytest.raises(ValidationError, match="most common"):
        users.set_password(session, username="ana", password="letmein123")
    users.set_password(session, username="ANA", password="a brand new passphrase")
    assert users.authenticate(session, username="ana", password="a brand new passphrase")
    with pytest.raises(AuthenticationError):
        users.authenticate(session, username="ana", password="correct horse")
    with pytest.raises(ValidationError, match="No user named 'bob'"):
        users.set_password(session, username="bob", password="a brand new passphrase")


def test_concurrent_case_variants_make_one_account_and_one_conflict(session_factory):
    import threading

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(name: str) -> None:
        with session_factory() as session:
            barrier.wait()
            try:
                users.create_user(session, username=name, password="correct horse")
                outcomes.append("created")
            except ConflictError as exc:
                assert "already exists" in str(exc)
                outcomes.append("conflict")

    threads = [threading.Thread(target=create, args=(name,)) for name in ("Bob", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "created"]
    with session_factory() as session:
        assert len(users.list_users(session)) == 1
