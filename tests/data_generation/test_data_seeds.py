"""Fixed seeds stay fixed; fresh ones follow the run's scheduled, else creation, time."""

from __future__ import annotations

import time

import pytest

from braking_data.seeds import HOLDOUT_OFFSET, holdout_seed, run_seed, seed_from_time

SCHEDULED = "2026-12-02T06:00:00Z"  # 1_796_191_200 s since the epoch
CREATED = "2026-12-02T06:00:07.123456+00:00"


def test_a_fixed_seed_is_kept_whatever_the_run_time():
    assert run_seed(7, fresh=False, scheduled_time=SCHEDULED, created_time=CREATED) == 7


def test_a_fresh_seed_comes_from_the_scheduled_time_first():
    assert run_seed(7, fresh=True, scheduled_time=SCHEDULED, created_time=CREATED) == (
        seed_from_time(1_796_191_200)
    )
    assert run_seed(7, fresh=True, scheduled_time="", created_time=CREATED) == (
        seed_from_time(1_796_191_207)
    )


def test_recurring_runs_get_different_seeds():
    seeds = {run_seed(0, True, f"2026-12-0{day}T06:00:00Z") for day in range(1, 8)}
    assert len(seeds) == 7


def test_unresolved_placeholders_fall_back_to_the_clock():
    # kfp.local passes the placeholder text through unchanged.
    before = seed_from_time(time.time())
    seed = run_seed(
        7, True, "{{$.pipeline_job_schedule_time_utc}}", "{{$.pipeline_job_create_time_utc}}"
    )
    assert before <= seed <= seed_from_time(time.time())


@pytest.mark.parametrize(
    ("scheduled", "message"),
    [("yesterday", "expected an RFC 3339 timestamp"), ("2026-12-02T06:00:00", "timezone")],
)
def test_a_bad_run_time_is_named(scheduled, message):
    with pytest.raises(ValueError, match=message) as error:
        run_seed(7, True, scheduled)
    assert scheduled in str(error.value)


def test_a_negative_seed_is_refused():
    with pytest.raises(ValueError, match="seed=-1"):
        run_seed(-1, False)


def test_holdout_seeds_never_meet_training_seeds():
    assert holdout_seed(seed_from_time(time.time())) >= HOLDOUT_OFFSET > seed_from_time(time.time())
