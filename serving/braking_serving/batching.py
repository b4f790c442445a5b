"""Dynamic batching: concurrent requests for one model share one inference call.

A call's fixed cost (session entry, graph set-up) dominates a 1-row inference, so sixteen
1-row calls cost far more than one 16-row call. Like Triton's dynamic batcher and
MLServer's adaptive batching, requests for the same model (and the same outputs) are
gathered into one call bounded by a row count (the server's `max_rows_per_call`) and a
maximum wait; each request is answered with its own rows.

With a maximum wait of 0 a batch holds exactly the requests the event loop has already
received when the first of them is ready: nothing waits for requests still to come, so a
lone client sees no added latency, and under load each loop turn's requests share a call.

Where calls run: small ones inline on the event loop (a thread hand-off costs more than
they do), large ones on the server's bounded executor so health checks and other requests
keep being answered while they compute.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

from braking_serving.repository import LoadedModel

# A call on this many rows or fewer runs on the event loop: well under a millisecond for the
# served model, less than a hand-off to a thread would cost (measured in bench_serving).
INLINE_ROWS = 256


@dataclass
class _Batch:
    model: LoadedModel
    output_names: list[str]
    feeds: list[dict[str, np.ndarray]] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    futures: list[asyncio.Future] = field(default_factory=list)
    timer: asyncio.Handle | None = None

    @property
    def rows(self) -> int:
        return sum(self.sizes)


def run_call(model: LoadedModel, output_names: list[str], feeds: dict) -> list[np.ndarray]:
    """One inference call: the single place the server enters a model."""
    return model.run(output_names, feeds)


class Batcher:
    """Runs inference calls for the server, batching small concurrent requests."""

    def __init__(
        self, max_rows: int, max_wait_seconds: float, enabled: bool, executor: Executor
    ) -> None:
        self.max_rows = max_rows
        self.max_wait_seconds = max_wait_seconds
        self.enabled = enabled
        self.executor = executor
        self._open: dict[tuple[int, tuple[str, ...]], _Batch] = {}

    async def infer(
        self, model: LoadedModel, output_names: list[str], feeds: dict, rows: int
    ) -> list[np.ndarray]:
        """The model's outputs for one request's `feeds` ([rows, ...] each)."""
        if not self.enabled or rows >= INLINE_ROWS or not _batchable(feeds, rows):
            return await self._call(lambda: run_call(model, output_names, feeds), rows)
        key = (id(model), tuple(output_names))
        batch = self._open.get(key)
        if batch is not None and batch.rows + rows > self.max_rows:
            self._flush(key, batch)
            batch = None
        if batch is None:
            batch = self._open[key] = _Batch(model, output_names)
            loop = asyncio.get_running_loop()
            if self.max_wait_seconds > 0:
                batch.timer = loop.call_later(self.max_wait_seconds, self._flush, key, batch)
            else:
                batch.timer = loop.call_soon(self._flush, key, batch)
        future = asyncio.get_running_loop().create_future()
        batch.feeds.append(feeds)
        batch.sizes.append(rows)
        batch.futures.append(future)
        if batch.rows >= self.max_rows:
            self._flush(key, batch)
        return await future

    async def _call(self, call: Callable[[], list[np.ndarray]], rows: int) -> list[np.ndarray]:
        if rows <= INLINE_ROWS:
            return call()
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def _flush(self, key: tuple, batch: _Batch) -> None:
        if self._open.get(key) is not batch:
            return  # already sent (it filled up before its timer fired)
        del self._open[key]
        if batch.timer is not None:
            batch.timer.cancel()
        if batch.rows <= INLINE_ROWS:
            _answer(batch, _run_batch(batch))
        else:
            task = asyncio.ensure_future(self._run_in_executor(batch))
            task.add_done_callback(lambda done: done.exception())  # errors go to the futures

    async def _run_in_executor(self, batch: _Batch) -> None:
        loop = asyncio.get_running_loop()
        _answer(batch, await loop.run_in_executor(self.executor, _run_batch, batch))


def _batchable(feeds: dict[str, np.ndarray], rows: int) -> bool:
    return all(array.ndim and array.shape[0] == rows for array in feeds.values())


def _run_batch(batch: _Batch) -> list[list[np.ndarray]] | BaseException:
    """Each request's outputs, from one call over all of them; or the error to hand out."""
    try:
        if len(batch.feeds) == 1:
            return [run_call(batch.model, batch.output_names, batch.feeds[0])]
        names = batch.feeds[0].keys()
        joined = {name: np.concatenate([feeds[name] for feeds in batch.feeds]) for name in names}
        results = run_call(batch.model, batch.output_names, joined)
        if any(result.ndim == 0 or result.shape[0] != batch.rows for result in results):
            # Outputs not row-aligned with inputs: this model cannot be batched, call singly.
            return [run_call(batch.model, batch.output_names, feeds) for feeds in batch.feeds]
        bounds = np.cumsum([0, *batch.sizes])
        return [
            [result[start:stop] for result in results] for start, stop in itertools.pairwise(bounds)
        ]
    except Exception as error:  # handed to every waiting request, which answers 500
        return error


def _answer(batch: _Batch, outcome: list[list[np.ndarray]] | BaseException) -> None:
    for index, future in enumerate(batch.futures):
        if future.done():  # the client went away and its request was cancelled
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome[index])
