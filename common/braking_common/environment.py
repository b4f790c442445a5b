"""Environment variables set for a while (child processes inherit them), then restored."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def scoped_environ(values: Mapping[str, str], *, override: bool = True) -> Iterator[None]:
    """Set `values` in os.environ inside the block and restore the previous state after it.

    With `override=False` a variable the user already set keeps its value (their setting wins).
    """
    chosen = {k: v for k, v in values.items() if override or k not in os.environ}
    previous = {name: os.environ.get(name) for name in chosen}
    os.environ.update(chosen)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
