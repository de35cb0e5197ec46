"""Sign-in: failures slow further attempts down (per username and per address) but never
lock anyone out; password checks leave the app responsive; weak passwords are refused."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from backpath.store import Store, accounts
from backpath.store.models import AuditEvent
from tests.web._support import CLINICIAN, add_clinician, login, make_app

# Short waits so the tests stay quick: 0.3 s after the free failures, doubling, at most 0.6 s.
FAST = {
    "login_free_failures_per_user": 2,
    "login_free_failures_per_client": 4,
    "login_delay_base_seconds": 0.3,
    "login_delay_max_seconds": 0.6,
}


@pytest.mark.parametrize(
    ("failures", "expected"),
    [(0, 0.0), (2, 0.0), (3, 1.0), (4, 2.0), (5, 4.0), (8, 30.0), (10_000, 30.0)],
)
def test_the_wait_doubles_after_the_free_failures_up_to_a_ceiling(
    failures: int, expected: float
) -> None:
    """Three free failures (typos), then 1, 2, 4 ... seconds, never more than 30."""
    assert accounts.sign_in_delay(failures, free=3, base_seconds=1.0, max_seconds=30.0) == expected


def _timed_login(client: TestClient, **kwargs: Any) -> tuple[int, float]:
    page = client.get("/clinic/login")  # outside the timing: only the POST waits
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    data = {
        "csrf_token": csrf.group(1),
        "username": kwargs.get("username", CLINICIAN[0]),
        "password": kwargs.get("password", CLINICIAN[1]),
    }
    started = time.perf_counter()
    response = client.post("/clinic/login", data=data, follow_redirects=False)
    return response.status_code, time.perf_counter() - started


@pytest.fixture
def fast_app(tmp_path: Path) -> Any:
    """An app with short sign-in waits, and a clinician account."""
    app, store = make_app(tmp_path, **FAST)
    add_clinician(store)
    yield app, store
    store.dispose()


def test_failures_slow_the_next_attempts_but_the_right_password_still_works(
    fast_app: tuple[Any, Store],
) -> None:
    """After the free failures each attempt waits; the right password after the wait
    signs in, however many wrong ones came before (no lockout)."""
    app, store = fast_app
    with TestClient(app) as client:
        for _ in range(2):
            assert _timed_login(client, password="wrong password!")[0] == 401
        status, took = _timed_login(client, password="wrong password!")
        assert status == 401
        assert took >= 0.3
        for _ in range(5):
            assert _timed_login(client, password="wrong password!")[0] == 401
        status, took = _timed_login(client)
        assert status == 303  # signed in, redirected to the worklist
        assert took >= 0.6  # it waited the ceiling first
        assert client.get("/clinic", follow_redirects=False).status_code == 200
    with store.session() as db:
        waited = [
            event.detail.get("waited_seconds")
            for event in db.query(AuditEvent).filter(AuditEvent.action == "login")
        ]
    assert waited == [0.6]


def test_the_wait_follows_the_account_from_any_address(fast_app: tuple[Any, Store]) -> None:
    """Failures for one username slow attempts on it from another address too."""
    app, _ = fast_app
    with TestClient(app, client=("10.0.0.1", 5000)) as first:
        for _ in range(3):
            _timed_login(first, password="wrong password!")
    with TestClient(app, client=("10.0.0.2", 5000)) as second:
        status, took = _timed_login(second)
    assert status == 303
    assert took >= 0.3


def test_the_wait_follows_the_address_across_usernames(fast_app: tuple[Any, Store]) -> None:
    """One address guessing many usernames is slowed down even for a username it has not
    tried; another address signing in to that username is not."""
    app, store = fast_app
    with TestClient(app, client=("10.0.0.9", 5000)) as guesser:
        for number in range(5):
            _timed_login(guesser, username=f"user{number}", password="wrong password!")
        status, took = _timed_login(guesser, username="someone.else", password="x" * 12)
        assert status == 401
        assert took >= 0.3
    with TestClient(app, client=("10.0.0.10", 5000)) as clinician:
        status, _ = _timed_login(clinician)
    assert status == 303
    with store.session() as db:
        signed_in = db.query(AuditEvent).filter(AuditEvent.action == "login").one()
    assert signed_in.client == "10.0.0.10"
    assert "waited_seconds" not in signed_in.detail  # no wait for the other address


def test_unknown_usernames_are_slowed_like_real_ones(fast_app: tuple[Any, Store]) -> None:
    """The wait depends on failures only, so it does not reveal which usernames exist."""
    app, _ = fast_app
    with TestClient(app, client=("10.0.0.3", 5000)) as client:
        for _ in range(3):
            _timed_login(client, username="nobody.here", password="wrong password!")
    with TestClient(app, client=("10.0.0.4", 5000)) as other:
        status, took = _timed_login(other, username="nobody.here", password="wrong password!")
    assert status == 401
    assert took >= 0.3


def test_ten_concurrent_failed_sign_ins_leave_healthz_answering(tmp_path: Path) -> None:
    """While ten wrong-password sign-ins are being checked (argon2 in worker threads),
    /healthz answers before any of them has finished: the event loop is not blocked."""
    app, store = make_app(tmp_path)
    add_clinician(store)

    async def scenario() -> tuple[int, list[float]]:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as web:
            page = await web.get("/clinic/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf
            data = {"csrf_token": csrf.group(1), "username": CLINICIAN[0], "password": "wrong!"}
            sign_ins = [
                asyncio.create_task(web.post("/clinic/login", data=data)) for _ in range(10)
            ]
            await asyncio.sleep(0.02)  # the sign-ins are in flight
            latencies = []
            for _ in range(5):
                started = time.perf_counter()
                health = await web.get("/healthz")
                latencies.append(time.perf_counter() - started)
                assert health.status_code == 200
            finished_before = sum(task.done() for task in sign_ins)
            statuses = [response.status_code for response in await asyncio.gather(*sign_ins)]
        assert statuses == [401] * 10
        return finished_before, latencies

    # Run in a thread of its own: an earlier test in the same process may leave an event
    # loop running in this one (asyncio.run refuses to nest).
    outcome: list[Any] = []

    def run() -> None:
        outcome.append(asyncio.run(scenario()))

    try:
        worker = threading.Thread(target=run)
        worker.start()
        worker.join(timeout=300)
        assert outcome, "the sign-in scenario did not finish"
        finished_before, latencies = outcome[0]
    finally:
        store.dispose()
    print(f"healthz latencies during sign-ins (ms): {[round(t * 1000, 1) for t in latencies]}")
    assert finished_before == 0


@pytest.mark.parametrize(
    "password", ["password1234", "qwertyuiop123", "123456789012", "iloveyou1234", "dr.lee12345678"]
)
def test_common_and_guessable_passwords_are_refused(store: Store, password: str) -> None:
    """Passwords from the common lists, keyboard walks and the username are refused,
    naming the field; a passphrase of unrelated words is accepted."""
    with store.session() as db, pytest.raises(accounts.AccountError) as refused:
        accounts.create_clinician(db, "dr.lee", password)
    assert refused.value.field == "password"
    assert "too easy to guess" in refused.value.message
    with store.session() as db:
        accounts.create_clinician(db, "dr.lee", "copper lantern orbit meadow")


def test_set_password_checks_strength_too(store: Store, client: TestClient) -> None:
    """Changing a password goes through the same check; the old one keeps working."""
    add_clinician(store)
    with store.session() as db:
        clinician = accounts.get_clinician(db, CLINICIAN[0])
        assert clinician is not None
        with pytest.raises(accounts.AccountError):
            accounts.set_password(db, clinician, "password1234")
    assert login(client).status_code == 200
