"""Where the embedded services live by default: each default defined once, here.

Everything runs on one machine on these defaults; the cluster is reached by overriding the
settings (flags or env), never by editing code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

LOOPBACK_HOST: Final = "127.0.0.1"  # servers bind loopback unless told otherwise
REGISTRY_PORT: Final = 8080  # the embedded Model Registry (REST v1alpha3)
SERVING_PORT: Final = 8081  # the embedded Open Inference Protocol server
REGISTRY_URL: Final = f"http://{LOOPBACK_HOST}:{REGISTRY_PORT}"
SERVING_URL: Final = f"http://{LOOPBACK_HOST}:{SERVING_PORT}"
MONITORING_PORT: Final = 8083  # the inference-log collector (optional stack service)
MONITORING_URL: Final = f"http://{LOOPBACK_HOST}:{MONITORING_PORT}"
TRIGGER_PORT: Final = 8084  # the retraining trigger's Alertmanager webhook

# The one state folder of the embedded stack: pid files, logs, the registry's SQLite file
# (registry/registry.db) and the model repository (models/).
STATE_DIR: Final = Path(".braking")
REGISTRY_DB: Final = STATE_DIR / "registry" / "registry.db"
MODEL_REPOSITORY: Final = STATE_DIR / "models"
INFERENCE_LOG: Final = STATE_DIR / "inference-log"  # the collector's Parquet partitions
