"""The probes of issue 14, replayed against a running server: shared by the hardening
benchmark (full size) and its test (small).

While a health checker measures latency, three kinds of clients run at once, each in its
own process so that none slows the others' clocks:
- slow-header clients stream one endless header each (a new connection when cut off);
- idle clients hold connections with half a request line (reopened when closed);
- a large-request client sends valid large requests back to back.
The server's RSS (its whole process tree) is sampled throughout.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Target:
    """A running server under probe."""

    name: str
    host: str
    port: int
    pid: int
    health_path: str
    large_method: str
    large_path: str
    large_body: bytes
    token: str | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def headers(self) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**auth, "Content-Type": "application/json"}


@dataclass
class ProbeSizes:
    """How hard to probe; the defaults are the issue's figures."""

    slow_header_connections: int = 4
    slow_header_bytes: int = 60 << 20
    idle_connections: int = 500
    large_requests: int = 30
    min_seconds: float = 20.0  # long enough for the header deadline to close idle clients
    baseline_seconds: float = 5.0  # health latency alone first: the machine's own noise


@dataclass
class ProbeResult:
    baseline_health_ms: dict[str, float]
    health_ms: dict[str, float]
    health_statuses: dict[int, int]
    large_statuses: dict[int, int]
    large_request_seconds: dict[str, float]
    slow_header_answers: dict[str, int]
    idle_connections_closed_by_server: int
    rss_mb: dict[str, float]
    seconds: float
    server_errors: int = field(init=False)

    def __post_init__(self) -> None:
        self.server_errors = sum(
            count
            for statuses in (self.health_statuses, self.large_statuses)
            for status, count in statuses.items()
            if status >= 500
        ) + sum(count for answer, count in self.slow_header_answers.items() if answer[0] == "5")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (server workers), in MB."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            stack += map(int, Path(f"/proc/{current}/task/{current}/children").read_text().split())
        except (OSError, ValueError):
            continue
    return total / 1024


def _count(values) -> dict:
    counts: dict = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _health_checker(target: Target, stop, queue) -> None:
    import httpx

    latencies, statuses = [], []
    with httpx.Client(base_url=target.url, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                statuses.append(client.get(target.health_path).status_code)
            except httpx.HTTPError:
                statuses.append(0)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.01)
    queue.put(("health", latencies, statuses))


def _large_requester(target: Target, count: int, queue) -> None:
    import httpx

    statuses, seconds = [], []
    with httpx.Client(base_url=target.url, timeout=120, headers=target.headers()) as client:
        for _ in range(count):
            started = time.perf_counter()
            try:
                response = client.request(
                    target.large_method, target.large_path, content=target.large_body
                )
                statuses.append(response.status_code)
            except httpx.HTTPError:
                statuses.append(0)
            seconds.append(time.perf_counter() - started)
    queue.put(("large", statuses, seconds))


async def _slow_header(target: Target, total_bytes: int, stop, answers: list) -> None:
    chunk = b"a" * 65536
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(target.host, target.port)
            writer.write(f"GET {target.health_path} HTTP/1.1\r\nx-slow: ".encode())
            sent = 0
            while sent < total_bytes and not stop.is_set() and not reader.at_eof():
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
            answer = await asyncio.wait_for(reader.read(12), 30)
            answers.append(answer[9:12].decode() or "closed")
            writer.close()
        except TimeoutError:
            answers.append("no answer")  # the server kept reading: no header limit
        except OSError:
            answers.append("reset")  # the server cut us off while we were still sending
        await asyncio.sleep(0.05)


async def _idle(target: Target, stop, closed: list) -> None:
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(target.host, target.port)
            writer.write(b"GET /v2/health/live HTTP/1.1\r\nHost: probe\r\nx-half: ")
            await writer.drain()
            while not stop.is_set() and not reader.at_eof():
                try:
                    if not await asyncio.wait_for(reader.read(1024), 0.5):
                        break
                except TimeoutError:
                    continue
            if not stop.is_set():
                closed.append(1)
            writer.close()
        except OSError:
            await asyncio.sleep(0.1)


def _attackers(target: Target, sizes: ProbeSizes, stop, queue) -> None:
    async def run() -> None:
        answers: list[str] = []
        closed: list[int] = []
        tasks = [
            asyncio.ensure_future(_slow_header(target, sizes.slow_header_bytes, stop, answers))
            for _ in range(sizes.slow_header_connections)
        ]
        tasks += [
            asyncio.ensure_future(_idle(target, stop, closed))
            for _ in range(sizes.idle_connections)
        ]
        while not stop.is_set():
            await asyncio.sleep(0.2)
        if tasks:
            await asyncio.wait(tasks, timeout=10)
        queue.put(("attackers", _count(answers), len(closed)))

    asyncio.run(run())


def run_probes(target: Target, sizes: ProbeSizes) -> ProbeResult:
    """All probes at once against `target`; returns latency, statuses and memory."""
    context = multiprocessing.get_context("spawn")
    baseline = _baseline_health(context, target, sizes.baseline_seconds)
    stop, queue = context.Event(), context.Queue()
    rss_before = tree_rss_mb(target.pid)
    started = time.monotonic()
    attackers = context.Process(target=_attackers, args=(target, sizes, stop, queue))
    health = context.Process(target=_health_checker, args=(target, stop, queue))
    large = context.Process(target=_large_requester, args=(target, sizes.large_requests, queue))
    attackers.start()
    time.sleep(1.0)  # let the idle connections pile up first
    health.start()
    large.start()
    peak = rss_before
    while large.is_alive() or time.monotonic() - started < sizes.min_seconds:
        peak = max(peak, tree_rss_mb(target.pid))
        time.sleep(0.25)
    stop.set()
    reports = {report[0]: report[1:] for report in (queue.get(timeout=120) for _ in range(3))}
    for process in (attackers, health, large):
        process.join(timeout=30)
    latencies, health_statuses = reports["health"]
    return ProbeResult(
        baseline_health_ms=baseline,
        health_ms=_latency_ms(latencies),
        health_statuses=_count(health_statuses),
        large_statuses=_count(reports["large"][0]),
        large_request_seconds={
            "median": round(float(np.median(reports["large"][1])), 3),
            "max": round(float(np.max(reports["large"][1])), 3),
        },
        slow_header_answers=reports["attackers"][0],
        idle_connections_closed_by_server=reports["attackers"][1],
        rss_mb={
            "before": round(rss_before, 1),
            "peak": round(peak, 1),
            "after": round(tree_rss_mb(target.pid), 1),
            "growth": round(peak - rss_before, 1),
        },
        seconds=round(time.monotonic() - started, 1),
    )


def _latency_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {
        "count": len(ms),
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p99": round(float(np.percentile(ms, 99)), 2),
        "max": round(float(ms.max()), 2),
    }


def _baseline_health(context, target: Target, seconds: float) -> dict[str, float]:
    """Health latency with no probe running, measured the same way."""
    stop, queue = context.Event(), context.Queue()
    checker = context.Process(target=_health_checker, args=(target, stop, queue))
    checker.start()
    time.sleep(seconds)
    stop.set()
    latencies = queue.get(timeout=120)[1]
    checker.join(timeout=30)
    return _latency_ms(latencies)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
