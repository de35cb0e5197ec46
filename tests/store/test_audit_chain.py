"""The audit log is a hash chain: changes behind the app's back are found, row by row.

Every test runs on SQLite and on PostgreSQL (``database_url`` fixture). Tampering is done
the way an intruder would: raw SQL on a connection of its own, never through the app.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from backpath.cli import app as cli
from backpath.store import Store, audit, make_engine, migrate, open_store
from backpath.store.audit import GENESIS_HASH, Actor, verify_chain
from backpath.store.models import AuditEvent


def _append(store: Store, count: int, prefix: str = "case") -> list[int]:
    ids = []
    for number in range(count):
        with store.session() as db:
            event = audit.record(
                db,
                Actor("clinician:dr.lee", "10.0.0.7"),
                "view",
                "assessment",
                f"{prefix}{number}",
                {"page": number, "filters": {"urgency": "emergency"}, "ratio": 0.5},
            )
            ids.append(event.id)
    return ids


def _tamper(database_url: str, statement: str) -> None:
    """Run ``statement`` on a connection of its own (sqlite3 itself for SQLite)."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        connection = sqlite3.connect(str(parsed.database))
        try:
            connection.execute(statement)
            connection.commit()
        finally:
            connection.close()
        return
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()


def _verify_cli(database_url: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "--database-url", database_url])
    return result.exit_code, result.output


def test_a_fresh_chain_verifies_and_counts_every_row(store: Store, database_url: str) -> None:
    """Rows appended through the app verify; the CLI says OK with the row count (exit 0)."""
    _append(store, 5)
    with store.session() as db:
        report = verify_chain(db)
        rows = db.query(AuditEvent).order_by(AuditEvent.seq).all()
    assert report.ok
    assert report.rows == 5
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.row_hash for a, b in itertools.pairwise(rows))
    code, output = _verify_cli(database_url)
    assert code == 0, output
    assert "OK: 5 audit rows" in output


def test_an_update_behind_the_apps_back_breaks_the_chain_at_that_row(
    store: Store, database_url: str
) -> None:
    """Changing one row's actor with raw SQL makes verify fail naming that row (exit 1)."""
    ids = _append(store, 6)
    _tamper(database_url, f"update audit_events set actor = 'someone else' where id = {ids[3]}")
    with store.session() as db:
        report = verify_chain(db)
    assert report.broken is not None
    assert report.broken.row_id == ids[3]
    assert report.rows == 3  # the three rows before it still verify
    assert "changed" in report.broken.reason
    code, output = _verify_cli(database_url)
    assert code == 1
    assert f"audit row id {ids[3]}" in output


def test_changing_the_detail_json_is_found(store: Store, database_url: str) -> None:
    """An edited detail (the ids a clinician exported) is found just like an edited column."""
    ids = _append(store, 3)
    _tamper(database_url, f"update audit_events set detail = '{{}}' where id = {ids[1]}")
    with store.session() as db:
        report = verify_chain(db)
    assert report.broken is not None
    assert report.broken.row_id == ids[1]


def test_a_deleted_row_breaks_the_chain_at_the_next_one(store: Store, database_url: str) -> None:
    """Deleting a row in the middle is reported at the row after the gap."""
    ids = _append(store, 5)
    _tamper(database_url, f"delete from audit_events where id = {ids[2]}")
    with store.session() as db:
        report = verify_chain(db)
    assert report.broken is not None
    assert report.broken.row_id == ids[3]


def test_deleting_the_newest_rows_is_found_through_the_head(
    store: Store, database_url: str
) -> None:
    """Removing the last rows leaves a consistent prefix, but the head no longer matches."""
    ids = _append(store, 4)
    _tamper(database_url, f"delete from audit_events where id >= {ids[2]}")
    with store.session() as db:
        report = verify_chain(db)
    assert report.broken is not None
    assert report.broken.row_id is None
    assert report.rows == 2
    assert "head" in report.broken.reason


def test_a_row_slipped_in_without_the_app_is_found(store: Store, database_url: str) -> None:
    """A row inserted with raw SQL (no hash) is reported as not part of the chain."""
    _append(store, 2)
    _tamper(
        database_url,
        "insert into audit_events (at, actor, action, target_type, target_id, detail, client) "
        "values ('2026-01-01 00:00:00', 'x', 'view', 'assessment', 'a1', '{}', null)",
    )
    with store.session() as db:
        report = verify_chain(db)
    assert report.broken is not None
    assert "not part of the chain" in report.broken.reason


def test_concurrent_appends_keep_one_unbroken_chain(store: Store) -> None:
    """Eight threads appending at once never chain two rows onto the same predecessor."""
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            _append(store, 15, prefix=f"t{number}-")
        except BaseException as exc:  # reported below, with the test's failure
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with store.session() as db:
        report = verify_chain(db)
    assert report.ok, report.broken
    assert report.rows == 8 * 15


@pytest.fixture
def old_database(database_url: str) -> str:
    """A database at the first schema (before the chain), with three audit rows in it."""
    engine = make_engine(database_url)
    migrate(engine, "0001")
    with engine.begin() as connection:
        for number, moment in enumerate(
            ("2026-01-02 10:00:00.000001", "2026-01-02 10:05:00", "2026-01-03 08:00:00.5")
        ):
            connection.execute(
                text(
                    "insert into audit_events "
                    "(at, actor, action, target_type, target_id, detail, client) "
                    "values (:at, 'clinician:kim', 'view', 'assessment', :target, :detail, "
                    "'10.1.1.1')"
                ),
                {"at": moment, "target": f"old{number}", "detail": f'{{"n": {number}}}'},
            )
    engine.dispose()
    return database_url


def test_upgrading_an_existing_database_chains_its_old_rows(old_database: str) -> None:
    """Rows written before the chain existed are chained by the migration, in the order
    they were written; new rows chain on after them, and tampering with an old row shows."""
    store = open_store(old_database)
    try:
        with store.session() as db:
            before = verify_chain(db)
        assert before.ok
        assert before.rows == 3
        _append(store, 2)
        with store.session() as db:
            after = verify_chain(db)
            first_new = db.query(AuditEvent).filter_by(seq=4).one()
            old_ids = [row.id for row in db.query(AuditEvent).order_by(AuditEvent.seq)][:3]
        assert after.ok
        assert after.rows == 5
        assert first_new.prev_hash == before.head_hash
        _tamper(old_database, f"update audit_events set client = '6.6.6.6' where id = {old_ids[0]}")
        with store.session() as db:
            tampered = verify_chain(db)
        assert tampered.broken is not None
        assert tampered.broken.row_id == old_ids[0]
    finally:
        store.dispose()


def test_verify_of_a_missing_sqlite_folder_is_a_clear_error(tmp_path: Path) -> None:
    """A database that cannot be opened exits 2 with a message, not a traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, output = _verify_cli(f"sqlite:///{blocker}/inside/backpath.db")
    assert code == 2
    assert "cannot open the database" in output
