"""A real server process (uvicorn) on a free port, for tests that go over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """``labelwise.server.app:create_app`` under uvicorn in a child process.

    Parameters
    ----------
    database_url, data_dir : where the server keeps its state (survives restarts).
    env : extra environment variables (``LABELWISE_*`` settings).
    """

    def __init__(self, database_url: str, data_dir: Path, **env: str) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 60.0) -> LiveServer:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "LABELWISE_DATABASE_URL": self.database_url,
            "LABELWISE_DATA_DIR": str(self.data_dir),
            "LABELWISE_WORKER_POLL_SECONDS": "0.05",
            # Live servers serve in a repeatable order too.
            "LABELWISE_SERVING_SEED": "20261125",
            **self.env,
        }
        self._log = log = (self.data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "labelwise.server.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited: {(self.data_dir / 'server.log').read_text()[-3000:]}"
                )
            try:
                if httpx.get(self.url + "/openapi.json", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing; what was committed must survive."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._log.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        if self.process is not None:
            self._log.close()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()


def login(url: str, username: str, password: str) -> httpx.Client:
    token = httpx.post(
        url + "/api/auth/token", json={"username": username, "password": password}, timeout=30
    ).json()["access_token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
