"""``labelwise users add`` and ``labelwise users token``."""

from __future__ import annotations

from labelwise.service import users
from labelwise.store import make_engine, make_session_factory


def test_add_a_user_with_a_prompted_password_and_issue_a_token(cli, database_url):
    added = cli("users", "add", "alice", input="alice-password\nalice-password\n")
    assert added.exit_code == 0, added.output
    assert "user created: alice" in added.output
    result = cli("users", "token", "alice", "--name", "laptop")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("lw_")
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        assert users.user_for_token(session, token=token).username == "alice"
        assert not users.authenticate(session, username="alice", password="alice-password").is_admin
    engine.dispose()


def test_admins_short_passwords_and_unknown_users(cli):
    assert (
        "site admin" in cli("users", "add", "boss", "--password", "boss-password", "--admin").output
    )
    short = cli("users", "add", "bob", "--password", "short")
    assert short.exit_code == 2 and "8 characters" in short.output
    unknown = cli("users", "token", "nobody")
    assert unknown.exit_code == 2 and "No user named 'nobody'" in unknown.output


def test_set_password_prompts_twice_and_finds_the_user_whatever_the_case(cli, database_url):
    assert cli("users", "add", "Alice", "--password", "alice-password").exit_code == 0
    result = cli("users", "set-password", "ALICE", input="a new passphrase\na new passphrase\n")
    assert result.exit_code == 0, result.output
    assert "password set for Alice" in result.output
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        assert users.authenticate(session, username="alice", password="a new passphrase")
    engine.dispose()


def test_set_password_refuses_weak_passwords_and_unknown_users(cli):
    assert cli("users", "add", "alice", "--password", "alice-password").exit_code == 0
    weak = cli("users", "set-password", "alice", "--password", "iloveyou2")
    assert weak.exit_code == 2 and "most common" in weak.output
    unknown = cli("users", "set-password", "nobody")
    assert unknown.exit_code == 2 and "No user named 'nobody'" in unknown.output
    assert "New password" not in unknown.output  # not asked for a password it could not set


def test_a_case_variant_of_a_user_is_refused(cli):
    assert cli("users", "add", "alice", "--password", "alice-password").exit_code == 0
    again = cli("users", "add", "ALICE", "--password", "alice-password")
    assert again.exit_code == 2 and "User 'alice' already exists" in again.output
