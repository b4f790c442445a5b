"""The monitoring wiring in pipeline-server/monitoring: generated, committed, schema-valid."""

from __future__ import annotations

from pathlib import Path

import yaml

from braking_feedback.manifests import ALERT_NAME, monitoring_manifests
from braking_feedback.trigger import TriggerConfig
from braking_monitoring.metrics import ALARM_GAUGE


def _committed(pipeline_server: Path) -> dict[str, dict]:
    folder = pipeline_server / "monitoring"
    return {p.name: yaml.safe_load(p.read_text()) for p in folder.glob("*.yaml")}


def test_committed_manifests_are_what_the_generator_writes(pipeline_server):
    committed = _committed(pipeline_server)
    generated = monitoring_manifests(TriggerConfig().cluster_url)
    assert {k: v for k, v in committed.items() if k != "kustomization.yaml"} == generated
    assert committed["kustomization.yaml"]["resources"] == list(generated)


def test_trustyai_service_and_prometheus_rule_match_their_crds(pipeline_server, validator):
    committed = _committed(pipeline_server)
    for name in ("trustyai-service.yaml", "prometheus-rule.yaml"):
        assert validator.errors(committed[name]) == [], name


def test_rule_fires_on_the_collector_alarm_gauge_with_the_trigger_labels():
    rule = monitoring_manifests("http://t")["prometheus-rule.yaml"]["spec"]["groups"][0]["rules"][0]
    assert rule["alert"] == ALERT_NAME
    assert ALARM_GAUGE in rule["expr"] and "by (model, version, reason)" in rule["expr"]


def test_alertmanager_routes_the_alert_to_the_trigger_webhook():
    config = monitoring_manifests("http://trigger:8084/")["alertmanager-config.yaml"]
    route, (receiver,) = config["spec"]["route"], config["spec"]["receivers"]
    assert route["receiver"] == receiver["name"]
    assert {"name": "alertname", "value": ALERT_NAME, "matchType": "="} in route["matchers"]
    assert receiver["webhookConfigs"] == [
        {"url": "http://trigger:8084/alerts", "sendResolved": False}
    ]
