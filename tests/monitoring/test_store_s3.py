"""The inference log on S3: moto's server on 127.0.0.1 with keys enforced, reached through the
data connection's own variables (AWS_S3_ENDPOINT, as on OpenShift AI)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from braking_monitoring.challenge import labelled_log
from braking_monitoring.events import InferenceRows
from braking_monitoring.store import InferenceStore

MODEL = "braking-distance"


@pytest.fixture
def connection(s3_server, s3_bucket, monkeypatch) -> str:
    """The data connection in the env (and nothing that points at AWS itself)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_S3_ENDPOINT", s3_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_access_key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return s3_bucket


def rows(version: str, count: int, start: int = 0) -> InferenceRows:
    features = np.random.default_rng(start).random((count, 7), dtype=np.float32)
    ids = [f"id-{version}-{start + i}" for i in range(count)]
    predictions = np.linspace(0, 1, count, dtype=np.float32)
    return InferenceRows(MODEL, version, ids, features, predictions, time.time())


def test_partitions_are_written_and_read_back_from_s3(s3_server, connection):
    store = InferenceStore(f"s3://{connection}/inference-log")
    store.add(rows("1", 30))
    store.add(rows("2", 20, start=100))
    store.add_labels(MODEL, ["id-1-0", "id-2-100"], [0.25, 0.75])
    assert store.flush() == 50

    today = time.strftime("%Y-%m-%d", time.gmtime())
    keys = s3_server.keys(connection)
    assert len(keys) == 3
    for prefix in (f"model={MODEL}/version=1/", f"model={MODEL}/version=2/", "labels/"):
        assert any(k.startswith(f"inference-log/{prefix}") for k in keys), (prefix, keys)
    assert all(f"/date={today}/part-" in key and key.endswith(".parquet") for key in keys)

    reader = InferenceStore(f"s3://{connection}/inference-log")  # a second process, say
    assert reader.read(MODEL).num_rows == 50
    assert reader.read(MODEL, "2").column("inference_id").to_pylist()[0] == "id-2-100"
    assert sorted(reader.read_labels(MODEL).column("label").to_pylist()) == [0.25, 0.75]
    joined = labelled_log(f"s3://{connection}/inference-log", MODEL)
    assert sorted(joined["inference_id"]) == ["id-1-0", "id-2-100"]


def test_an_empty_prefix_reads_as_an_empty_log(connection):
    store = InferenceStore(f"s3://{connection}/nothing-yet")
    assert store.read(MODEL).num_rows == 0
    assert store.read_labels(MODEL).num_rows == 0


def test_wrong_keys_fail_with_the_stores_answer(connection, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    store = InferenceStore(f"s3://{connection}/inference-log")
    store.add(rows("1", 3))
    with pytest.raises(OSError, match=r"(?i)access denied|forbidden|signature"):
        store.flush()
