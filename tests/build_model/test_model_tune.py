"""Time split, search space YAML, candidate sampling, sharding and selection."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from braking_data.generate import generate_frame
from braking_model.config import SearchSpaceError, TrainConfig, load_search_space
from braking_model.tune import (
    TRIAL_COLUMNS,
    merge_trials,
    sample_candidates,
    select_best,
    split_by_time,
    tune_shard,
)


@pytest.fixture(scope="module")
def shuffled_data(tmp_path_factory) -> tuple[pd.DataFrame, object]:
    frame = generate_frame(1_000, seed=5)
    shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    path = tmp_path_factory.mktemp("data") / "data.parquet"
    shuffled.to_parquet(path, index=False)
    return frame, path


def test_split_holds_out_the_latest_rows(shuffled_data, tmp_path) -> None:
    frame, path = shuffled_data
    n_train, n_test = split_by_time(path, tmp_path / "tr.parquet", tmp_path / "te.parquet", 0.25)
    assert (n_train, n_test) == (750, 250)
    train, test = pd.read_parquet(tmp_path / "tr.parquet"), pd.read_parquet(tmp_path / "te.parquet")
    assert train["event_timestamp"].max() < test["event_timestamp"].min()
    assert test["event_timestamp"].is_monotonic_increasing
    expected_test = frame.sort_values("event_timestamp").tail(250)
    np.testing.assert_array_equal(test["brake_amount"], expected_test["brake_amount"])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_split_rejects_a_fraction_outside_0_1(shuffled_data, tmp_path, fraction) -> None:
    _, path = shuffled_data
    with pytest.raises(ValueError, match="test_fraction"):
        split_by_time(path, tmp_path / "a.parquet", tmp_path / "b.parquet", fraction)


def test_split_of_a_missing_file_names_it(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.parquet"):
        split_by_time(tmp_path / "nope.parquet", tmp_path / "a", tmp_path / "b", 0.2)


def test_packaged_search_space_covers_two_families() -> None:
    space = load_search_space()
    assert set(space) == {"hist_gradient_boosting", "mlp"}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("random_forest:\n  n_estimators: 10\n", "unknown model family 'random_forest'"),
        ("mlp:\n  hidden_units: 3\n", "unknown parameter 'mlp.hidden_units'"),
        ("mlp:\n  alpha: {lognormal: [1, 2]}\n", "'mlp.alpha': expected a constant or one key"),
        ("mlp:\n  alpha: {loguniform: [0, 1]}\n", "'mlp.alpha': loguniform needs low > 0"),
        ("mlp:\n  alpha: {uniform: [2, 1]}\n", "'mlp.alpha': uniform needs \\[low, high\\]"),
        ("hist_gradient_boosting:\n  max_iter: {randint: [1.5, 9]}\n", "integer bounds"),
        ("mlp: [1, 2]\n", "'mlp' must map parameters"),
        ("[1, 2]\n", "expected a mapping of model families"),
        ("mlp: {alpha: [\n", "invalid YAML"),
    ],
)
def test_search_space_errors_name_the_key(tmp_path, text: str, named: str) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(SearchSpaceError, match=named):
        load_search_space(path)


def test_candidates_are_seeded_and_alternate_families() -> None:
    space = load_search_space()
    first, again = sample_candidates(space, 6, seed=1), sample_candidates(space, 6, seed=1)
    assert first == again
    assert [c.family for c in first] == ["hist_gradient_boosting", "mlp"] * 3
    assert first != sample_candidates(space, 6, seed=2)


def test_shards_partition_the_search(shuffled_data, tmp_path) -> None:
    _, path = shuffled_data
    space = tmp_path / "space.yaml"
    space.write_text(
        "hist_gradient_boosting:\n  max_iter: {randint: [5, 15]}\n"
        "mlp:\n  hidden_layer_sizes: [8]\n  max_iter: 5\n"
    )
    config = TrainConfig(search_space=space, n_iter=5, cv=2, n_jobs=1, seed=3)
    shards = [tune_shard(path, config, index, 2) for index in range(2)]
    assert [list(s["trial"]) for s in shards] == [[0, 2, 4], [1, 3]]
    assert all(list(s.columns) == list(TRIAL_COLUMNS) for s in shards)
    assert [set(s["shard"]) for s in shards] == [{0}, {1}]
    whole = tune_shard(path, config, 0, 1)
    merged = merge_trials(shards).sort_values("trial")
    np.testing.assert_allclose(merged["mean_cv_rmse"], whole["mean_cv_rmse"], rtol=1e-9)
    assert select_best(shards).trial == select_best(whole).trial
    with pytest.raises(ValueError, match="shard_index"):
        tune_shard(path, config, 2, 2)


def _trial(trial, rmse, under=0.0, violation=0.0, stationary=1.0, family="mlp"):
    return {
        "trial": trial,
        "family": family,
        "params": json.dumps({"alpha": trial}),
        "mean_cv_rmse": rmse,
        "std_cv_rmse": 0.0,
        "mean_cv_under_braking_rate": under,
        "max_cv_monotonic_violation": violation,
        "min_cv_stationary_brake": stationary,
        "mean_fit_time_s": 1.0,
        "shard": 0,
    }


def test_selection_prefers_the_safe_candidate_over_the_most_accurate() -> None:
    trials = pd.DataFrame(
        [
            _trial(0, 0.040, violation=0.2),  # most accurate, not monotonic
            _trial(1, 0.045, under=0.05),  # under-brakes
            _trial(2, 0.050),  # safe
            _trial(3, 0.047, stationary=0.4),  # fails the stationary obstacle
        ]
    )
    best = select_best(trials)
    assert (best.trial, best.params) == (2, {"alpha": 2})


def test_selection_falls_back_to_physics_then_least_under_braking() -> None:
    trials = pd.DataFrame([_trial(0, 0.04, under=0.05), _trial(1, 0.05, under=0.02)])
    assert select_best(trials).trial == 1
    unsafe = pd.DataFrame([_trial(0, 0.05, violation=1.0), _trial(1, 0.04, violation=1.0)])
    assert select_best(unsafe).trial == 1


def test_selection_keeps_headroom_below_the_under_braking_limit() -> None:
    # Both are within the 1 % gate limit in CV, but the more accurate one sits right at it
    # and would fail the gate on held-out data about half the time.
    trials = pd.DataFrame([_trial(0, 0.040, under=0.0095), _trial(1, 0.045, under=0.004)])
    assert select_best(trials).trial == 1


def test_selection_needs_a_trial_table() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        select_best(pd.DataFrame({"trial": [1]}))


def test_cores_holds_every_thread_pool_to_one_thread_and_restores_it():
    import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)
    from threadpoolctl import threadpool_info

    from braking_model.tune import cores

    before = [pool["num_threads"] for pool in threadpool_info()]
    with cores(1):
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}
    assert [pool["num_threads"] for pool in threadpool_info()] == before
    with cores(-1):  # all cores: left to joblib and the libraries
        assert [pool["num_threads"] for pool in threadpool_info()] == before


def test_a_single_refit_gets_all_the_cores_it_is_given():
    from threadpoolctl import threadpool_info

    from braking_model.tune import cores

    with cores(2, fits_at_once=1):
        assert {pool["num_threads"] for pool in threadpool_info()} == {2}
    with cores(4, fits_at_once=2):
        assert {pool["num_threads"] for pool in threadpool_info()} == {2}
