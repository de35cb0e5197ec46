"""Keyset pages of the worklist and the per-urgency counts, on SQLite and PostgreSQL.

The pages must show, page after page, exactly the rows the whole worklist has in exactly
its order (most urgent, then oldest, then id), whatever the filters: nothing hidden,
nothing twice (issue 12). Rows arriving between two pages must not shift a row off the
pages, which offsets would do.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from backpath.intake import Intake
from backpath.store import Store, assessments
from backpath.store.models import StoredAssessment, utcnow
from backpath.triage import assess

# Answers with a known urgency band: saddle numbness is a cauda equina red flag.
EMERGENCY = {"leg_pain": True, "saddle_numbness": True}
ROUTINE = {"leg_pain": False, "saddle_numbness": False}


def _document(answers: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    intake = Intake.from_json({"answers": answers})
    return intake.to_json(), assess(intake).to_json()


def _fill(target: Store, plan: list[tuple[dict[str, Any], bool]]) -> list[str]:
    """Store ``plan`` (answers, reviewed) in the bulk path, one minute apart; some rows share
    the same second so that the id decides their order."""
    now = utcnow()
    documents = {id(a): _document(a) for a, _ in plan}
    items = []
    for number, (answers, reviewed) in enumerate(plan):
        intake, result = documents[id(answers)]
        created = now - timedelta(minutes=len(plan) - number // 2)  # pairs share a time
        items.append(
            assessments.NewAssessment(
                intake=intake,
                result=result,
                channel="api",
                narrative_read=False,
                created_at=created,
                reviewed_at=created + timedelta(minutes=5) if reviewed else None,
                reviewed_by="dr.lee" if reviewed else None,
            )
        )
    with target.session() as db:
        return assessments.save_assessments(db, items)


def _walk(target: Store, limit: int, **filters: Any) -> list[list[str]]:
    """Every page from the first to the last, following the cursors as a browser would
    (through their text form)."""
    pages: list[list[str]] = []
    after: assessments.WorklistCursor | None = None
    while True:
        with target.session() as db:
            page = assessments.worklist_page(db, after=after, limit=limit, **filters)
        pages.append([row.id for row in page.rows])
        if page.next_cursor is None:
            return pages
        after = assessments.WorklistCursor.decode(page.next_cursor.encode())
        assert len(pages) < 100, "the cursor does not advance"


PLAN = [(EMERGENCY if n % 7 == 0 else ROUTINE, n % 3 == 0) for n in range(45)]


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "all"},
        {"status": "reviewed"},
        {"urgencies": ["emergency"]},
        {"concern": "cauda_equina"},
        {"urgencies": ["routine", "emergency"], "status": "all"},
    ],
)
def test_pages_cover_the_whole_worklist_in_its_order(store: Store, filters: dict[str, Any]) -> None:
    """Walking the pages gives exactly ``worklist()``'s rows, in its order, none twice."""
    _fill(store, PLAN)
    with store.session() as db:
        expected = [row.id for row in assessments.worklist(db, **filters)]
    assert expected, "test setup: the filter matches nothing"
    pages = _walk(store, 4, **filters)
    walked = [row_id for page in pages for row_id in page]
    assert walked == expected
    assert all(len(page) == 4 for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= 4


def test_the_first_page_starts_with_the_emergencies(store: Store) -> None:
    """An emergency that arrives last is still on the first page, above older routines."""
    ids = _fill(store, [(ROUTINE, False)] * 12 + [(EMERGENCY, False)])
    with store.session() as db:
        page = assessments.worklist_page(db, limit=5)
    assert page.rows[0].id == ids[-1]
    assert page.rows[0].urgency == "emergency"


def test_rows_arriving_between_pages_do_not_shift_the_next_page(store: Store) -> None:
    """A new emergency after page one does not push a routine row off the later pages."""
    _fill(store, [(ROUTINE, False)] * 10)
    with store.session() as db:
        everything = [row.id for row in assessments.worklist(db)]
        first = assessments.worklist_page(db, limit=4)
    _fill(store, [(EMERGENCY, False)])
    assert first.next_cursor is not None
    with store.session() as db:
        second = assessments.worklist_page(db, after=first.next_cursor, limit=4)
    assert [row.id for row in [*first.rows, *second.rows]] == everything[:8]


def test_counts_per_urgency_match_the_rows(store: Store) -> None:
    """The counts give every urgency (0 when none) and follow the status filter."""
    _fill(store, PLAN)
    with store.session() as db:
        rows = db.query(StoredAssessment).all()
        open_counts = assessments.urgency_counts(db)
        all_counts = assessments.urgency_counts(db, status="all")
        cauda = assessments.urgency_counts(db, concern="cauda_equina")
    for urgency in ("emergency", "urgent", "routine", "self_care"):
        assert open_counts[urgency] == sum(
            1 for r in rows if r.urgency == urgency and r.reviewed_at is None
        )
        assert all_counts[urgency] == sum(1 for r in rows if r.urgency == urgency)
    assert open_counts["emergency"] > 0
    assert cauda["emergency"] == open_counts["emergency"]
    assert cauda["routine"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "3.123",
        "9.1700000000000000.0123456789abcdef0123456789abcdef",
        "3.-5.0123456789abcdef0123456789abcdef",
        "3.1700000000000000.0123456789ABCDEF0123456789ABCDEF",
        "3.1700000000000000.' or 1=1 --",
        "3.1700000000000000.0123456789abcdef0123456789abcdef.extra",
    ],
)
def test_a_cursor_not_made_by_the_store_is_refused_naming_the_field(text: str) -> None:
    """An edited cursor is a clear error naming the ``after`` parameter, never a query."""
    with pytest.raises(assessments.CursorError) as caught:
        assessments.WorklistCursor.decode(text)
    assert caught.value.field == "after"
    assert str(caught.value).startswith("after: ")


def test_a_cursor_reads_back_as_itself() -> None:
    """encode and decode are inverse, to the microsecond."""
    moment = utcnow().replace(microsecond=123456)
    cursor = assessments.WorklistCursor(2, moment, "0123456789abcdef0123456789abcdef")
    assert assessments.WorklistCursor.decode(cursor.encode()) == cursor


def test_an_unknown_urgency_is_refused_naming_it(store: Store) -> None:
    """A filter on an urgency that does not exist is an error, not an empty page."""
    with store.session() as db, pytest.raises(ValueError, match="urgency must be one of"):
        assessments.worklist_page(db, urgencies=["critical"])
