"""A lean closed-loop HTTP/1.1 load generator for loopback benchmarks.

`concurrency` keep-alive connections each send the same pre-encoded request, wait for the
whole response, record its latency and send the next, until `requests` responses arrived or
`seconds` passed. Raw asyncio protocols on uvloop: a few microseconds of client CPU per
request, so the client takes as little of the shared cores from the server as possible.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: np.ndarray  # seconds, one per successful response

    def summary(self, rows: int) -> dict[str, float]:
        rate = self.requests / self.seconds if self.seconds else 0.0
        p50, p99 = (
            np.percentile(self.latencies * 1e3, [50, 99])
            if len(self.latencies)
            else (float("nan"), float("nan"))
        )
        return {
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "requests_per_s": round(rate, 1),
            "rows_per_s": round(rate * rows, 1),
            "p50_ms": round(float(p50), 3),
            "p99_ms": round(float(p99), 3),
        }


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run) -> None:
        self.run = run
        self.buffer = bytearray()
        self.started = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.send()

    def send(self) -> None:
        if not self.run.take():
            self.transport.close()
            return
        self.started = time.perf_counter()
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        start = head.find(b"content-length:")
        if start < 0:
            raise RuntimeError("the benchmark client needs a Content-Length in responses")
        length = int(
            head[start + 15 : head.find(b"\r\n", start) if b"\r\n" in head[start:] else len(head)]
        )
        if len(self.buffer) < end + 4 + length:
            return
        ok = head.startswith(b"http/1.1 200")
        del self.buffer[: end + 4 + length]
        self.run.record(time.perf_counter() - self.started, ok)
        self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.closed()


class _Run:
    def __init__(self, request: bytes, budget: int, deadline: float, connections: int) -> None:
        self.request = request
        self.budget = budget
        self.deadline = deadline
        self.latencies: list[float] = []
        self.errors = 0
        self.open = connections
        self.done = asyncio.get_running_loop().create_future()

    def take(self) -> bool:
        if self.budget <= 0 or time.perf_counter() > self.deadline:
            return False
        self.budget -= 1
        return True

    def record(self, seconds: float, ok: bool) -> None:
        if ok:
            self.latencies.append(seconds)
        else:
            self.errors += 1

    def closed(self) -> None:
        self.open -= 1
        if self.open == 0 and not self.done.done():
            self.done.set_result(None)


def build_request(port: int, path: str, body: bytes, token: str | None = None) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _load(port: int, request: bytes, concurrency: int, requests: int, seconds: float):
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    run = _Run(request, requests, start + seconds, concurrency)
    for _ in range(concurrency):
        await loop.create_connection(lambda: _Connection(run), "127.0.0.1", port)
    await run.done
    elapsed = time.perf_counter() - start
    return LoadResult(len(run.latencies), run.errors, elapsed, np.asarray(run.latencies))


def generate_load(
    port: int, request: bytes, concurrency: int, requests: int, seconds: float
) -> LoadResult:
    """Closed-loop load; bounded by `requests` responses and `seconds` of wall time."""
    import uvloop

    return uvloop.run(_load(port, request, concurrency, requests, seconds))
