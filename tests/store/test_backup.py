"""``backpath backup`` / ``backpath restore``: a restored database holds the same data and
its audit chain verifies; a tampered backup or a non-empty target is refused or reported.

SQLite runs everywhere; PostgreSQL (pg_dump / pg_restore) uses two fresh databases on the
test server and is skipped with a message when the server or the client tools are missing.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from backpath.cli import app as cli
from backpath.intake import Intake
from backpath.store import Store, accounts, assessments, audit, open_store
from backpath.store.audit import Actor, verify_chain
from backpath.store.models import StoredAssessment
from backpath.triage import assess
from tests.conftest import need
from tests.store.conftest import POSTGRES_URL, _postgres_problem


def _fill(store: Store) -> tuple[str, str]:
    """One clinician, one stored emergency with its audit rows; returns (id, chain head)."""
    intake = Intake.from_json({"answers": {"age": 51, "saddle_numbness": True}})
    result = assess(intake, narrative_findings=None).to_json()
    with store.session() as db:
        accounts.create_clinician(db, "dr.lee", "correct horse battery staple", "Dr Lee")
        saved = assessments.save_assessment(
            db, intake=intake.to_json(), result=result, channel="api", narrative_read=False
        )
        audit.record(db, Actor("api"), "create", "assessment", saved.assessment.id)
        audit.record(db, Actor("clinician:dr.lee"), "view", "assessment", saved.assessment.id)
        assessment_id = saved.assessment.id
    with store.session() as db:
        report = verify_chain(db)
    assert report.ok
    return assessment_id, report.head_hash


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _check_restored(url: str, assessment_id: str, head_hash: str) -> None:
    store = open_store(url, upgrade=False)
    try:
        with store.session() as db:
            row = db.get(StoredAssessment, assessment_id)
            assert row is not None
            assert row.urgency == "emergency"
            assert accounts.get_clinician(db, "dr.lee") is not None
            report = verify_chain(db)
        assert report.ok
        assert report.rows == 2
        assert report.head_hash == head_hash
    finally:
        store.dispose()


def test_sqlite_backup_restores_into_a_fresh_database_with_a_valid_chain(tmp_path: Path) -> None:
    """Backup, restore into a new file: the same rows, the same chain head, exit 0 both."""
    source_url = f"sqlite:///{tmp_path / 'live.db'}"
    store = open_store(source_url)
    assessment_id, head = _fill(store)
    archive = tmp_path / "backups" / "backpath-1.db"
    code, output = _run("backup", str(archive), "--database-url", source_url)
    store.dispose()
    assert code == 0, output
    assert f"chain head {head}" in output
    assert archive.stat().st_mode & 0o077 == 0  # health data: owner only
    assert not archive.with_name(archive.name + ".partial").exists()
    target_url = f"sqlite:///{tmp_path / 'restored' / 'backpath.db'}"
    code, output = _run("restore", str(archive), "--database-url", target_url)
    assert code == 0, output
    assert "Audit chain OK: 2 rows" in output
    _check_restored(target_url, assessment_id, head)


def test_restore_refuses_a_database_with_data_unless_forced(tmp_path: Path) -> None:
    """Restoring over a database in use needs --force (exit 2 without it)."""
    source_url = f"sqlite:///{tmp_path / 'live.db'}"
    store = open_store(source_url)
    _fill(store)
    store.dispose()
    archive = tmp_path / "backup.db"
    assert _run("backup", str(archive), "--database-url", source_url)[0] == 0
    code, output = _run("restore", str(archive), "--database-url", source_url)
    assert code == 2
    assert "already holds data" in output
    assert _run("restore", str(archive), "--database-url", source_url, "--force")[0] == 0
    code, output = _run("backup", str(archive), "--database-url", source_url)
    assert code == 2
    assert "exists" in output


def test_a_tampered_backup_is_reported_after_restore(tmp_path: Path) -> None:
    """An audit row edited inside the backup file makes restore exit 1 naming the row."""
    source_url = f"sqlite:///{tmp_path / 'live.db'}"
    store = open_store(source_url)
    _fill(store)
    store.dispose()
    archive = tmp_path / "backup.db"
    assert _run("backup", str(archive), "--database-url", source_url)[0] == 0
    connection = sqlite3.connect(archive)
    first_id = connection.execute("select min(id) from audit_events").fetchone()[0]
    connection.execute("update audit_events set action = 'nothing' where id = ?", (first_id,))
    connection.commit()
    connection.close()
    code, output = _run(
        "restore", str(archive), "--database-url", f"sqlite:///{tmp_path / 'new.db'}"
    )
    assert code == 1
    assert f"audit row id {first_id}" in output


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    """A file that is not a SQLite database is refused with exit 2, nothing is created."""
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello")
    target = tmp_path / "target.db"
    code, output = _run("restore", str(bogus), "--database-url", f"sqlite:///{target}")
    assert code == 2
    assert "not a SQLite backup" in output
    assert not target.exists()


@pytest.fixture
def two_postgres_databases() -> Iterator[tuple[str, str]]:
    """Two fresh, empty PostgreSQL databases (dropped afterwards)."""
    problem = _postgres_problem()
    need("PostgreSQL", problem is None, problem or "")
    need("pg_dump", shutil.which("pg_dump") is not None, "install postgresql-client")
    names = [f"backpath_backup_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f'create database "{name}"'))
    base = make_url(POSTGRES_URL)
    urls = [base.set(database=name).render_as_string(hide_password=False) for name in names]
    try:
        yield urls[0], urls[1]
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_backup_restores_into_a_fresh_database_with_a_valid_chain(
    two_postgres_databases: tuple[str, str], tmp_path: Path
) -> None:
    """pg_dump archive, pg_restore into another database: same rows, same chain head."""
    source_url, target_url = two_postgres_databases
    store = open_store(source_url)
    assessment_id, head = _fill(store)
    store.dispose()
    archive = tmp_path / "backpath.pgdump"
    code, output = _run("backup", str(archive), "--database-url", source_url)
    assert code == 0, output
    assert archive.read_bytes().startswith(b"PGDMP")
    code, output = _run("restore", str(archive), "--database-url", target_url)
    assert code == 0, output
    assert "Audit chain OK: 2 rows" in output
    _check_restored(target_url, assessment_id, head)
    code, output = _run("restore", str(archive), "--database-url", target_url)
    assert code == 2
    assert "already holds data" in output
    code, output = _run("restore", str(archive), "--database-url", target_url, "--force")
    assert code == 0, output
    _check_restored(target_url, assessment_id, head)
