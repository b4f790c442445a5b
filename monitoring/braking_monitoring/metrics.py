"""Prometheus gauges of the collector. Scheduled metric requests publish gauges named like
TrustyAI's (`trustyai_kstest{model, request, subcategory}`), so dashboards and alert rules
work against either; the project's own window statistics and the alarm carry the
`braking_monitoring_` prefix.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from braking_data.contract import FEATURE_COLUMNS

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
ALARM_GAUGE = "braking_monitoring_alarm"
EXPECTED_ERROR_GAUGE = "braking_monitoring_expected_error"
PHYSICS_GAUGE = "braking_monitoring_physics_disagreement"
FAULT_AWARE_GAUGE = "braking_monitoring_fault_aware_error"
BOX_SCALE_GAUGE = "braking_monitoring_box_scale"
STUCK_GAUGE = "braking_monitoring_stuck_feature"
LABELLED_METRICS = ("rmse", "mae", "under_braking_rate", "estimated_mae")


VERSION = ("model", "version")
# attribute: (metric name, help, labels). Gauges hold the last window's values.
GAUGES = {
    "kstest": (
        "trustyai_kstest",
        "KS statistic of a scheduled request, per column (TrustyAI's gauge).",
        ("model", "request", "subcategory"),
    ),
    "alarm": (
        ALARM_GAUGE,
        "1 while an alarm holds (two consecutive bad windows), by reason drift|performance.",
        (*VERSION, "reason"),
    ),
    "window_drifted": (
        "braking_monitoring_window_drifted",
        "1 if the last window drifted.",
        VERSION,
    ),
    "psi": (
        "braking_monitoring_psi",
        "PSI of the last window over reference deciles.",
        (*VERSION, "column"),
    ),
    "p_adjusted": (
        "braking_monitoring_ks_p_adjusted",
        "Bonferroni-corrected KS p-value of the last window.",
        (*VERSION, "column"),
    ),
    "out_of_contract": (
        "braking_monitoring_out_of_contract_rate",
        "Share of the last window's rows outside the feature contract.",
        VERSION,
    ),
    # the label-free error signals of each window (docs/adr/0019)
    "expected_error": (
        EXPECTED_ERROR_GAUGE,
        "Estimated MAE of the last window (mean expected_error).",
        VERSION,
    ),
    "physics_disagreement": (
        PHYSICS_GAUGE,
        "Mean |served brake - physics estimate| of the last window.",
        VERSION,
    ),
    # sensor-fault fingerprints and the estimate that accounts for them (docs/adr/0019)
    "fault_aware_error": (
        FAULT_AWARE_GAUGE,
        "Fault-aware estimated MAE of the last window (the estimated MAE unless a sensor "
        "fault's fingerprint is present).",
        VERSION,
    ),
    "box_scale": (
        BOX_SCALE_GAUGE,
        "Estimated scale of the box pixel coordinates in the last window (1 = calibrated).",
        VERSION,
    ),
    "stuck_feature": (
        STUCK_GAUGE,
        "1 if the feature's readings in the last window lost their reference spread (stuck).",
        (*VERSION, "column"),
    ),
    "labelled": (
        "braking_monitoring_labelled",
        "Metrics of the last labelled window (rmse, mae, under_braking_rate, and the "
        "estimated_mae of the same rows, to compare with mae).",
        (*VERSION, "metric"),
    ),
}


class CollectorMetrics:
    """The collector's gauges (declared in `GAUGES`) and counters, in its own registry."""

    kstest: Gauge
    alarm: Gauge
    window_drifted: Gauge
    psi: Gauge
    p_adjusted: Gauge
    out_of_contract: Gauge
    expected_error: Gauge
    physics_disagreement: Gauge
    fault_aware_error: Gauge
    box_scale: Gauge
    stuck_feature: Gauge
    labelled: Gauge

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        for attribute, (name, documentation, labels) in GAUGES.items():
            setattr(self, attribute, Gauge(name, documentation, labels, registry=registry))
        self.inferences = Counter(
            "braking_monitoring_inferences",
            "Inference rows received.",
            ["model"],
            registry=registry,
        )
        self.rejected = Counter(
            "braking_monitoring_events_rejected",
            "HTTP requests rejected as malformed inference events.",
            registry=registry,
        )

    def window(self, model: str, version: str, verdict: dict) -> None:
        """Publish a window's verdict: drifted, data quality, PSI and corrected p per column."""
        self.window_drifted.labels(model, version).set(float(verdict["drifted"]))
        self.out_of_contract.labels(model, version).set(verdict["out_of_contract_rate"])
        for column, stats in verdict["columns"].items():
            self.psi.labels(model, version, column).set(stats["psi"])
            self.p_adjusted.labels(model, version, column).set(stats["p_adjusted"])
        if verdict.get("estimated_mae") is not None:
            self.expected_error.labels(model, version).set(verdict["estimated_mae"])
        self.physics_disagreement.labels(model, version).set(verdict["physics_disagreement"])
        if verdict.get("fault_aware_mae") is not None:
            self.fault_aware_error.labels(model, version).set(verdict["fault_aware_mae"])
        if verdict.get("box_scale") is not None:
            self.box_scale.labels(model, version).set(verdict["box_scale"])
        for column in FEATURE_COLUMNS:
            stuck = column in verdict.get("stuck_features", [])
            self.stuck_feature.labels(model, version, column).set(float(stuck))

    def labelled_window(self, model: str, version: str, verdict: dict) -> None:
        """Publish a labelled window's RMSE, MAE, under-braking rate and estimated MAE."""
        for metric in LABELLED_METRICS:
            if verdict.get(metric) is not None:
                self.labelled.labels(model, version, metric).set(verdict[metric])

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
