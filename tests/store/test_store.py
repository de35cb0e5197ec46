"""Persistence on SQLite and PostgreSQL: migrations, assessments, worklist, accounts, drafts,
audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from backpath.intake import Intake
from backpath.store import Store, accounts, assessments, audit, drafts, migrate, open_store
from backpath.store.audit import Actor
from backpath.store.models import Base, StoredAssessment, utcnow
from backpath.triage import assess


def _save(store: Store, answers: dict, minutes_ago: int = 0, **kwargs: object) -> assessments.Saved:
    intake = Intake.from_json({"answers": answers})
    with store.session() as db:
        return assessments.save_assessment(
            db,
            intake=intake.to_json(),
            result=assess(intake).to_json(),
            channel="web",
            narrative_read=False,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
            **kwargs,  # type: ignore[arg-type]
        )


def test_migrations_build_exactly_the_models(store: Store) -> None:
    """After `upgrade head` the database matches the SQLAlchemy models (no pending diff)."""
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrations_downgrade_and_upgrade_again(database_url: str) -> None:
    """Downgrading to base removes every table; upgrading again restores them."""
    store = open_store(database_url)
    migrate_down = __import__("alembic.command", fromlist=["downgrade"]).downgrade
    from backpath.store.db import alembic_config

    migrate_down(alembic_config(store.engine), "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    migrate(store.engine)
    assert "assessments" in inspect(store.engine).get_table_names()
    store.dispose()


def test_opening_twice_is_harmless(database_url: str) -> None:
    """Opening an up-to-date database again changes nothing."""
    open_store(database_url).dispose()
    open_store(database_url).dispose()


def test_assessment_keeps_intake_result_and_knowledge_base(store: Store) -> None:
    """A stored assessment keeps intake, result, kb version + sha256, urgency and time."""
    saved = _save(store, {"age": 45, "saddle_numbness": True, "pain_regions": ["thigh_left"]})
    with store.session() as db:
        row = db.get(StoredAssessment, saved.assessment.id)
        assert row is not None
    assert row.intake["answers"]["pain_regions"] == ["thigh_left"]
    assert row.result["urgency"] == "emergency" == row.urgency
    assert row.urgency_rank == 3
    assert row.kb_version == row.result["knowledge_base"]["version"]
    assert len(row.kb_sha256) == 64
    assert row.created_at.tzinfo is not None
    assert row.concerns[0] == "cauda_equina"


def test_unicode_narrative_round_trips(store: Store) -> None:
    """Accents, emoji and quotes survive the JSON columns on both back ends."""
    intake = Intake.from_json({"answers": {}, "narrative": "Dolor en la pierna «izquierda» 😣"})
    result = assess(intake, narrative_findings=()).to_json()
    with store.session() as db:
        saved = assessments.save_assessment(
            db, intake=intake.to_json(), result=result, channel="api", narrative_read=False
        )
    with store.session() as db:
        row = db.get(StoredAssessment, saved.assessment.id)
        assert row is not None
        assert row.intake["narrative"] == "Dolor en la pierna «izquierda» 😣"


def test_patient_token_opens_only_its_assessment(store: Store) -> None:
    """The token finds its own assessment; the database holds only the token's hash."""
    first = _save(store, {"age": 30})
    second = _save(store, {"age": 31})
    with store.session() as db:
        assert assessments.find_by_token(db, first.patient_token).id == first.assessment.id  # type: ignore[union-attr]
        assert assessments.find_by_token(db, second.patient_token).id == second.assessment.id  # type: ignore[union-attr]
        assert assessments.find_by_token(db, "nope") is None
        assert assessments.find_by_token(db, "") is None
        stored = [r.patient_token_sha256 for r in db.query(StoredAssessment)]
    assert first.patient_token not in stored


def test_worklist_order_and_filters(store: Store) -> None:
    """Most urgent first, oldest first within an urgency; filters by urgency, status, concern."""
    routine = _save(store, {"age": 40, "leg_pain": True}, minutes_ago=100).assessment.id
    emergency_new = _save(store, {"age": 45, "saddle_numbness": True}, minutes_ago=1).assessment.id
    emergency_old = _save(store, {"age": 70, "chest_pain": True}, minutes_ago=50).assessment.id
    urgent = _save(store, {"age": 30, "trauma_minor": True}, minutes_ago=10).assessment.id
    with store.session() as db:
        order = [row.id for row in assessments.worklist(db)]
        assert order == [emergency_old, emergency_new, urgent, routine]
        assert [r.id for r in assessments.worklist(db, urgencies=["urgent"])] == [urgent]
        assert [r.id for r in assessments.worklist(db, concern="cauda_equina")] == [emergency_new]
        row = assessments.get_assessment(db, emergency_old)
        assert row is not None
        assessments.set_reviewed(db, row, "dr.lee")
    with store.session() as db:
        assert emergency_old not in [r.id for r in assessments.worklist(db)]
        assert [r.id for r in assessments.worklist(db, status="reviewed")] == [emergency_old]
        assert len(assessments.worklist(db, status="all")) == 4
        with pytest.raises(ValueError, match="status"):
            assessments.worklist(db, status="done")


def test_notes_and_episodes(store: Store) -> None:
    """Notes attach to an assessment; follow-ups share an episode, oldest first."""
    first = _save(store, {"age": 50, "pain_back_nrs": 8}, minutes_ago=60)
    second = _save(store, {"age": 50, "pain_back_nrs": 3}, episode_id=first.assessment.episode_id)
    with store.session() as db:
        row = assessments.get_assessment(db, first.assessment.id)
        assert row is not None
        assessments.add_note(db, row, "dr.lee", "Called back.")
    with store.session() as db:
        row = assessments.get_assessment(db, first.assessment.id)
        assert row is not None
        assert [n.text for n in row.notes] == ["Called back."]
        ids = [r.id for r in assessments.episode(db, first.assessment.episode_id)]
    assert ids == [first.assessment.id, second.assessment.id]


def test_audit_rows_are_newest_first(store: Store) -> None:
    """Audit events record actor, action, target and detail; newest are listed first."""
    with store.session() as db:
        audit.record(db, Actor("clinician:a", "127.0.0.1"), "view", "assessment", "x1")
        audit.record(db, Actor("clinician:b"), "export", "worklist", None, {"ids": ["x1"]})
    with store.session() as db:
        events = audit.events(db)
        assert [(e.actor, e.action) for e in events] == [
            ("clinician:b", "export"),
            ("clinician:a", "view"),
        ]
        assert [e.action for e in audit.events(db, target_id="x1")] == ["view"]
        assert events[0].detail == {"ids": ["x1"]}
        assert events[1].client == "127.0.0.1"


def test_audit_and_data_commit_together(store: Store) -> None:
    """A failure after writing rolls back both the data and its audit row."""
    intake = Intake.from_json({"answers": {"age": 30}})

    def crash() -> None:
        with store.session() as db:
            saved = assessments.save_assessment(
                db,
                intake=intake.to_json(),
                result=assess(intake).to_json(),
                channel="web",
                narrative_read=False,
            )
            audit.record(db, Actor("patient"), "create", "assessment", saved.assessment.id)
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError, match="crash before commit"):
        crash()
    with store.session() as db:
        assert db.query(StoredAssessment).count() == 0
        assert audit.events(db) == []


def test_accounts_hash_verify_and_sessions(store: Store) -> None:
    """argon2id hashes, wrong passwords refused, sessions that end and expire."""
    with store.session() as db:
        clinician = accounts.create_clinician(db, "Dr.Lee", "correct horse battery", "Dr Lee")
        assert clinician.username == "dr.lee"
        assert clinician.password_hash.startswith("$argon2id$")
        assert accounts.authenticate(db, "dr.lee", "correct horse battery") is not None
        assert accounts.authenticate(db, "dr.lee", "wrong") is None
        assert accounts.authenticate(db, "nobody", "correct horse battery") is None
        token = accounts.start_session(db, clinician, timedelta(hours=1))
        expired = accounts.start_session(db, clinician, timedelta(seconds=-1))
    with store.session() as db:
        signed_in = accounts.session_clinician(db, token)
        assert signed_in is not None
        assert signed_in.username == "dr.lee"
        assert accounts.session_clinician(db, expired) is None
        accounts.end_session(db, token)
    with store.session() as db:
        assert accounts.session_clinician(db, token) is None


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("x", "long enough password", "username"),
        ("Bad Name", "long enough password", "username"),
        ("kim", "short", "password"),
    ],
)
def test_account_rules(store: Store, username: str, password: str, field: str) -> None:
    """Bad usernames and short passwords are refused naming the field."""
    with store.session() as db, pytest.raises(accounts.AccountError) as caught:
        accounts.create_clinician(db, username, password)
    assert caught.value.field == field


def test_failed_sign_ins_are_counted_per_user_and_client(store: Store) -> None:
    """Failures are counted in the window, per username and per client address."""
    with store.session() as db:
        for _ in range(3):
            accounts.record_attempt(db, "kim", "10.0.0.1", False)
        accounts.record_attempt(db, "lee", "10.0.0.1", False)
        accounts.record_attempt(db, "kim", "10.0.0.2", True)
    with store.session() as db:
        assert accounts.recent_failures(db, "kim", "10.0.0.1", timedelta(minutes=15)) == (3, 4)
        later = utcnow() + timedelta(hours=1)
        assert accounts.recent_failures(
            db, "kim", "10.0.0.1", timedelta(minutes=15), now=later
        ) == (0, 0)


def test_drafts_expire_and_are_purged(store: Store) -> None:
    """A draft is found by its token until it is too old; old drafts are purged."""
    with store.session() as db:
        token = drafts.new_draft(db, {"answers": {"age": 30}})
    with store.session() as db:
        draft = drafts.load_draft(db, token, timedelta(hours=1))
        assert draft is not None
        drafts.save_draft(db, draft, {"answers": {"age": 31}})
    with store.session() as db:
        draft = drafts.load_draft(db, token, timedelta(hours=1))
        assert draft is not None
        assert draft.state == {"answers": {"age": 31}}
        assert drafts.load_draft(db, token, timedelta(seconds=-1)) is None
        assert drafts.purge_drafts(db, timedelta(seconds=-1)) == 1
        assert drafts.load_draft(db, token, timedelta(hours=1)) is None


def test_committed_rows_survive_a_new_connection(database_url: str) -> None:
    """What was committed is there after the engine is thrown away and the database reopened."""
    first = open_store(database_url)
    saved = _save(first, {"age": 45, "saddle_numbness": True})
    first.dispose()
    second = open_store(database_url)
    with second.session() as db:
        assert db.get(StoredAssessment, saved.assessment.id) is not None
    second.dispose()


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The default SQLite database uses WAL, synchronous=FULL and foreign keys."""
    store = open_store(f"sqlite:///{tmp_path / 'wal.db'}")
    with store.engine.connect() as connection:
        assert connection.execute(text("pragma journal_mode")).scalar() == "wal"
        assert connection.execute(text("pragma synchronous")).scalar() == 2
        assert connection.execute(text("pragma foreign_keys")).scalar() == 1
    store.dispose()


def test_sqlite_folder_is_created(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A new SQLite file (and its folder) is created readable by its owner only."""
    store = open_store(f"sqlite:///{tmp_path / 'new' / 'deeper' / 'app.db'}")
    store.dispose()
    database = tmp_path / "new" / "deeper" / "app.db"
    assert database.exists()
    assert database.stat().st_mode & 0o077 == 0
