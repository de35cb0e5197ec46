"""`backpath serve` as a real process: it prints how to use it, and a killed server loses
nothing that it had acknowledged."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import backpath
from backpath.store import open_store
from backpath.store.models import StoredAssessment

SOURCE_ROOT = Path(backpath.__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(
    folder: Path, database_url: str
) -> Iterator[tuple[str, subprocess.Popen[bytes], Path]]:
    """Start `backpath serve` on a free port and wait until it answers."""
    port = free_port()
    log = folder / f"serve-{port}.log"
    env = {
        "BACKPATH_API_ANONYMOUS_POSTS": "1",  # the tests post like an old client
        **os.environ,
        "PYTHONPATH": f"{SOURCE_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    env.pop("BACKPATH_SECRET_KEY", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "backpath",
                "serve",
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--data-dir",
                str(folder),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(log.read_text(errors="replace"))
            time.sleep(0.1)
        yield base, process, log
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def post_json(url: str, body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    """POST JSON and return (status, decoded body)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


@pytest.mark.slow
def test_serve_prints_the_url_and_how_to_create_a_clinician(tmp_path: Path) -> None:
    """`backpath serve` prints where it runs and the `backpath users create` command."""
    with running_server(tmp_path, f"sqlite:///{tmp_path / 'app.db'}") as (base, _process, log):
        text = log.read_text()
        with urllib.request.urlopen(f"{base}/", timeout=5) as response:
            assert response.status == 200
    assert f"{base}/" in text
    assert "backpath users create" in text
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.slow
def test_sigkill_right_after_201_loses_nothing(tmp_path: Path) -> None:
    """A stored assessment acknowledged with 201 survives SIGKILL of the server."""
    database = tmp_path / "app.db"
    url = f"sqlite:///{database}"
    intake = {"age": 45, "answers": {"leg_pain": True, "saddle_numbness": True}}
    with running_server(tmp_path, url) as (base, process, _log):
        status, body = post_json(f"{base}/api/v1/assessments", intake)
        assert status == 201
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL

    store = open_store(url)
    try:
        with store.session() as db:
            row = db.get(StoredAssessment, body["id"])
            assert row is not None
            assert row.urgency == "emergency"
            assert row.result == body["result"]
    finally:
        store.dispose()

    with (
        running_server(tmp_path, url) as (base, _process, _log),
        urllib.request.urlopen(f"{base}{body['patient_link']}", timeout=10) as response,
    ):
        page = response.read().decode()
    assert 'data-urgency="emergency"' in page
