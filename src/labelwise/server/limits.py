"""Admission control: at most as many requests in flight as there are connections for them.

A request holds one database connection (its session's) from its first query until it
ends, and hops between threads in the meantime (dependencies, then the route). If more
requests run than the pool has connections, a request holding a connection can wait for
a thread that a request waiting for a connection occupies: nobody progresses until the
pool's timeout, and then everyone fails. So requests queue *before* they start, in the
event loop (no thread, no connection held), and the app sizes the pool and the thread
limiter to fit the number admitted (see ``Settings.db_pool_size``). A request that
waited ``queue_timeout`` seconds is answered 503 with ``Retry-After``: nothing ran.
"""

from __future__ import annotations

import json

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from labelwise.service.transactions import RETRY_AFTER_S

#: Connections the pool keeps beyond the admitted requests: the retrain worker's thread.
WORKER_CONNECTIONS = 2
#: Threads beyond the admitted requests (the worker's start-up, a teardown in flight).
SPARE_THREADS = 4

# Packaged files (the page's scripts, the API docs' assets) touch no database.
_UNLIMITED_PREFIXES = ("/ui/static/", "/docs/static/", "/static/")


class RequestLimit:
    """ASGI middleware admitting at most ``limit`` HTTP requests at a time.

    Parameters
    ----------
    app : ASGIApp
    limit : int
        Requests that may run at once; later ones wait in arrival order.
    queue_timeout : float
        Seconds a request may wait for admission before it is answered 503.
    """

    def __init__(self, app: ASGIApp, *, limit: int, queue_timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.queue_timeout = queue_timeout
        self._slots: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_UNLIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created in the event loop that serves the requests
            self._slots = anyio.Semaphore(self.limit)
        slots = self._slots
        admitted = False
        with anyio.move_on_after(self.queue_timeout):  # bounds the wait, not the request
            await slots.acquire()
            admitted = True
        if not admitted:
            await _busy(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()


#: What a multipart request may carry beyond its file (boundaries, part headers, fields).
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class BodyLimit:
    """ASGI middleware refusing, before reading it, a body its length says is too large.

    The form parser would otherwise spool the whole upload to a temporary file before
    any route could look at it. Bodies without a ``Content-Length`` (chunked) are still
    measured while the import copies them (``service.import_jobs``).

    Parameters
    ----------
    app : ASGIApp
    max_bytes : int
        The largest file an upload may carry (``Settings.max_upload_bytes``); the body may
        exceed it by :data:`MULTIPART_OVERHEAD_BYTES`.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = dict(scope["headers"]).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_bytes + MULTIPART_OVERHEAD_BYTES:
                message = (
                    f"The upload is {int(declared):,} bytes; this server takes files of at "
                    f"most {self.max_bytes:,} bytes (LABELWISE_MAX_UPLOAD_BYTES). Nothing "
                    "was stored."
                )
                await _error(send, 413, "upload_too_large", message)
                return
        await self.app(scope, receive, send)


async def _busy(send: Send) -> None:
    await _error(
        send,
        503,
        "service_busy",
        "The server is busy with other requests; nothing was done, try again shortly.",
        headers=[(b"retry-after", str(RETRY_AFTER_S).encode())],
    )


async def _error(
    send: Send,
    status: int,
    kind: str,
    message: str,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    # The app's one error body shape, written before the app (and its handlers) ran.
    body = json.dumps({"error": {"type": kind, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
