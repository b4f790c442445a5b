"""Data seeds: fixed for reproducible runs, or fresh from the run's time for recurring ones.

A recurring or retraining run that reused one seed would train the same model on the same
rows again. KFP hands a run its times through placeholders (`{{$.pipeline_job_schedule_time_utc}}`
and `{{$.pipeline_job_create_time_utc}}`, RFC 3339); the seed is derived from the scheduled
time, else the creation time. Backends up to at least KFP 2.15 pass them through unresolved
(kubeflow/pipelines#12616): empty or unresolved text falls back to the step's clock, still a
new seed per run. kfp.local cannot resolve them at all; the local runner passes its start time.
"""

from __future__ import annotations

import time
from datetime import datetime

# Nine digits at most: the registry stores the seed as an int property (|n| < 1e9).
SEED_MODULUS = 1_000_000_000
# Seeds of held-out evaluation windows live above every training seed, so no run ever trains
# on the rows another evaluates on.
HOLDOUT_OFFSET = SEED_MODULUS


def seed_from_time(when: float) -> int:
    """A data seed from a run's start time (seconds since the epoch)."""
    return int(when) % SEED_MODULUS


def run_seed(seed: int, fresh: bool, scheduled_time: str = "", created_time: str = "") -> int:
    """`seed` itself, or with `fresh` one derived from the run's scheduled or creation time
    (RFC 3339 text; unresolved placeholders and empty text are skipped, then the clock)."""
    if seed < 0:
        raise ValueError(f"seed={seed}: expected an integer >= 0")
    if not fresh:
        return seed
    for text in (scheduled_time, created_time):
        if text and not text.startswith("{{"):
            try:
                when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"run time {text!r}: expected an RFC 3339 timestamp") from None
            if when.tzinfo is None:
                raise ValueError(f"run time {text!r}: expected a timezone, e.g. 'Z'")
            return seed_from_time(when.timestamp())
    return seed_from_time(time.time())


def holdout_seed(seed: int) -> int:
    """Seed of the evaluation window generated for a run trained on `seed`'s rows."""
    return HOLDOUT_OFFSET + seed % SEED_MODULUS
