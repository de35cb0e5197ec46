"""The narrative reader is built in the background when the app starts."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.testclient import TestClient

from backpath.nlp._pipeline import get_pipeline
from backpath.store import Store


def test_startup_warms_the_narrative_reader(app_and_store: tuple[FastAPI, Store]) -> None:
    """Starting the app builds the English and the Spanish pipelines without blocking
    requests."""
    get_pipeline.cache_clear()
    app, _ = app_and_store
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        deadline = time.monotonic() + 120
        while get_pipeline.cache_info().currsize < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    assert get_pipeline.cache_info().currsize >= 2  # English and Spanish (at least)
