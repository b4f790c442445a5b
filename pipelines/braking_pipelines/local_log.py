"""Keep a kfp.local run readable: its task progress on the terminal, everything in a log file.

kfp.local writes two things to stdout: its own log records (through the root logger, with a
handler it re-creates around every task) and each step's output (the subprocess's lines,
`print`ed). The steps' output and the records go to the log file by redirecting stdout; the
terminal gets kfp.local's one-line records, picked by where a record comes from and its
shape, not by its wording. A filter on the root logger sees them, because kfp.local replaces
the root logger's handlers but leaves its filters alone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import kfp.local

KFP_LOCAL_DIR = str(Path(kfp.local.__file__).parent)


class ProgressFilter(logging.Filter):
    """Copies kfp.local's one-line records (task started, finished, skipped) to `terminal`.

    Multi-line records (a task's outputs) and records of other code stay in the log only;
    warnings and errors from kfp.local always reach the terminal. Never drops a record.
    """

    def __init__(self, terminal: TextIO) -> None:
        super().__init__()
        self.terminal = terminal
        self.formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S")

    def filter(self, record: logging.LogRecord) -> bool:
        """Pass every record on; write the progress ones to the terminal as well."""
        if is_progress(record):
            self.terminal.write(self.formatter.format(record) + "\n")
            self.terminal.flush()
        return True


def is_progress(record: logging.LogRecord) -> bool:
    """Whether `record` is one of kfp.local's own status lines, or its warning or error."""
    if not record.pathname.startswith(KFP_LOCAL_DIR):
        return False
    if record.levelno >= logging.WARNING:
        return True
    return "\n" not in record.getMessage()  # one line; listings and headers span several


@contextlib.contextmanager
def progress_on_terminal(log: TextIO, terminal: TextIO) -> Iterator[None]:
    """Inside the block, stdout (the steps' output, kfp.local's records) goes to `log` and
    kfp.local's progress lines also to `terminal`."""
    progress = ProgressFilter(terminal)
    root = logging.getLogger()
    root.addFilter(progress)
    try:
        with contextlib.redirect_stdout(log):
            yield
    finally:
        root.removeFilter(progress)
