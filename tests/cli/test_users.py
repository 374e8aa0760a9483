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
