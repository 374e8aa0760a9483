"""Admission control: requests beyond the limit wait in the event loop, then get a 503."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from labelwise.server.app import create_app
from labelwise.server.limits import SPARE_THREADS, RequestLimit
from labelwise.settings import Settings


def _gated_app(gate: anyio.Event, started: list[str]) -> ASGIApp:
    async def app(scope: Scope, _receive: Receive, send: Send) -> None:
        started.append(scope["path"])
        if scope["path"] == "/slow":
            await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def test_requests_beyond_the_limit_wait_then_get_503_with_retry_after() -> None:
    async def scenario() -> None:
        gate, started = anyio.Event(), list[str]()
        limited = RequestLimit(_gated_app(gate, started), limit=1, queue_timeout=0.3)
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            slow: list[httpx.Response] = []

            async def _slow() -> None:
                slow.append(await client.get("/slow"))

            async with anyio.create_task_group() as tg:
                tg.start_soon(_slow)
                await anyio.sleep(0.05)
                refused = await client.get("/api/projects")
                # Packaged files need no database: never queued.
                static = await client.get("/ui/static/js/main.js")
                gate.set()
            assert refused.status_code == 503
            assert int(refused.headers["retry-after"]) >= 1
            assert refused.json()["error"]["type"] == "service_busy"
            assert static.status_code == 200
            assert slow[0].status_code == 200
            # The refused request never reached the app; a slot is free again now.
            assert "/api/projects" not in started
            assert (await client.get("/api/projects")).status_code == 200

    anyio.run(scenario)


def test_a_waiting_request_runs_when_a_slot_frees_in_time() -> None:
    async def scenario() -> None:
        gate, started = anyio.Event(), list[str]()
        limited = RequestLimit(_gated_app(gate, started), limit=1, queue_timeout=5)
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers: list[httpx.Response] = []

            async def _get(path: str) -> None:
                answers.append(await client.get(path))

            async with anyio.create_task_group() as tg:
                tg.start_soon(_get, "/slow")
                await anyio.sleep(0.05)
                tg.start_soon(_get, "/fast")
                await anyio.sleep(0.05)
                assert started == ["/slow"]  # the second waits for the slot
                gate.set()
            assert sorted(r.status_code for r in answers) == [200, 200]
            assert started == ["/slow", "/fast"]

    anyio.run(scenario)


def test_the_thread_pool_fits_the_admitted_requests(database_url: str, tmp_path: Path) -> None:
    # Each admitted request must find a thread for every hop (dependencies, route).
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, run_worker=False, db_pool_size=70
    )
    app = create_app(settings)
    seen: list[int] = []

    @app.get("/threads")
    async def threads() -> dict[str, int]:
        seen.append(int(anyio.to_thread.current_default_thread_limiter().total_tokens))
        return {}

    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        assert client.get("/threads").status_code == 200
    assert seen == [70 + SPARE_THREADS]
