"""The pipeline's champion/challenger step: a held-out labelled window, both models' answers
on it, the promotion rule, and recent labelled traffic mixed into fresh training data.

The window is the inference log's latest labelled rows that the champion served, when the
collector holds at least `MIN_WINDOW_ROWS` of them: real traffic, and the champion's answers
are the logged ones. Otherwise it is a freshly generated window in the run's world, from a
seed no training run uses (`holdout_seed`). Rows used as the window are never mixed into
training: `mix_logged_rows` takes only older labelled rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from braking_data.contract import (
    CONDITION_COLUMN,
    FEATURE_COLUMNS,
    LABEL_COLUMN,
    ROAD_CONDITIONS,
)
from braking_data.scenario import (
    Scenario,
    friction_conditions,
    generate_scenario_columns,
    scenario_config,
)
from braking_data.seeds import holdout_seed
from braking_data.storage import DatasetInfo, file_sha256
from braking_model.reference import MIN_WINDOW_ROWS, WINDOW_ROWS
from braking_monitoring import champions
from braking_monitoring.promotion import PromotionDecision, compare_models
from braking_release.config import RegistrationConfig

if TYPE_CHECKING:  # pandas only where the inference log is read: the light steps load none
    import pandas as pd


@dataclass(frozen=True)
class EvaluationWindow:
    """Labelled rows held out of the challenger's training, and where they come from."""

    champion: str | None  # the version it was chosen for (None: no champion yet)
    features: np.ndarray
    labels: np.ndarray
    source: str  # "inference-log" or "generated"
    champion_predictions: np.ndarray | None = None  # what the champion served (log only)


def labelled_log(store_uri: str, model_name: str) -> pd.DataFrame:
    """Logged inference rows of `model_name` that have a ground-truth label, oldest first:
    `inference_id`, `version`, the features, the served `prediction`, `label` and `time`."""
    import pandas as pd

    from braking_monitoring.store import InferenceStore

    store = InferenceStore(store_uri)
    inferences = store.read(model_name).to_pandas()
    labels = store.read_labels(model_name).to_pandas()
    if inferences.empty or labels.empty:
        columns = ["inference_id", "version", *FEATURE_COLUMNS, "prediction", "label", "time"]
        return pd.DataFrame(columns=columns)
    latest = labels.sort_values("time").drop_duplicates("inference_id", keep="last")
    joined = inferences.merge(latest[["inference_id", "label"]], on="inference_id")
    return joined.sort_values("time", kind="stable").reset_index(drop=True)


def logged_window(logged: pd.DataFrame, champion: str | None, rows: int) -> pd.DataFrame:
    """The latest `rows` labelled rows the champion served; empty below the collector's smallest
    window (MIN_WINDOW_ROWS)."""
    served = logged[logged["version"] == champion] if champion else logged.iloc[:0]
    return served.iloc[-rows:] if len(served) >= MIN_WINDOW_ROWS else served.iloc[:0]


def older_rows(logged: pd.DataFrame, rows: int) -> pd.DataFrame:
    """Labelled rows that no evaluation window can hold: all but each version's latest
    `rows`, whichever version turns out to be the champion."""
    newest_first = logged.groupby("version", observed=True).cumcount(ascending=False)
    return logged[newest_first.to_numpy() >= rows]


def evaluation_window(
    store_uri: str, model_name: str, champion: str | None, rows: int, seed: int, scenario: Scenario
) -> EvaluationWindow:
    """The champion's latest labelled traffic, else `rows` fresh rows in `scenario`'s world."""
    if store_uri:
        window = logged_window(labelled_log(store_uri, model_name), champion, rows)
        if len(window):
            return EvaluationWindow(
                champion,
                window[list(FEATURE_COLUMNS)].to_numpy(np.float32),
                window["label"].to_numpy(np.float64),
                "inference-log",
                window["prediction"].to_numpy(np.float64),
            )
    columns = generate_scenario_columns(rows, holdout_seed(seed), scenario)
    return EvaluationWindow(
        champion,
        np.column_stack([columns[name] for name in FEATURE_COLUMNS]).astype(np.float32),
        columns[LABEL_COLUMN].astype(np.float64),
        "generated",
    )


def mix_logged_rows(
    frame: pd.DataFrame, older: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, int]:
    """`frame` with up to `fraction` of its rows replaced by the newest `older` labelled rows;
    returns it and how many were mixed in.

    A mixed-in row takes the timestamp of the generated row it replaces, so the time split
    spreads logged rows over training and test in proportion instead of putting all of them
    (the newest rows) in the test split. Its road condition is read from its friction band.
    """
    import pandas as pd

    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"log_fraction={fraction}: expected a share in [0, 1]")
    count = min(int(len(frame) * fraction), len(older))
    if count == 0:
        return frame, 0
    chosen = older.iloc[len(older) - count :]
    positions = np.sort(np.random.default_rng(seed).choice(len(frame), count, replace=False))
    mixed = frame.copy()
    for column in FEATURE_COLUMNS:
        mixed.iloc[positions, mixed.columns.get_loc(column)] = chosen[column].to_numpy(np.float32)
    label = np.clip(chosen["label"].to_numpy(np.float32), 0.0, 1.0)
    mixed.iloc[positions, mixed.columns.get_loc(LABEL_COLUMN)] = label
    codes = friction_conditions(chosen["road_friction"].to_numpy())
    conditions = pd.Categorical.from_codes(codes, categories=list(ROAD_CONDITIONS))
    mixed.iloc[positions, mixed.columns.get_loc(CONDITION_COLUMN)] = conditions
    return mixed, count


def write_training_data(
    path: str | Path,
    rows: int,
    seed: int,
    scenario: Scenario,
    log: tuple[str, str] | None = None,
    log_fraction: float = 0.0,
    evaluation_rows: int = WINDOW_ROWS,
) -> tuple[DatasetInfo, int]:
    """Fresh rows in `scenario`'s world, with up to `log_fraction` of them replaced by older
    labelled rows of the inference log `log` = (store URI, model name); returns what was
    written and how many logged rows it holds."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from braking_data.generate import generate_frame, write_dataset
    from braking_data.storage import PARQUET_WRITER_OPTIONS, LabelTally, arrow_schema

    config = scenario_config(scenario)
    if log is None or not log[0] or log_fraction == 0.0:
        return write_dataset(path, rows=rows, seed=seed, config=config), 0
    older = older_rows(labelled_log(*log), evaluation_rows)
    frame, mixed = mix_logged_rows(generate_frame(rows, seed, config), older, log_fraction, seed)
    table = pa.Table.from_pandas(frame, schema=arrow_schema(), preserve_index=False)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.replace_schema_metadata(), path, **PARQUET_WRITER_OPTIONS)
    tally = LabelTally()
    tally.add(frame[CONDITION_COLUMN].cat.codes.to_numpy(), frame[LABEL_COLUMN].to_numpy())
    written = Path(path)
    sha256 = file_sha256(written)
    info = DatasetInfo(written, len(frame), sha256, written.stat().st_size, seed, tally.stats())
    return info, mixed


def decide_promotion(
    challenger_dir: str | Path,
    challenger_version: str,
    gate_passed: bool,
    registration: RegistrationConfig,
    window: EvaluationWindow,
) -> PromotionDecision:
    """Promote or keep `challenger_version` against the champion `window` was chosen for."""
    from braking_model import export

    champion = window.champion
    if champion is None:
        return PromotionDecision(gate_passed, ["no champion yet: the first gated version serves"])
    if champion == challenger_version:
        return PromotionDecision(True, [f"v{champion} is the champion already: serve it again"])
    served = window.champion_predictions
    if served is None:
        champion_model = champions.model_file(registration, champion)
        served = export.onnx_predict(export.session(champion_model), window.features)
    challenger_model = Path(challenger_dir) / "model.onnx"
    challenger = export.onnx_predict(export.session(challenger_model), window.features)
    return compare_models(window.labels, served, challenger, gate_passed)


def challenge_champion(
    challenger_dir: str | Path,
    challenger_version: str,
    gate_passed: bool,
    registration: RegistrationConfig,
    *,
    store_uri: str,
    rows: int,
    seed: int,
    scenario: Scenario,
) -> tuple[PromotionDecision, dict[str, str]]:
    """The pipeline's compare step: read the champion, choose its window (`evaluation_window`),
    decide, and record the decision on the challenger's version; returns the decision and
    where the window came from."""
    champion = champions.champions(registration).champion
    window = evaluation_window(store_uri, registration.model_name, champion, rows, seed, scenario)
    decision = decide_promotion(
        challenger_dir, challenger_version, gate_passed, registration, window
    )
    where = {"window": window.source, "champion": champion or ""}
    champions.record_decision(registration, challenger_version, decision, extra=where)
    return decision, where
