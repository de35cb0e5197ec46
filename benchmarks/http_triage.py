"""HTTP throughput and p99 latency of ``POST /api/v1/triage`` against the stack's ceiling.

Runs the real app under uvicorn in one process and a load generator in another (loopback
only, bounded by time and by a request cap). In the same run, on the same app (same server,
middleware and settings), it measures two ceilings that do no triage at all:

- ``/bench/echo``: a bare FastAPI + pydantic echo - the body validated into a pydantic model
  of the intake's shape and returned as the response model. What an ordinary FastAPI
  endpoint costs here. Target (issue 14): triage at least 70 % of it.
- ``/bench/parse``: the body parsed with ``json.loads`` and a tiny JSON answer - the floor
  of FastAPI + uvicorn for one request (issue 2's target was 50 % of it).

    python benchmarks/http_triage.py                 # 10 s per endpoint, 50 connections
    python benchmarks/http_triage.py --seconds 5 --connections 10 --workers 2

The load generator speaks HTTP/1.1 keep-alive on raw sockets (asyncio), so that the client
costs as little CPU as possible. Numbers are noisy on a shared 2-core box: compare the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"
CEILING_PATH = "/bench/parse"
ECHO_PATH = "/bench/echo"
TRIAGE_PATH = "/api/v1/triage"
MAX_REQUESTS = 2_000_000  # hard cap per measurement, whatever the duration

# A realistic structured intake: a person with sciatica who answered the safety screen.
INTAKE: dict[str, Any] = {
    "age": 47,
    "sex": "female",
    "language": "en",
    "answers": {
        "back_pain": True,
        "leg_pain": True,
        "leg_pain_below_knee": True,
        "leg_numbness": True,
        "leg_weakness": False,
        "foot_drop": False,
        "saddle_numbness": False,
        "urinary_retention": False,
        "urinary_incontinence": False,
        "urinary_sensation_change": False,
        "bowel_incontinence": False,
        "sexual_dysfunction_new": False,
        "bilateral_leg_symptoms": False,
        "fever": False,
        "cancer_history": False,
        "weight_loss_unexplained": False,
        "trauma_major": False,
        "trauma_minor": False,
        "duration_days": 21,
        "pain_back_nrs": 5,
        "pain_leg_nrs": 7,
        "pain_side": "left",
        "pain_regions": ["lower_back_left", "buttock_left", "thigh_left", "calf_left"],
    },
}


# ---------------------------------------------------------------- server process


class EchoIntake(BaseModel):
    """The intake's shape, as an ordinary FastAPI endpoint would declare it."""

    age: int | None = None
    sex: str | None = None
    language: str = "en"
    narrative: str | None = None
    answers: dict[str, bool | int | str | list[str] | None] = {}



def bench_app() -> Any:
    """The real app on a throw-away SQLite database, plus the ceiling endpoint."""
    sys.path.insert(0, str(SRC))
    from fastapi import FastAPI

    from backpath.web import Settings, create_app

    folder = Path(os.environ["BENCH_DATA_DIR"])
    app: FastAPI = create_app(
        Settings(
            database_url=f"sqlite:///{folder / 'bench.db'}",
            secret_key="benchmark-only-" + "k" * 32,
            data_dir=folder,
        )
    )

    @app.post(ECHO_PATH, include_in_schema=False)
    async def echo(intake: EchoIntake) -> EchoIntake:
        """A bare FastAPI + pydantic echo: validate the body, return it as the response."""
        return intake

    @app.post(CEILING_PATH, include_in_schema=False)
    async def parse_only(request: Request) -> Response:
        """The ceiling: read and parse the same JSON body, answer with a tiny JSON."""
        document = json.loads(await request.body())
        return Response(
            json.dumps({"ok": True, "fields": len(document)}), media_type="application/json"
        )

    return app


def serve(port: int, workers: int) -> None:
    """Run uvicorn (blocking) with ``workers`` processes."""
    import uvicorn

    uvicorn.run(
        "http_triage:bench_app",
        factory=True,
        app_dir=str(HERE),
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


# ---------------------------------------------------------------- load generator process


async def _client(
    port: int, request: bytes, deadline: float, latencies: list[float], errors: list[str]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline and len(latencies) < MAX_REQUESTS:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != b"200":
                errors.append(status.decode())
    finally:
        writer.close()


async def _load(port: int, path: str, seconds: float, connections: int) -> dict[str, Any]:
    body = json.dumps(INTAKE).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(
        *(_client(port, request, deadline, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "path": path,
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": round(elapsed, 2),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(0.50), 2),
        "p90_ms": round(percentile(0.90), 2),
        "p99_ms": round(percentile(0.99), 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None,
    }


def load(port: int, path: str, seconds: float, connections: int) -> None:
    """Run the load generator and print one JSON line with the measurement."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_load(port, path, seconds, connections))))


# ---------------------------------------------------------------- orchestration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes.

    Reads ``/proc`` (Linux); elsewhere returns 0 and the CPU columns read 0.
    """
    proc = Path("/proc")
    if not proc.exists():
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, ... utime (12th), stime (13th).
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _measure(port: int, path: str, seconds: float, connections: int) -> dict[str, Any]:
    output = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--load",
            "--port",
            str(port),
            "--path",
            path,
            "--seconds",
            str(seconds),
            "--connections",
            str(connections),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Start the server, warm both endpoints up, measure them, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2, help="measure each endpoint N times")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--path", default=TRIAGE_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.workers)
        return
    if args.load:
        load(args.port, args.path, args.seconds, args.connections)
        return

    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "BENCH_DATA_DIR": folder,
            "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
        )
        try:
            for _ in range(300):
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                        break
                except OSError:
                    time.sleep(0.1)
            else:
                raise SystemExit("the server did not start")
            paths = (ECHO_PATH, CEILING_PATH, TRIAGE_PATH)
            for path in paths:  # warm-up
                _measure(port, path, 2, args.connections)
            results: dict[str, list[dict[str, Any]]] = {path: [] for path in paths}
            for _ in range(args.rounds):
                for path in paths:
                    cpu_before = _server_cpu_seconds(server.pid)
                    run = _measure(port, path, args.seconds, args.connections)
                    cpu = _server_cpu_seconds(server.pid) - cpu_before
                    # Server CPU per request: what the endpoint costs, whatever else runs on
                    # the machine (a busy machine lowers req/s, not this).
                    run["server_cpu_us"] = round(cpu / max(run["requests"], 1) * 1e6, 1)
                    results[path].append(run)
        finally:
            server.terminate()
            server.wait(timeout=30)

    print(
        f"\nuvicorn workers={args.workers}, {args.connections} connections, "
        f"{args.seconds:g} s x {args.rounds} rounds per endpoint, body {len(json.dumps(INTAKE))} B"
    )
    print(
        f"{'endpoint':<28}{'req/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'server CPU us/req':>19}"
    )
    for path, runs in results.items():
        for run in runs:
            print(
                f"{path:<28}{run['rps']:>10}{run['p50_ms']:>9}{run['p90_ms']:>9}"
                f"{run['p99_ms']:>9}{run['errors']:>8}{run['server_cpu_us']:>19}"
            )
    summary: dict[str, Any] = {}
    for ceiling, target in ((ECHO_PATH, 0.7), (CEILING_PATH, 0.5)):
        # Each round measures the ceilings and then triage back to back; the ratio of a
        # round is less disturbed by other load on the machine than the ratio of two bests.
        pairs = [
            t["rps"] / c["rps"]
            for c, t in zip(results[ceiling], results[TRIAGE_PATH], strict=True)
        ]
        best_ratio = max(r["rps"] for r in results[TRIAGE_PATH]) / max(
            r["rps"] for r in results[ceiling]
        )
        # The same ratio from server CPU per request (least CPU over the rounds): what the
        # throughput ratio is on an idle machine with one worker per core.
        cpu_ratio = min(r["server_cpu_us"] for r in results[ceiling]) / max(
            min(r["server_cpu_us"] for r in results[TRIAGE_PATH]), 1e-9
        )
        summary[ceiling] = {
            "median_ratio": round(statistics.median(pairs), 3),
            "cpu_ratio": round(cpu_ratio, 3),
        }
        print(
            f"POST {TRIAGE_PATH}: {statistics.median(pairs):.0%} of {ceiling} "
            f"(median of {len(pairs)} rounds; best/best {best_ratio:.0%}; by server CPU per "
            f"request {cpu_ratio:.0%}; target: at least {target:.0%})"
        )
    if args.json:
        print(json.dumps({"ratios": summary, "results": results}))


if __name__ == "__main__":
    main()
