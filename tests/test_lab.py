"""`make lab`: JupyterLab is pinned, starts on the notebooks with the project's kernel, stops."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from qa_utils.project.paths import REPO_ROOT


def pin(path: Path, package: str) -> str:
    """The `package==VERSION` pin in a requirements or environment file."""
    found = re.findall(rf"^\s*(?:- )?{package}==(\S+)$", path.read_text(), re.M)
    assert len(found) == 1, f"{path.name}: expected one pin of {package}, found {found}"
    return found[0]


def test_jupyterlab_is_pinned_alike_in_requirements_and_environment():
    assert pin(REPO_ROOT / "requirements.txt", "jupyterlab") == pin(
        REPO_ROOT / "environment.yml", "jupyterlab"
    )


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, token: str, process: subprocess.Popen, seconds: float = 180) -> dict:
    """GET `url` with the token until the server answers 200 (or the process ends)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            response = httpx.get(url, headers={"Authorization": f"token {token}"}, timeout=5)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise AssertionError(f"{url}: no answer (server exit status {process.poll()})")


@pytest.mark.slow
def test_make_lab_serves_the_notebooks_with_the_project_kernel(tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    options = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
    options += f"--IdentityProvider.token={token}"
    # -o install: use the running interpreter's environment as it is, without reinstalling.
    command = ["make", "--no-print-directory", "-o", "install", "lab", f"VENV={sys.prefix}"]
    command += [f"PY={sys.executable}", f"LAB_ARGS={options}"]
    env = os.environ | {"JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    log = (tmp_path / "lab.log").open("w")
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        listing = wait_for(f"{base}/api/contents/", token, process)
        kernels = wait_for(f"{base}/api/kernelspecs", token, process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        log.close()
    names = {item["name"] for item in listing["content"]}
    assert {p.name for p in (REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")} <= names
    assert kernels["default"] == "qa-eval-lab"
    spec = kernels["kernelspecs"]["qa-eval-lab"]["spec"]
    assert spec["argv"][0] == sys.executable  # the project's interpreter
