"""Time to build one PDF handout after warm-up (target: under 500 ms on the dev machine).

Usage::

    python benchmarks/handout_pdf.py [--n 30] [--warmup 3] [--lang en] [--paper a4]

Builds the handout of a routine sciatica persona (the longest layout: ten sections and a
diary page) from an already-triaged Assessment: compose, render HTML, WeasyPrint to PDF.
Reports the median, p95 and worst time per PDF, and the compose and HTML steps alone.
Results are recorded in docs/handout.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable

from backpath.education import compose_handout, preset_clinic, render_html, render_pdf
from backpath.intake import Intake
from backpath.kb import load_knowledge
from backpath.triage import assess

_NO = dict.fromkeys(
    [
        "leg_numbness",
        "leg_weakness",
        "foot_drop",
        "weakness_worsening",
        "bilateral_leg_symptoms",
        "saddle_numbness",
        "urinary_retention",
        "urinary_incontinence",
        "urinary_sensation_change",
        "bowel_incontinence",
        "sexual_dysfunction_new",
        "trauma_major",
        "trauma_minor",
        "osteoporosis",
        "steroid_use_long_term",
        "cancer_history",
        "weight_loss_unexplained",
        "thoracic_pain",
        "fever",
        "iv_drug_use",
        "immunosuppressed",
        "recent_infection",
        "recent_spinal_procedure",
        "sudden_severe_pain",
        "abdominal_pain",
        "collapse",
        "known_aaa",
        "chest_pain",
    ],
    False,
)

PERSONA = {
    "age": 38,
    "sex": "female",
    "answers": {
        "back_pain": True,
        "leg_pain": True,
        "night_pain": True,
        "duration_days": 10,
        "activity_limits": ["sitting_long", "sleeping", "work"],
        "tried_otc_analgesics": True,
        **_NO,
    },
}


def _time(step: Callable[[], object], n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def _pages(pdf: bytes) -> str:
    """The page count from poppler's pdfinfo, or "?" without it."""
    if not shutil.which("pdfinfo"):
        return "?"
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout
    for line in info.decode().splitlines():
        if line.startswith("Pages:"):
            return line.split()[1]
    return "?"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    """Run the benchmark and print a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="timed PDF builds (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed builds first (default 3)")
    parser.add_argument("--lang", default="en", help="language (default en)")
    parser.add_argument("--paper", default="a4", help="a4 or letter (default a4)")
    args = parser.parse_args()

    kb = load_knowledge()
    assessment = assess(Intake.from_json(PERSONA), kb)
    clinic = preset_clinic("uk")

    def build_pdf() -> bytes:
        return render_pdf(compose_handout(assessment, args.lang), clinic, args.paper)

    start = time.perf_counter()
    first = build_pdf()
    cold = time.perf_counter() - start
    for _ in range(args.warmup):
        build_pdf()
    pdf_times = _time(build_pdf, args.n)
    compose_times = _time(lambda: compose_handout(assessment, args.lang), args.n)
    handout = compose_handout(assessment, args.lang)
    html_times = _time(lambda: render_html(handout, clinic, args.paper), args.n)

    pdf_sorted = sorted(pdf_times)
    p95 = pdf_sorted[max(0, round(0.95 * len(pdf_sorted)) - 1)]
    print(
        f"python {platform.python_version()}, {platform.machine()}, urgency {assessment.urgency.value}, "
        f"{len(handout.sections)} sections, {_pages(first)} pages, "
        f"{len(first) // 1024} KiB, lang {args.lang}, paper {args.paper}"
    )
    print(f"first PDF (cold: fonts, templates) : {_ms(cold)}")
    print(
        f"PDF after warm-up, median          : {_ms(statistics.median(pdf_times))}   (target < 500 ms)"
    )
    print(f"PDF after warm-up, p95 / worst     : {_ms(p95)} / {_ms(max(pdf_times))}")
    print(f"compose only, median               : {statistics.median(compose_times) * 1000:.2f} ms")
    print(f"HTML only, median                  : {statistics.median(html_times) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
