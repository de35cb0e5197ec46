"""Browser tests: Debian's Chromium driven by Playwright against a live uvicorn server.

Chromium is launched from /usr/bin/chromium (never `playwright install`). Without it, or
without axe-core from npm (`npm ci`), the tests are skipped with a message; in CI
(``BACKPATH_REQUIRE_SERVICES=1``) they fail instead. Screenshots go to
test-artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from backpath.store import Store
from tests.conftest import need
from tests.web._support import add_clinician, make_app

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
# Screenshots of the emergency screen and the result, looked at by whoever changes them.
REVIEW_SHOTS = Path(os.environ.get("BACKPATH_SHOTS_DIR", "/tmp/backpath-shots"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class LiveServer:
    """A running app: its address and its database."""

    url: str
    store: Store
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and close the database."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.store.dispose()


def start_server(folder: Path) -> LiveServer:
    """Serve a fresh app (with one clinician login) on a free loopback port in a thread."""
    app, store = make_app(folder, api_anonymous_posts=True)
    add_clinician(store)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", store, server, thread)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium with flags that work in a container."""
    need("Chromium", CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One app for the patient-flow tests."""
    running = start_server(tmp_path_factory.mktemp("live"))
    yield running
    running.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    """An app with an empty database (for tests about the worklist order)."""
    running = start_server(tmp_path)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The axe-core script from npm (`npm ci`)."""
    need("axe-core", AXE.exists(), f"{AXE} is missing: run `npm ci` in the repository root")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Folder for screenshots (kept as test artefacts)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def review_shots() -> Path:
    """Folder for the screenshots to look at (``BACKPATH_SHOTS_DIR``, /tmp/backpath-shots)."""
    REVIEW_SHOTS.mkdir(parents=True, exist_ok=True)
    return REVIEW_SHOTS
