"""What the collector computes: windows of served rows per model version checked against the
version's reference profile, labelled windows, and the alarm (two consecutive bad windows).

Pure state, no I/O: the app feeds rows and labels in and reads verdicts and alarms out.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

import numpy as np

from braking_data.contract import EXPECTED_ERROR_TENSOR, OUTPUT_TENSOR
from braking_model.reference import ReferenceProfile, evaluate_window, labelled_window
from braking_monitoring.estimates import labelled_estimates, window_estimates
from braking_monitoring.events import InferenceRows

ANY_VERSION = "*"
CONSECUTIVE_WINDOWS = 2  # windows in a row that must be bad before the alarm holds (ADR 13)
RECENT_ROWS = 20_000  # rows kept in memory per model for one-off metrics and label joins


@dataclass
class Alarm:
    """Whether an alarm holds for a model version, and why."""

    model: str
    version: str
    reason: str  # "drift" or "performance"
    active: bool = False
    consecutive: int = 0
    details: list[str] = field(default_factory=list)


@dataclass
class VersionState:
    """One served version: its window buffer, verdicts and alarms."""

    profile: ReferenceProfile | None = None
    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    buffered: int = 0
    windows: list[dict] = field(default_factory=list)
    labelled: list[dict] = field(default_factory=list)
    pending_labels: list[tuple[float, float, float]] = field(default_factory=list)
    drift: Alarm | None = None
    performance: Alarm | None = None


class ModelMonitor:
    """Windows, labels and alarms of one model, per served version."""

    def __init__(self, model: str, window_rows: int | None = None) -> None:
        self.model = model
        self.window_rows = window_rows
        self.versions: dict[str, VersionState] = {}
        self.profiles: dict[str, ReferenceProfile] = {}
        self.recent: deque[InferenceRows] = deque()
        self.recent_rows = 0
        # inference id -> (version, prediction, expected error), for joining labels
        self.predictions: OrderedDict[str, tuple[str, float, float]] = OrderedDict()
        self.observations = 0
        # the output tensors served rows came with (TrustyAI's /info lists them)
        self.output_names: list[str] = []
        self._lock = threading.Lock()

    def state(self, version: str) -> VersionState:
        """The state of `version`, created on first use."""
        if version not in self.versions:
            self.versions[version] = VersionState(
                drift=Alarm(self.model, version, "drift"),
                performance=Alarm(self.model, version, "performance"),
            )
        return self.versions[version]

    def profile(self, version: str) -> ReferenceProfile | None:
        """The version's own reference profile, else the model-wide one."""
        return self.profiles.get(version) or self.profiles.get(ANY_VERSION)

    def set_profile(self, profile: ReferenceProfile, version: str = ANY_VERSION) -> None:
        """Set the reference of `version` (ANY_VERSION: every version without its own)."""
        with self._lock:
            self.profiles[version] = profile

    def _note_outputs(self, rows: InferenceRows) -> None:
        served = [OUTPUT_TENSOR] + (
            [EXPECTED_ERROR_TENSOR] if rows.expected_errors is not None else []
        )
        self.output_names += [name for name in served if name not in self.output_names]

    def ingest(self, rows: InferenceRows) -> list[dict]:
        """Add served rows; returns the verdicts of the windows they completed."""
        with self._lock:
            self.observations += len(rows.ids)
            self._note_outputs(rows)
            self._remember(rows)
            state = self.state(rows.version)
            profile = self.profile(rows.version)
            if profile is None:
                return []
            state.chunks.append((rows.features, rows.predictions, rows.expected()))
            state.buffered += len(rows.ids)
            size = self.window_rows or profile.thresholds.window_rows
            verdicts = []
            while state.buffered >= size:
                features, predictions, expected = (
                    np.concatenate([c[i] for c in state.chunks]) for i in range(3)
                )
                rest = (features[size:], predictions[size:], expected[size:])
                state.chunks = [rest] if len(rest[1]) else []
                state.buffered = len(rest[1])
                verdict = evaluate_window(profile, features[:size], predictions[:size])
                verdict.update(
                    window_estimates(features[:size], predictions[:size], expected[:size], profile)
                )
                verdict["window"], verdict["time"] = len(state.windows) + 1, time.time()
                state.windows.append(verdict)
                _update(state.drift, verdict["drifted"], verdict["reasons"])
                verdicts.append(verdict)
            return verdicts

    def _remember(self, rows: InferenceRows) -> None:
        self.recent.append(rows)
        self.recent_rows += len(rows.ids)
        while self.recent_rows - len(self.recent[0].ids) >= RECENT_ROWS:
            self.recent_rows -= len(self.recent.popleft().ids)
        for inference_id, prediction, expected in zip(
            rows.ids, rows.predictions, rows.expected(), strict=True
        ):
            self.predictions[inference_id] = (rows.version, float(prediction), float(expected))
        while len(self.predictions) > 10 * RECENT_ROWS:
            self.predictions.popitem(last=False)

    def add_labels(self, ids: list[str], labels: list[float]) -> tuple[int, list[dict]]:
        """Join labels to remembered predictions; returns (matched, labelled-window verdicts)."""
        with self._lock:
            matched, verdicts = 0, []
            for inference_id, label in zip(ids, labels, strict=True):
                known = self.predictions.get(inference_id)
                if known is None:
                    continue
                matched += 1
                version, prediction, expected = known
                state = self.state(version)
                state.pending_labels.append((prediction, float(label), expected))
                profile = self.profile(version)
                size = profile.thresholds.label_window_rows if profile else 0
                if profile is not None and len(state.pending_labels) >= size:
                    predicted, true, expected = np.asarray(state.pending_labels[:size]).T
                    state.pending_labels = state.pending_labels[size:]
                    verdict = _finite(labelled_window(profile, predicted, true))
                    verdict.update(labelled_estimates(expected, verdict["mae"]))
                    verdict["window"], verdict["time"] = len(state.labelled) + 1, time.time()
                    state.labelled.append(verdict)
                    _update(state.performance, verdict["degraded"], verdict["reasons"])
                    verdicts.append(verdict)
            return matched, verdicts

    def recent_frame(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        """The last `rows` served rows: (features n x 7, predictions n)."""
        with self._lock:
            batches = list(self.recent)
        if not batches:
            return np.empty((0, 7)), np.empty(0)
        features = np.concatenate([b.features for b in batches])[-rows:]
        predictions = np.concatenate([b.predictions for b in batches])[-rows:]
        return features, predictions

    def alarms(self) -> list[Alarm]:
        """The drift and performance alarms of every version."""
        return [
            alarm
            for state in self.versions.values()
            for alarm in (state.drift, state.performance)
            if alarm is not None
        ]


def _finite(verdict: dict) -> dict:
    """Undefined figures (r2 of constant labels is NaN) as None: status is strict JSON."""
    return {
        key: None if isinstance(value, float) and not math.isfinite(value) else value
        for key, value in verdict.items()
    }


def _update(alarm: Alarm | None, bad: bool, reasons: list[str]) -> None:
    if alarm is None:
        return
    alarm.consecutive = alarm.consecutive + 1 if bad else 0
    alarm.active = alarm.consecutive >= CONSECUTIVE_WINDOWS
    alarm.details = reasons if bad else []
