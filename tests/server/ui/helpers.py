"""Log in through the UI's form, as a browser would."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from labelwise.server.security import SESSION_COOKIE
from tests.server.conftest import PASSWORD

XSS_TEXT = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"

_HIDDEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def form_token(html: str) -> str:
    found = _HIDDEN.search(html)
    assert found is not None, html
    return found.group(1)


def page_csrf(html: str) -> str:
    found = _META.search(html)
    assert found is not None, html
    return found.group(1)


def ui_login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log ``client`` in; returns the session's CSRF token (from the projects page)."""
    token = form_token(client.get("/ui/login").text)
    response = client.post(
        "/ui/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert client.cookies.get(SESSION_COOKIE)
    return page_csrf(client.get("/ui/projects").text)
