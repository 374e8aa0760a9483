"""Tokens: log in with a password, log out by revoking the token in use."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from labelwise.server.deps import CurrentUser, SessionDep, TokenDep
from labelwise.server.schemas.auth import LoginIn, TokenOut
from labelwise.server.throttle import THROTTLED_RESPONSE, client_ip, request_throttle
from labelwise.service import users

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut, responses=THROTTLED_RESPONSE)
def log_in(body: LoginIn, request: Request, session: SessionDep) -> TokenOut:
    """A new API token for a correct username and password (401 otherwise).

    Too many failures for the username, or from the client, answer 429 with a
    ``Retry-After`` header until the window has passed, whatever the password.
    """
    throttle = request_throttle(request)
    # Before authenticate(): a locked attempt must not cost (or time) a password hash.
    attempt = throttle.begin(body.username, client_ip(request))
    # authenticate() only proves the password; create_token() is the one write.
    user = users.authenticate(session, username=body.username, password=body.password)
    throttle.succeeded(attempt)
    return TokenOut(access_token=users.create_token(session, user=user, name=body.token_name))


@router.delete("/token", status_code=status.HTTP_204_NO_CONTENT)
def log_out(session: SessionDep, token: TokenDep, _user: CurrentUser) -> None:
    """Revoke the token this request carries."""
    users.revoke_token(session, token=token)
