"""A server killed with SIGKILL in the middle of a load loses no acknowledged assessment.

Issue 12 (acceptance): a bounded load test on loopback, on SQLite and on PostgreSQL. The
real server (``backpath serve``) runs as a subprocess on a fresh database; a few client
threads post intakes with an API token and an ``Idempotency-Key`` each, and keep every
acknowledgement (201 with an id). The server is killed with SIGKILL while they post, then
started again on the same database and the same data folder. Then:

- every acknowledged assessment is stored, with the urgency the client was told;
- ``backpath audit verify`` passes (every create has its audit row; a kill cannot leave a
  half-written row, because the row, its hash and the chain head are one transaction);
- a retried POST with an acknowledged key gives the same id back (a replay), and so does
  a retried POST whose answer was lost in the kill if it had been stored; a request that
  was not stored is stored once. No key ever makes two rows.

Why nothing can be torn: SQLite runs in WAL mode with ``synchronous=FULL`` (store.db), so
a transaction is in the log file before COMMIT returns, and a killed process leaves the
log to be replayed by the next opener; PostgreSQL's commit waits for its WAL flush. The
201 is sent only after the commit. An UPDATE behind the app's back is covered by
tests/store/test_audit_chain.py (SQLite through ``sqlite3`` itself, and PostgreSQL).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

import backpath
from backpath.cli import app as cli
from backpath.store import open_store
from backpath.store.audit import verify_chain
from backpath.store.idempotency import IdempotencyKey
from backpath.store.models import AuditEvent, StoredAssessment

pytestmark = pytest.mark.slow

SOURCE_ROOT = Path(backpath.__file__).resolve().parents[1]
CLIENT_THREADS = 4
KILL_AFTER_ACKNOWLEDGED = 40  # SIGKILL once this many posts were acknowledged
LOAD_DEADLINE_S = 25.0  # the load never runs longer than this, acknowledged or not
REQUEST_TIMEOUT_S = 20.0  # generous: the machine may be busy; a timeout fails the test

# Intakes of each urgency band: the red flags (saddle numbness, new bladder trouble) make
# an emergency, pain with no flag a routine or self-care result. Which urgency each gets is
# not assumed here: the test compares what was stored with what the server answered.
INTAKES: tuple[dict[str, Any], ...] = (
    {"age": 45, "answers": {"leg_pain": True, "saddle_numbness": True}},
    {"age": 38, "answers": {"leg_pain": False, "saddle_numbness": False}},
    {"age": 71, "answers": {"leg_pain": True, "saddle_numbness": False}},
    {"age": 29, "answers": {"saddle_numbness": False}},
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    """The test's environment for backpath subprocesses: the source tree on the path, no
    secret key or anonymous posting from the caller's shell."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{SOURCE_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    for name in ("BACKPATH_SECRET_KEY", "BACKPATH_API_ANONYMOUS_POSTS", "BACKPATH_DATABASE_URL"):
        env.pop(name, None)
    return env


def _backpath(*arguments: str) -> Result:
    """Run a ``backpath`` command (in this process: the same code an operator runs)."""
    return CliRunner().invoke(cli, list(arguments))


@contextmanager
def _server(folder: Path, database_url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``backpath serve`` on a free loopback port, waited for until /healthz answers."""
    port = _free_port()
    log = folder / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "backpath",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--data-dir",
                str(folder),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_env(),
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
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _post(
    base: str, token: str, key: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST an intake with the token and key: (status, decoded body, headers)."""
    request = urllib.request.Request(
        f"{base}/api/v1/assessments",
        data=json.dumps(body).encode(),
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
            "idempotency-key": key,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            document = json.loads(raw or b"{}")
        except ValueError:  # a 5xx page that is not JSON is still a refusal to report
            document = {"raw": raw[:200].decode("utf-8", "replace")}
        return exc.code, document, dict(exc.headers)


@dataclass
class Load:
    """What the clients saw: acknowledged posts and posts whose answer never came."""

    acknowledged: dict[str, tuple[dict[str, Any], str, str]] = field(default_factory=dict)
    """key -> (body, id, urgency) for every 201 received."""
    unanswered: dict[str, dict[str, Any]] = field(default_factory=dict)
    """key -> body for every post that got no answer (connection reset by the kill)."""
    refused: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(base: str, token: str, load: Load, stop: threading.Event, number: int) -> None:
    """Post intakes until ``stop``; file each outcome in ``load``."""
    sent = 0
    while not stop.is_set():
        body = {**INTAKES[(number + sent) % len(INTAKES)], "patient_ref": f"load-{number}-{sent}"}
        sent += 1
        key = str(uuid.uuid4())
        try:
            status, answer, _headers = _post(base, token, key, body)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            with load.lock:
                load.unanswered[key] = body
            continue
        except Exception as exc:  # anything else fails the test (not a silent dead thread)
            with load.lock:
                load.refused.append((0, {"exception": repr(exc)}))
            return
        with load.lock:
            if status == 201 and answer.get("id"):
                load.acknowledged[key] = (body, answer["id"], answer["result"]["urgency"])
            else:
                load.refused.append((status, answer))


def _make_token(database_url: str, folder: Path) -> str:
    """An ``assessments:write`` token made with ``backpath tokens create`` (audited)."""
    made = _backpath(
        "tokens",
        "create",
        "load-test",
        "--scope",
        "assessments:write",
        "--database-url",
        database_url,
        "--data-dir",
        str(folder),
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[0]
    assert token.startswith("bp_"), made.stdout
    return token


def test_sigkill_mid_load_loses_no_acknowledged_assessment(
    database_url: str, tmp_path: Path
) -> None:
    """Kill the server while four clients post; every 201 survives, the audit chain holds,
    and retrying any key after the restart never makes a second row."""
    token = _make_token(database_url, tmp_path)
    load = Load()
    stop = threading.Event()
    with _server(tmp_path, database_url) as (base, process):
        clients = [
            threading.Thread(target=_client, args=(base, token, load, stop, n), daemon=True)
            for n in range(CLIENT_THREADS)
        ]
        for thread in clients:
            thread.start()
        deadline = time.monotonic() + LOAD_DEADLINE_S
        while len(load.acknowledged) < KILL_AFTER_ACKNOWLEDGED and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)  # mid-load: the clients are still posting
        stop.set()
        process.wait(timeout=10)
        for thread in clients:
            thread.join(timeout=REQUEST_TIMEOUT_S + 5)
    assert process.returncode == -signal.SIGKILL
    assert not load.refused, load.refused[:3]
    assert len(load.acknowledged) >= KILL_AFTER_ACKNOWLEDGED // 2, (
        f"only {len(load.acknowledged)} posts acknowledged before the deadline"
    )

    # 1. Every acknowledged assessment is in the database with the urgency it was told.
    store = open_store(database_url)
    try:
        with store.session() as db:
            stored = dict(
                db.execute(
                    select(StoredAssessment.id, StoredAssessment.urgency).where(
                        StoredAssessment.id.in_([a[1] for a in load.acknowledged.values()])
                    )
                ).all()
            )
            report = verify_chain(db)
        missing = [a for a in load.acknowledged.values() if a[1] not in stored]
        assert not missing, f"{len(missing)} acknowledged assessments lost, e.g. {missing[0]}"
        wrong = [a for a in load.acknowledged.values() if stored[a[1]] != a[2]]
        assert not wrong, f"stored with another urgency than acknowledged: {wrong[:3]}"
        assert report.ok, report.broken
    finally:
        store.dispose()

    # 2. `backpath audit verify` agrees (exit 0, "OK").
    verified = _backpath("audit", "verify", "--database-url", database_url)
    assert verified.exit_code == 0, verified.output
    assert "OK" in verified.stdout

    # 3. Restart on the same database and folder; retry keys after the kill.
    replayed_ids: dict[str, str] = {}
    stored_unanswered: list[str] = []
    with _server(tmp_path, database_url) as (base, _process):
        sample = list(load.acknowledged.items())[:8]
        for key, (body, assessment_id, urgency) in sample:
            status, answer, headers = _post(base, token, key, body)
            assert status == 201, answer
            assert answer["id"] == assessment_id, "a retried key made a second assessment"
            assert answer["result"]["urgency"] == urgency
            assert headers.get("idempotent-replayed") == "true"
        for key, body in load.unanswered.items():  # the answers lost in the kill
            status, answer, headers = _post(base, token, key, body)
            assert status == 201, answer
            replayed_ids[key] = answer["id"]
            if headers.get("idempotent-replayed") == "true":
                stored_unanswered.append(key)

    print(  # shown with -s: what the kill caught in flight
        f"acknowledged {len(load.acknowledged)}, unanswered {len(load.unanswered)} "
        f"(of which stored before the kill, now replayed: {len(stored_unanswered)})"
    )

    # 4. One row per key: nothing acknowledged or retried was stored twice.
    store = open_store(database_url)
    try:
        with store.session() as db:
            rows = db.scalar(select(func.count()).select_from(StoredAssessment))
            keys = db.scalar(select(func.count()).select_from(IdempotencyKey))
            creates = db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "create", AuditEvent.target_type == "assessment")
            )
            report = verify_chain(db)
    finally:
        store.dispose()
    expected = len(load.acknowledged) + len(set(replayed_ids.values()))
    assert len(set(replayed_ids.values())) == len(replayed_ids)
    assert not set(replayed_ids.values()) & {a[1] for a in load.acknowledged.values()}
    assert rows == expected == keys, (rows, expected, keys)
    assert creates == rows, "an assessment without its audit row (or the reverse)"
    assert report.ok, report.broken
