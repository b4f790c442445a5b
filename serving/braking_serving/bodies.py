"""Reading request bodies within a per-request limit and a total in-flight budget.

The per-request limit alone lets N connections hold N bodies (each just under the limit) in
memory at once. The budget bounds the sum: a request reserves its declared length before its
body is read and gives it back when its answer is sent. A request that does not fit waits,
and while it waits the server does not read its socket, so the unread bytes stay in the
kernel's buffers (a few hundred kilobytes a connection), not in the server's memory.
"""

from __future__ import annotations

import asyncio
from collections import deque

from braking_serving.protocol import ProtocolError


class ClientGone(Exception):
    """The client closed the connection before its body was complete; nobody to answer."""


class BodyBudget:
    """Bytes of request bodies the server holds at once, over all connections (FIFO)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.available = capacity
        self._waiting: deque[tuple[int, asyncio.Future]] = deque()

    async def acquire(self, size: int) -> int:
        """Wait until `size` bytes (at most the whole budget) are free; returns what was taken."""
        size = min(size, self.capacity)
        if not self._waiting and self.available >= size:
            self.available -= size
            return size
        granted = asyncio.get_running_loop().create_future()
        entry = (size, granted)
        self._waiting.append(entry)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release(size)
            elif entry in self._waiting:
                self._waiting.remove(entry)
            raise
        return size

    def release(self, size: int) -> None:
        """Give back `size` bytes and admit the waiting requests that now fit, in order."""
        self.available += size
        while self._waiting and self._waiting[0][0] <= self.available:
            size, granted = self._waiting.popleft()
            if granted.done():
                continue
            self.available -= size
            granted.set_result(None)


async def read_body(receive, length: int | None, limit: int) -> bytes:
    """The whole request body; 413 when it exceeds `limit` bytes (declared or actual)."""
    if length is not None and length > limit:
        raise ProtocolError(413, f"request body of {length} bytes exceeds the {limit} byte limit")
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body = message.get("body", b"")
    if not message.get("more_body") and len(body) <= limit:
        return body  # the common case: the whole body in one message
    chunks = [body]
    size = len(body)
    while True:
        if size > limit:
            raise ProtocolError(413, f"request body exceeds the {limit} byte limit")
        if not message.get("more_body"):
            break
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        chunks.append(chunk)
    return b"".join(chunks)
