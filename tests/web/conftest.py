"""Fixtures for the route tests: an app on a temporary SQLite database and its client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backpath.store import Store
from tests.web._api_auth import api_headers  # noqa: F401  (the fixture, for every test here)
from tests.web._support import make_app


@pytest.fixture
def app_and_store(tmp_path: Path) -> Iterator[tuple[FastAPI, Store]]:
    """A fresh app with its own database."""
    app, store = make_app(tmp_path)
    yield app, store
    store.dispose()


@pytest.fixture
def store(app_and_store: tuple[FastAPI, Store]) -> Store:
    """The app's database."""
    return app_and_store[1]


@pytest.fixture
def client(app_and_store: tuple[FastAPI, Store]) -> Iterator[TestClient]:
    """An HTTP client for the app (keeps cookies like a browser)."""
    with TestClient(app_and_store[0]) as test_client:
        yield test_client
