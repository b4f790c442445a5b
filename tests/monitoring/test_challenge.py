"""The pipeline's champion/challenger step: the held-out window (logged or generated), both
models' answers on it, the decision on a real registry, and logged rows mixed into training."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from model_folders import pass_gate

from braking_data.contract import FEATURE_COLUMNS, LABEL_COLUMN, TIMESTAMP_COLUMN
from braking_data.generate import generate_frame
from braking_data.scenario import Scenario
from braking_monitoring import challenge, champions
from braking_monitoring.events import InferenceRows
from braking_monitoring.store import InferenceStore
from braking_release.config import RegistrationConfig
from braking_release.register import register_model

MODEL = "braking-distance"


def tree_model(model_dir: Path, depth: int) -> Path:
    """A real ONNX regression tree of `depth` on generated data: deeper is clearly better."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.tree import DecisionTreeRegressor

    frame = generate_frame(4_000, seed=11)
    tree = DecisionTreeRegressor(max_depth=depth, random_state=0)
    tree.fit(frame[list(FEATURE_COLUMNS)].to_numpy(np.float32), frame[LABEL_COLUMN])
    graph = convert_sklearn(
        tree,
        initial_types=[("sensor_features", FloatTensorType([None, 7]))],
        final_types=[("brake_amount", FloatTensorType([None, 1]))],
        target_opset=17,
    )
    graph.graph.name = f"tree-{depth}"
    model_dir.mkdir(parents=True)
    (model_dir / "model.onnx").write_bytes(graph.SerializeToString())
    metrics = {"test": {"rmse": 0.1, "mae": 0.05, "r2": 0.9}, "params": {"family": "tree"}}
    (model_dir / "metrics.json").write_text(json.dumps(metrics))
    return pass_gate(model_dir)


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("trees")
    return {"good": tree_model(root / "good", 10), "bad": tree_model(root / "bad", 2)}


def logged_traffic(store: InferenceStore, version: str, rows: int, seed: int) -> pd.DataFrame:
    """`rows` served rows of `version` with their labels, flushed to the store."""
    frame = generate_frame(rows, seed)
    ids = [f"v{version}-{seed}-{i}" for i in range(rows)]
    served = np.full(rows, 0.5, dtype=np.float32)
    features = frame[list(FEATURE_COLUMNS)].to_numpy(np.float32)
    store.add(InferenceRows(MODEL, version, ids, features, served, time.time()))
    store.add_labels(MODEL, ids, frame[LABEL_COLUMN].tolist())
    store.flush()
    return frame


def test_a_first_version_is_promoted_without_comparison(registry, trees):
    settings = RegistrationConfig(registry_url=registry.url)
    version = register_model(trees["bad"], settings).version_name
    window = {"store_uri": "", "rows": 500, "seed": 3, "scenario": Scenario()}
    decision, where = challenge.challenge_champion(trees["bad"], version, True, settings, **window)
    assert decision.promote and "no champion yet" in decision.reasons[0]
    assert where == {"window": "generated", "champion": ""}
    recorded = champions.model_version_properties(settings, version)
    assert recorded["promotion.decision"] == "promote"
    assert recorded["promotion.window"] == "generated"


def test_a_clearly_better_challenger_is_promoted_and_a_worse_one_kept(registry, trees):
    settings = RegistrationConfig(registry_url=registry.url)
    bad = register_model(trees["bad"], settings).version_name
    good = register_model(trees["good"], settings).version_name
    window = challenge.evaluation_window("", MODEL, bad, 1_000, 3, Scenario())
    assert window.source == "generated" and window.champion_predictions is None
    assert window.champion == bad

    better = challenge.decide_promotion(trees["good"], good, True, settings, window)
    assert better.promote, better.reasons
    assert better.evidence.challenger_rmse < better.evidence.champion_rmse
    champions.record_decision(settings, good, better, extra={"window": window.source})
    recorded = champions.model_version_properties(settings, good)
    assert recorded["promotion.decision"] == "promote"
    assert recorded["promotion.window"] == "generated"

    window = challenge.evaluation_window("", MODEL, good, 1_000, 3, Scenario())
    worse = challenge.decide_promotion(trees["bad"], bad, True, settings, window)
    assert not worse.promote
    assert any("RMSE not clearly lower" in reason for reason in worse.reasons)
    # The champion itself (an idempotent re-registration) is served again, not compared.
    again = challenge.decide_promotion(trees["good"], good, True, settings, window)
    assert again.promote and "champion already" in again.reasons[0]


def test_the_window_is_the_champions_latest_labelled_traffic(tmp_path):
    store = InferenceStore(str(tmp_path / "log"))
    logged_traffic(store, "1", 400, seed=1)
    latest = logged_traffic(store, "2", 350, seed=2)

    window = challenge.evaluation_window(str(tmp_path / "log"), MODEL, "2", 300, 3, Scenario())
    assert window.source == "inference-log"
    assert len(window.labels) == 300
    np.testing.assert_allclose(window.labels, latest[LABEL_COLUMN].to_numpy()[-300:], rtol=1e-6)
    np.testing.assert_allclose(window.champion_predictions, 0.5)
    # Too few labelled rows of the champion: a fresh window instead.
    fresh = challenge.evaluation_window(str(tmp_path / "log"), MODEL, "3", 300, 3, Scenario())
    assert fresh.source == "generated" and len(fresh.labels) == 300


def test_rows_that_can_be_a_window_are_never_mixed_into_training(tmp_path):
    store = InferenceStore(str(tmp_path / "log"))
    logged_traffic(store, "1", 400, seed=1)
    logged_traffic(store, "2", 400, seed=2)
    logged = challenge.labelled_log(str(tmp_path / "log"), MODEL)
    older = challenge.older_rows(logged, 300)
    assert len(older) == 200
    for version in ("1", "2"):
        window = challenge.logged_window(logged, version, 300)
        assert not set(window["inference_id"]) & set(older["inference_id"])


def test_logged_rows_replace_a_share_of_the_generated_rows(tmp_path):
    logged = challenge.labelled_log(str(tmp_path / "log"), MODEL)  # empty store: nothing to mix
    assert challenge.mix_logged_rows(generate_frame(1_000, 4), logged, 0.2, 4)[1] == 0

    store = InferenceStore(str(tmp_path / "log"))
    source = logged_traffic(store, "1", 600, seed=9)
    logged = challenge.labelled_log(str(tmp_path / "log"), MODEL)
    frame = generate_frame(1_000, 4)
    mixed, count = challenge.mix_logged_rows(frame, logged, 0.2, 4)
    assert count == 200
    # Every label of the mixed rows is a logged one; the timestamps stay the generated ones.
    changed = (mixed[LABEL_COLUMN] != frame[LABEL_COLUMN]) | (
        mixed["road_friction"] != frame["road_friction"]
    )
    assert 190 <= changed.sum() <= 200
    assert set(mixed.loc[changed, "road_friction"]) <= set(source["road_friction"])
    assert mixed[TIMESTAMP_COLUMN].equals(frame[TIMESTAMP_COLUMN])
    with pytest.raises(ValueError, match=r"log_fraction=1.5: expected a share in \[0, 1\]"):
        challenge.mix_logged_rows(frame, logged, 1.5, 4)


def test_training_data_with_logged_rows_splits_and_trains_like_generated_data(tmp_path):
    from braking_model.tune import split_by_time

    store = InferenceStore(str(tmp_path / "log"))
    logged_traffic(store, "1", 1_500, seed=9)
    log = (str(tmp_path / "log"), MODEL)
    info, mixed = challenge.write_training_data(
        tmp_path / "data.parquet", 2_000, 5, Scenario(), log, 0.25, evaluation_rows=1_000
    )
    assert mixed == 500  # 1,500 logged, the latest 1,000 kept back for the window
    assert info.rows == 2_000 and sum(s.rows for s in info.label_stats.values()) == 2_000
    n_train, n_test = split_by_time(
        tmp_path / "data.parquet", tmp_path / "train.parquet", tmp_path / "test.parquet", 0.25
    )
    assert (n_train, n_test) == (1_500, 500)
    plain, none = challenge.write_training_data(tmp_path / "plain.parquet", 2_000, 5, Scenario())
    assert none == 0 and plain.sha256 != info.sha256


def test_a_champion_stored_on_s3_is_downloaded_to_compare(registry, trees, s3_server, s3_bucket):
    settings = RegistrationConfig(
        registry_url=registry.url,
        storage="s3",
        storage_key="model-storage",
        connection=s3_server.connection(s3_bucket),
    )
    champion = register_model(trees["bad"], settings).version_name
    copy = champions.model_file(settings, champion)
    assert copy.read_bytes() == (trees["bad"] / "model.onnx").read_bytes()

    challenger = register_model(trees["good"], settings).version_name
    window = challenge.evaluation_window("", MODEL, champion, 1_000, 3, Scenario())
    decision = challenge.decide_promotion(trees["good"], challenger, True, settings, window)
    assert decision.promote, decision.reasons
