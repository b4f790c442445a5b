"""Cluster wiring of the feedback loop, as manifests (`braking monitor manifests`):

- a `TrustyAIService` (trustyai.opendatahub.io/v1): OpenShift AI's collector, which also
  points every InferenceService's `spec.predictor.logger` of the namespace at itself;
- a `PrometheusRule` (monitoring.coreos.com/v1) on the collector's alarm gauge, so an alarm
  that holds for `for_duration` fires an alert labelled with model, version and reason;
- an `AlertmanagerConfig` (monitoring.coreos.com/v1alpha1) routing that alert to the
  retraining trigger's webhook (`POST <trigger>/alerts`), which starts a DSPA run.

KFP has no event triggers (kubeflow/pipelines#651, #12834): this Alertmanager webhook is the
bridge, with the trigger's de-duplication and cool-down behind it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from braking_monitoring.metrics import ALARM_GAUGE

ALERT_NAME = "BrakingModelAlarm"
APP_LABELS = {"app.kubernetes.io/part-of": "braking-distance"}


def trustyai_service(name: str = "trustyai-service", schedule: str = "5s") -> dict[str, Any]:
    """The TrustyAIService: metrics every `schedule`, inference data on a PVC."""
    return {
        "apiVersion": "trustyai.opendatahub.io/v1",
        "kind": "TrustyAIService",
        "metadata": {"name": name, "labels": dict(APP_LABELS)},
        "spec": {
            "storage": {"format": "PVC", "folder": "/inputs", "size": "1Gi"},
            "data": {"filename": "data.csv", "format": "CSV"},
            "metrics": {"schedule": schedule, "batchSize": 1000},
        },
    }


def prometheus_rule(for_duration: str = "1m") -> dict[str, Any]:
    """Alert while the collector's alarm gauge is 1 (it already needs two bad windows)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "braking-model-alarms", "labels": dict(APP_LABELS)},
        "spec": {
            "groups": [
                {
                    "name": "braking-monitoring",
                    "rules": [
                        {
                            "alert": ALERT_NAME,
                            "expr": f"max by (model, version, reason) ({ALARM_GAUGE}) == 1",
                            "for": for_duration,
                            "labels": {"severity": "warning", "retrain": "true"},
                            "annotations": {
                                "summary": "Served braking model {{ $labels.model }} "
                                "v{{ $labels.version }}: {{ $labels.reason }} alarm",
                                "description": "Two consecutive monitoring windows were bad; "
                                "the retraining trigger starts a pipeline run.",
                            },
                        }
                    ],
                }
            ]
        },
    }


def alertmanager_config(trigger_url: str) -> dict[str, Any]:
    """Route the alarm to the trigger's webhook; resolved alerts are not sent."""
    return {
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {"name": "braking-retrain", "labels": dict(APP_LABELS)},
        "spec": {
            "route": {
                "receiver": "braking-retrain",
                "matchers": [
                    {"name": "alertname", "value": ALERT_NAME, "matchType": "="},
                    {"name": "retrain", "value": "true", "matchType": "="},
                ],
                "groupBy": ["model", "version", "reason"],
                "groupWait": "30s",
                "repeatInterval": "1h",
            },
            "receivers": [
                {
                    "name": "braking-retrain",
                    "webhookConfigs": [
                        {"url": f"{trigger_url.rstrip('/')}/alerts", "sendResolved": False}
                    ],
                }
            ],
        },
    }


def monitoring_manifests(trigger_url: str) -> dict[str, dict[str, Any]]:
    """File name -> manifest of the cluster wiring."""
    return {
        "trustyai-service.yaml": trustyai_service(),
        "prometheus-rule.yaml": prometheus_rule(),
        "alertmanager-config.yaml": alertmanager_config(trigger_url),
    }


def write_manifests(output_dir: Path, trigger_url: str) -> list[Path]:
    """Write the manifests and a kustomization listing them; returns the paths."""
    output_dir.mkdir(parents=True, exist_ok=True)
    manifests = monitoring_manifests(trigger_url)
    paths = []
    for name, manifest in manifests.items():
        path = output_dir / name
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        paths.append(path)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(manifests),
    }
    (output_dir / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return [*paths, output_dir / "kustomization.yaml"]
