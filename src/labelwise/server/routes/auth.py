"""Tokens: log in with a password, log out by revoking the token in use."""

from __future__ import annotations

from fastapi import APIRouter, status

from labelwise.server.deps import CurrentUser, SessionDep, TokenDep
from labelwise.server.schemas.auth import LoginIn, TokenOut
from labelwise.service import users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut)
def log_in(body: LoginIn, session: SessionDep) -> TokenOut:
    """A new API token for a correct username and password (401 otherwise)."""
    # authenticate() only proves the password; create_token() is the one write.
    user = users.authenticate(session, username=body.username, password=body.password)
    return TokenOut(access_token=users.create_token(session, user=user, name=body.token_name))


@router.delete("/token", status_code=status.HTTP_204_NO_CONTENT)
def log_out(session: SessionDep, token: TokenDep, _user: CurrentUser) -> None:
    """Revoke the token this request carries."""
    users.revoke_token(session, token=token)
