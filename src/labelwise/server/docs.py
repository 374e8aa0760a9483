"""``/docs`` (Swagger UI) and ``/redoc`` from files shipped in a package, never a CDN.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so they are blank on a machine
without internet access. The ``fastapi-offline`` package bundles both; its files are served
under ``/static/docs`` and the two pages point at them. Each page carries a
Content-Security-Policy that allows its own files and nothing from elsewhere: Swagger UI's
one inline start-up script is allowed by its hash, and both viewers need inline styles
(they set them from script) and ReDoc a ``blob:`` worker for its search.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: Where the bundled Swagger UI and ReDoc files are served.
DOCS_STATIC = "/static/docs"
ASSETS = Path(fastapi_offline.__file__).parent / "static"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _csp(inline_scripts: list[str]) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(code.encode()).digest()).decode() + "'"
        for code in inline_scripts
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}".rstrip()
        + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )


def _headers(body: str) -> dict[str, str]:
    """Security headers for the page ``body``: a CSP allowing exactly its inline scripts."""
    return {
        "Content-Security-Policy": _csp(_INLINE_SCRIPT.findall(body)),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def mount_docs(app: FastAPI, *, openapi_url: str = "/openapi.json") -> None:
    """Add ``/docs``, ``/redoc`` and their files to ``app`` (built with ``docs_url=None``)."""
    app.mount(DOCS_STATIC, StaticFiles(directory=ASSETS), name="docs-static")
    title = f"{app.title} API"
    favicon = "/ui/static/favicon.svg"
    swagger = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=title,
        swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
        swagger_favicon_url=favicon,
        # Without this, Swagger UI asks an online validator about the schema.
        swagger_ui_parameters={"validatorUrl": None},
    )
    redoc = get_redoc_html(
        openapi_url=openapi_url,
        title=title,
        redoc_js_url=f"{DOCS_STATIC}/redoc.standalone.js",
        redoc_favicon_url=favicon,
        with_google_fonts=False,
    )
    pages = {"/docs": bytes(swagger.body).decode(), "/redoc": bytes(redoc.body).decode()}
    for path, body in pages.items():
        app.add_api_route(path, _endpoint(body), methods=["GET"], include_in_schema=False)


def _endpoint(body: str) -> Callable[[], HTMLResponse]:
    headers = _headers(body)

    def page() -> HTMLResponse:
        return HTMLResponse(body, headers=headers)

    return page
