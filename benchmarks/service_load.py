"""Load on the real service: N concurrent clients for T seconds, side by side across limits.

Starts `python -m qa_utils serve --model embedded` on 127.0.0.1 (a subprocess on a free port)
once per scenario, warms it up, then runs N closed-loop clients for T seconds: each sends a dev
question, waits for the answer, and sends the next; on a 503 it waits the Retry-After the
service asked for. Scenarios, one row each in one table:

- ``default``: the service's default limits (1 model thread, a queue of 256);
- ``small queue``: ``--max-queue 2 --request-timeout 5``, where the service sheds load.

Per scenario: requests, throughput (answered per second), p50/p95/p99 latency of the answered
ones, the share answered 503, other failures, and the server's memory (RSS after warm-up, the
peak during the load, growth). Then what one hostile request costs: a 50 MB chunked body and a
20,000-character CJK context (status, time to refusal, the server's memory growth).

Usage (from the repo root):
    python -m benchmarks.service_load [--clients 8] [--seconds 30] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

from qa_utils.core.data import load_squad, resolve_squad_source, subset
from qa_utils.project.config import get_profile
from qa_utils.project.cpu import passive_openmp
from qa_utils.project.io import atomic_write_json, atomic_write_text
from qa_utils.project.system import cpu_name, versions
from qa_utils.serving import harness

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS = {"default": (), "small queue": ("--max-queue", "2", "--request-timeout", "5")}
MAX_CLIENTS, MAX_SECONDS = 64, 600  # bounds: this is a benchmark, not a way to flood a host
MB = 2**20


@dataclass
class Scenario:
    """What one scenario measured."""

    name: str
    flags: str
    requests: int
    answered: int
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rate_503: float
    failed: int
    rss_start_mb: float
    rss_peak_mb: float
    rss_growth_mb: float


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--clients", type=int, default=8, help=f"concurrent clients (<= {MAX_CLIENTS})"
    )
    parser.add_argument(
        "--seconds", type=float, default=30.0, help=f"per scenario (<= {MAX_SECONDS})"
    )
    parser.add_argument("--questions", type=int, default=256, help="dev questions cycled through")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for .txt and .json")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= MAX_CLIENTS and 0 < args.seconds <= MAX_SECONDS):
        parser.error(f"--clients must be 1..{MAX_CLIENTS} and --seconds in (0, {MAX_SECONDS}]")
    return args


def questions(n: int) -> list[dict[str, str]]:
    """`n` dev questions (seeded draw) as request bodies."""
    dev = subset(load_squad(resolve_squad_source("validation")), n, seed=0)
    return [
        {"question": q, "context": c} for q, c in zip(dev["question"], dev["context"], strict=True)
    ]


class PeakRss:
    """Samples a process's resident memory in a thread; `peak` is the most seen."""

    def __init__(self, pid: int, every_s: float = 0.01) -> None:
        self.process, self.every_s = psutil.Process(pid), every_s
        self.start = self.peak = self.process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.every_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def client_loop(url: str, bodies: list[dict], offset: int, deadline: float, log: list) -> None:
    """One closed-loop client: send, wait, send the next; on 503 wait the Retry-After."""
    with httpx.Client(timeout=120) as client:
        i = offset
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                response = client.post(f"{url}/answer", json=bodies[i % len(bodies)])
                status = response.status_code
            except httpx.HTTPError:
                status, response = 0, None
            log.append((status, time.perf_counter() - sent))
            if status == 503 and response is not None:
                pause = float(response.headers.get("retry-after", "1"))
                time.sleep(max(0.0, min(pause, deadline - time.perf_counter())))
            i += 1


def run_load(url: str, bodies: list[dict], clients: int, seconds: float) -> list[tuple]:
    """`clients` closed-loop clients for `seconds`; every (status, latency) they saw."""
    log: list[tuple[int, float]] = []
    deadline = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=client_loop, args=(url, bodies, k * 31, deadline, log))
        for k in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return log


def summarise(name: str, flags: tuple, log: list, seconds: float, rss: PeakRss) -> Scenario:
    """The table row of one scenario."""
    statuses = np.array([s for s, _ in log])
    ok = np.array([t for s, t in log if s == 200]) * 1000
    p50, p95, p99 = np.percentile(ok, [50, 95, 99]) if len(ok) else (np.nan,) * 3
    return Scenario(
        name=name, flags=" ".join(flags) or "(defaults)", requests=len(log), answered=len(ok),
        throughput=len(ok) / seconds, p50_ms=float(p50), p95_ms=float(p95), p99_ms=float(p99),
        rate_503=float(np.mean(statuses == 503)),
        failed=int(np.sum(~np.isin(statuses, [200, 503]))),
        rss_start_mb=rss.start / MB, rss_peak_mb=rss.peak / MB,
        rss_growth_mb=(rss.peak - rss.start) / MB,
    )  # fmt: skip


def chunked_body(total: int, chunk: int = MB) -> Iterator[bytes]:
    """A JSON body of `total` context bytes sent in chunks (no Content-Length)."""
    yield b'{"question": "Where?", "context": "'
    for _ in range(total // chunk):
        yield b"x" * chunk
    yield b'"}'


def hostile(url: str, pid: int) -> dict[str, Any]:
    """Status, time and server memory growth of a 50 MB chunked body and a CJK context."""
    found = {}
    requests: dict[str, Callable[[], httpx.Response]] = {
        "50 MB chunked body": lambda: httpx.post(
            f"{url}/answer", content=chunked_body(50 * MB), timeout=120,
            headers={"content-type": "application/json"},
        ),
        "20,000 CJK characters": lambda: httpx.post(
            f"{url}/answer", json={"question": "哪里?", "context": "巴黎铁塔" * 5_000}, timeout=120
        ),
    }  # fmt: skip
    for name, send in requests.items():
        with PeakRss(pid, every_s=0.002) as rss:
            started = time.perf_counter()
            response = send()
            seconds = time.perf_counter() - started
            time.sleep(0.3)  # the server may still be reading what was sent
        found[name] = {
            "status": response.status_code,
            "detail": response.json().get("detail", ""),
            "seconds": round(seconds, 3),
            "rss_growth_mb": round((rss.peak - rss.start) / MB, 1),
        }
    return found


def scenario(name: str, flags: tuple, bodies: list[dict], args: argparse.Namespace) -> tuple:
    """Start a service with `flags`, warm it up, load it; its row (and hostile costs)."""
    with tempfile.TemporaryDirectory() as folder:
        service = harness.start_service("embedded", Path(folder) / "service.log", extra_args=flags)
        try:
            for body in bodies[:8]:  # warm-up: first calls allocate and compile
                httpx.post(f"{service.url}/answer", json=body, timeout=120)
            with PeakRss(service.process.pid) as rss:
                log = run_load(service.url, bodies, args.clients, args.seconds)
            costs = hostile(service.url, service.process.pid) if name == "default" else {}
        finally:
            service.stop()
    return summarise(name, flags, log, args.seconds, rss), costs


def table(rows: list[Scenario]) -> str:
    """The scenarios side by side as a Markdown table."""
    lines = [
        "| scenario | flags | requests | answered/s | p50 ms | p95 ms | p99 ms | 503 | failed "
        "| server RSS MB: after warm-up, peak, growth |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.flags} | {r.requests} | {r.throughput:.1f} | {r.p50_ms:.0f} "
            f"| {r.p95_ms:.0f} | {r.p99_ms:.0f} | {r.rate_503:.1%} | {r.failed} "
            f"| {r.rss_start_mb:.0f}, {r.rss_peak_mb:.0f}, +{r.rss_growth_mb:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    passive_openmp()  # inherited by the services: idle OpenMP threads sleep (project.cpu)
    bodies = questions(args.questions)
    load_before = os.getloadavg()
    results = [scenario(name, flags, bodies, args) for name, flags in SCENARIOS.items()]
    rows, costs = [r for r, _ in results], results[0][1]
    profile = get_profile()  # what `--model embedded` answers with (QA_PROFILE, else auto)
    machine = {
        "cpu": cpu_name(), "cores": os.cpu_count(), "service_threads": "torch default (all cores)",
        "profile": profile.name, "inference": profile.inference.to_dict(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()], **versions(),
    }  # fmt: skip
    text = "\n".join(
        [
            f"service load: {args.clients} closed-loop clients x {args.seconds:g} s per scenario, "
            f"embedded MiniLM-L6 with the {profile.name} profile's windows (max length "
            f"{profile.max_length}, stride {profile.doc_stride}), {len(bodies)} dev questions",
            f"machine: {machine['cpu']}, {machine['cores']} cores, service on the torch default "
            f"threads; load average before {machine['load_average_before']}, after "
            f"{machine['load_average_after']}",
            "",
            table(rows),
            "",
            "one hostile request against the default service:",
            *(
                f"- {name}: status {c['status']} in {c['seconds']} s, server memory "
                f"+{c['rss_growth_mb']} MB ({c['detail']})"
                for name, c in costs.items()
            ),
        ]
    )
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "service_load.txt", text + "\n")
    atomic_write_json(
        args.out / "service_load.json",
        {"args": {k: v for k, v in vars(args).items() if k != "out"}, "machine": machine,
         "scenarios": [asdict(r) for r in rows], "hostile": costs},
    )  # fmt: skip
    return 0 if all(r.failed == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
