"""Start the service for tests and notebooks: in a subprocess on a free port, or in a thread.

`start_service` runs `python -m qa_utils serve` and waits until /health answers; the returned
`Service` stops it (SIGTERM) and keeps its log. `serve_in_thread` runs an app in-process.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from threading import Thread

import httpx
import uvicorn
from fastapi import FastAPI

from qa_utils.project.paths import REPO_ROOT
from qa_utils.serving.app import DrainingServer


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on `host` (another process could still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(
    url: str, timeout_s: float = 120.0, process: subprocess.Popen | None = None
) -> None:
    """Poll `url`/health until it answers 200; fail early if `process` exits.

    Raises:
        TimeoutError: no healthy answer within `timeout_s`.
        RuntimeError: `process` ended before the service became healthy.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the service exited with status {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url}/health did not answer within {timeout_s:.0f} s")


@dataclass
class Service:
    """A service started with `start_service`: its process, address and log file."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def log(self) -> str:
        """Everything the service printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout_s: float = 30.0) -> int:
        """Send SIGTERM, wait for a clean exit (kill after `timeout_s`); return the status."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        return int(self.process.returncode)


def start_service(
    model: str | Path,
    log_path: str | Path,
    port: int = 0,
    extra_args: Sequence[str] = (),
    timeout_s: float = 180.0,
) -> Service:
    """Start `python -m qa_utils.serve` on 127.0.0.1 in the background and wait for /health.

    Args:
        model: What to serve (see `--model`).
        log_path: File that receives the service's output.
        port: Port to listen on; 0 picks a free one.
        extra_args: Further command-line options, e.g. ("--max-concurrency", "2").
        timeout_s: How long to wait for the model to load.
    """
    port = port or free_port()
    root = str(REPO_ROOT)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "qa_utils",
        "serve",
        "--model",
        str(model),
        "--port",
        str(port),
    ]
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [*command, *extra_args], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    service = Service(process, f"http://127.0.0.1:{port}", log_path)
    atexit.register(service.stop)  # never leave a server behind when the caller exits
    try:
        wait_until_healthy(service.url, timeout_s, process)
    except (TimeoutError, RuntimeError) as exc:
        service.stop()
        raise RuntimeError(f"{exc}; service log:\n{service.log()[-2000:]}") from exc
    return service


@contextmanager
def serve_in_thread(
    app: FastAPI, timeout_s: float = 60.0, graceful_s: float | None = None
) -> Iterator[str]:
    """Run `app` with uvicorn on a free 127.0.0.1 port in a thread; yield its URL.

    Leaving the block asks the server to shut down (as SIGTERM would: the app drains for at
    most `graceful_s` seconds, None waiting for every request) and waits for it.
    """
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=graceful_s
    )
    server = DrainingServer(config, app)
    thread = Thread(target=server.run, name="qa-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        raise RuntimeError("the service did not start (see the log above)")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
