"""Browser sessions: the session cookie and the CSRF token derived from it.

A browser logs in through the UI's form and gets an API token (the same kind as
``POST /api/auth/token``, stored only hashed, revoked at log-out) in an HttpOnly,
SameSite=Lax cookie. The cookie authenticates UI pages and, for the UI's own
JavaScript, the JSON API; every state-changing request so authenticated must also carry
the session's CSRF token (``X-CSRF-Token`` header or ``csrf_token`` form field), an HMAC
of the session token under the app's secret key, which a cross-site page cannot read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "labelwise_session"
#: The login form's double-submit cookie (there is no session to derive a token from yet).
LOGIN_CSRF_COOKIE = "labelwise_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def app_secret(configured: str) -> str:
    """The configured secret key, or a random one for this process when none is set."""
    return configured or secrets.token_urlsafe(32)


def csrf_token(secret: str, session_token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of its token under the app's secret."""
    mac = hmac.new(secret.encode("utf-8"), b"csrf|" + session_token.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def request_secret(request: Request) -> str:
    secret: str = request.app.state.secret_key
    return secret


def session_csrf_ok(request: Request, session_token: str, given: str | None) -> bool:
    """Whether ``given`` is the CSRF token of ``session_token``."""
    return csrf_matches(csrf_token(request_secret(request), session_token), given)


def set_cookie(response: Response, request: Request, name: str, value: str, *, path: str) -> None:
    """An HttpOnly, SameSite=Lax cookie (Secure over HTTPS)."""
    response.set_cookie(
        name,
        value,
        path=path,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
