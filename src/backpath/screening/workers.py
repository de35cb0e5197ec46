"""Python work of a screening run spread over processes, in input order.

Two parts of screening run in Python, row by row, and each row is independent: reading the
person's own words (``narrative``) and assembling a Bulk export's patients from their chart
(``bulk``). ``ordered_map`` hands batches of either to ``workers`` processes
(``concurrent.futures``) and yields the results in input order, so the output is the same
whatever the number of workers. At most two batches per worker are in flight: memory stays
flat.

Workers are forked from a ``forkserver`` (a fresh interpreter of its own: the parent holds
a DuckDB connection with threads, which a plain ``fork`` must not copy; ``spawn`` where
there is no fork server). When narratives are to be read, the fork server imports
``_warm`` first, which builds the reader once (~12 s), so each worker starts with it built
instead of building its own (benchmarks/worker_startup.py). Each worker loads the
knowledge base once, from the parent's ``kb.root``, and refuses to work unless it is the
parent's (same content hash): a rule file changed on disk during the run must not decide
half of the rows.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from backpath.errors import KnowledgeError
from backpath.kb import KnowledgeBase, load_knowledge

T = TypeVar("T")
R = TypeVar("R")

Work = Callable[[KnowledgeBase, list[T], Any], list[R]]
"""A module-level function (workers find it by name) turning a batch into results."""

_WORKER: dict[str, Any] = {}
"""This worker process's knowledge base, or why it could not have it (``_start``)."""


class WorkerError(RuntimeError):
    """A worker process could not do its work (the message says why)."""


def _start(root: str, sha256: str, warm_reader: bool) -> None:
    """Once per worker process: load the knowledge base (and build the narrative reader,
    whose pipeline ``backpath.nlp`` caches), so no batch pays for either."""
    try:
        kb = load_knowledge(root)
    except KnowledgeError as exc:
        _WORKER["problem"] = f"the knowledge base in {root} does not load: {exc}"
        return
    if kb.sha256 != sha256:
        _WORKER["problem"] = (
            f"the knowledge base in {root} changed on disk since the run started; run again"
        )
        return
    _WORKER["kb"] = kb
    if warm_reader:
        import backpath.nlp

        backpath.nlp.read_narrative("back pain")


def _context(warm_reader: bool) -> Any:
    """How worker processes start: forked from a fork server that has already imported
    what they need (the built reader when ``warm_reader``), or spawned where fork servers
    do not exist. The fork server is one per parent process and keeps the preload of its
    first use."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["backpath.screening._warm"] if warm_reader else ["backpath.kb", "backpath.triage"]
    )
    return context


def _run(work: Work[T, R], batch: list[T], extra: Any) -> list[R]:
    """One batch in a worker (``_start`` ran first)."""
    if "kb" not in _WORKER:
        raise RuntimeError(_WORKER.get("problem", "worker not started"))
    return work(_WORKER["kb"], batch, extra)


def ordered_map(
    work: Work[T, R],
    items: Iterable[T],
    kb: KnowledgeBase,
    workers: int,
    batch: int,
    extra: Any = None,
    warm_reader: bool = False,
) -> Iterator[R]:
    """``work(kb, batch, extra)`` over ``items`` in batches, in ``workers`` processes (1: in
    this process), results in input order. Raises ``WorkerError`` when a worker fails."""
    rows = iter(items)
    chunk = list(itertools.islice(rows, batch))
    if workers <= 1:
        while chunk:
            yield from work(kb, chunk, extra)
            chunk = list(itertools.islice(rows, batch))
        return
    if not chunk:
        return
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(warm_reader),
        initializer=_start,
        initargs=(str(kb.root), kb.sha256, warm_reader),
    ) as pool:
        pending: deque[Future[list[R]]] = deque()
        try:
            while chunk:
                pending.append(pool.submit(_run, work, chunk, extra))
                if len(pending) >= 2 * workers:
                    yield from pending.popleft().result()
                chunk = list(itertools.islice(rows, batch))
            while pending:
                yield from pending.popleft().result()
        except (RuntimeError, BrokenProcessPool) as exc:
            for future in pending:
                future.cancel()
            raise WorkerError(f"worker process: {exc}") from exc
