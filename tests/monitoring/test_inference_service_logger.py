"""The generated InferenceService logs to the collector through `spec.predictor.logger`."""

from __future__ import annotations

import pytest
from crd_schema import CrdSchemas

from braking_release.config import KServeTarget
from braking_release.manifests import inference_service


@pytest.mark.parametrize("mode", ["all", "request", "response"])
def test_logger_is_set_and_valid_against_the_crd(shared_reference, mode):
    crds = CrdSchemas.from_paths(
        [shared_reference / "crds" / "inferenceservices.serving.kserve.io.yaml"]
    )
    url = "http://braking-monitor.braking.svc:8083"
    config = KServeTarget(storage_uri="s3://m/x", logger_url=url, logger_mode=mode)
    manifest = inference_service(config, "braking")
    crds.validate(manifest)
    assert manifest["spec"]["predictor"]["logger"] == {"mode": mode, "url": url}


def test_no_logger_unless_a_url_is_configured():
    manifest = inference_service(KServeTarget(storage_uri="s3://m/x"), "braking")
    assert "logger" not in manifest["spec"]["predictor"]
