"""The inference log: Parquet partitions `model=<m>/version=<v>/date=<YYYY-MM-DD>/` under a
local folder or an S3 prefix (any URI pyarrow's filesystems open), plus ground-truth labels
under `labels/model=<m>/date=<d>/`. Rows are buffered and written in parts, never rewritten.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from braking_data.contract import FEATURE_COLUMNS
from braking_monitoring.events import InferenceRows

INFERENCE_SCHEMA = pa.schema(
    [
        ("inference_id", pa.string()),
        ("time", pa.timestamp("us", tz="UTC")),
        *[(name, pa.float32()) for name in FEATURE_COLUMNS],
        ("prediction", pa.float32()),
        ("expected_error", pa.float32()),  # the model's own estimate; NaN when not served
    ]
)
LABEL_SCHEMA = pa.schema(
    [
        ("inference_id", pa.string()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("label", pa.float32()),
    ]
)


def open_store(uri: str) -> tuple[fs.FileSystem, str]:
    """Filesystem and root path of a store URI: a local path, file://, or s3://bucket/prefix.

    On S3 the data connection's variables (AWS_S3_ENDPOINT, AWS_ACCESS_KEY_ID, ...: what an
    OpenShift AI data connection Secret holds) take effect; without AWS_S3_ENDPOINT, pyarrow's
    own resolution applies (AWS_ENDPOINT_URL, profiles, instance roles).
    """
    if "://" not in uri:
        from pathlib import Path

        path = Path(uri).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return fs.LocalFileSystem(), path.as_posix()
    if uri.startswith("s3://") and "?" not in uri:
        connected = _data_connection_filesystem()
        if connected is not None:
            return connected, uri.removeprefix("s3://").rstrip("/")
    filesystem, root = fs.FileSystem.from_uri(uri)
    return filesystem, root.rstrip("/")


def _data_connection_filesystem() -> fs.S3FileSystem | None:
    """An S3 filesystem on the data connection's endpoint, None when none is set."""
    from urllib.parse import urlsplit

    from braking_release.config import S3Connection

    connection = S3Connection()
    if not connection.s3_endpoint:
        return None
    endpoint = urlsplit(connection.s3_endpoint)
    secret = connection.secret_access_key
    return fs.S3FileSystem(
        access_key=connection.access_key_id,
        secret_key=secret.get_secret_value() if secret else None,
        region=connection.default_region or "us-east-1",
        scheme=endpoint.scheme,
        endpoint_override=endpoint.netloc,
    )


class InferenceStore:
    """Buffers inference and label rows and writes them as Parquet parts."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.fs, self.root = open_store(uri)
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], list[InferenceRows]] = {}
        self._labels: dict[str, list[tuple[str, float, float]]] = {}
        self.written_rows = 0

    def add(self, rows: InferenceRows) -> None:
        """Buffer an inference's rows until the next flush."""
        with self._lock:
            self._rows.setdefault((rows.model, rows.version), []).append(rows)

    def add_labels(self, model: str, ids: list[str], labels: list[float]) -> None:
        """Buffer ground-truth labels of inference ids until the next flush."""
        now = time.time()
        with self._lock:
            self._labels.setdefault(model, []).extend(
                (i, float(v), now) for i, v in zip(ids, labels, strict=True)
            )

    def flush(self) -> int:
        """Write what is buffered; returns the number of inference rows written."""
        with self._lock:
            rows, self._rows = self._rows, {}
            labels, self._labels = self._labels, {}
        written = 0
        for (model, version), batches in rows.items():
            table = _inference_table(batches)
            self._write(table, f"model={model}/version={version}")
            written += table.num_rows
        for model, entries in labels.items():
            ids, values, times = zip(*entries, strict=True)
            table = pa.table(
                {
                    "inference_id": list(ids),
                    "time": _timestamps(np.asarray(times)),
                    "label": np.asarray(values, dtype=np.float32),
                },
                schema=LABEL_SCHEMA,
            )
            self._write(table, f"labels/model={model}")
        self.written_rows += written
        return written

    def _write(self, table: pa.Table, partition: str) -> None:
        date = datetime.now(UTC).strftime("%Y-%m-%d")
        folder = f"{self.root}/{partition}/date={date}"
        if isinstance(self.fs, fs.LocalFileSystem):  # object stores have no folders to make
            self.fs.create_dir(folder, recursive=True)
        name = f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        pq.write_table(table, f"{folder}/{name}", filesystem=self.fs, compression="zstd")

    def read(self, model: str, version: str | None = None) -> pa.Table:
        """Every stored inference row of `model` (optionally one version), oldest first."""
        import pyarrow.dataset as ds

        base = f"{self.root}/model={model}"
        # Version names are strings ("3", "v3"): never let pyarrow guess them as integers.
        partitioning = ds.partitioning(
            pa.schema([("version", pa.string()), ("date", pa.string())]), flavor="hive"
        )
        try:
            dataset = ds.dataset(
                base, filesystem=self.fs, format="parquet", partitioning=partitioning
            )
        except (FileNotFoundError, OSError):
            return INFERENCE_SCHEMA.empty_table()
        table = dataset.to_table(
            filter=(ds.field("version") == version) if version is not None else None
        )
        return table.sort_by("time")

    def read_labels(self, model: str) -> pa.Table:
        """Every stored label row of `model`."""
        import pyarrow.dataset as ds

        try:
            dataset = ds.dataset(
                f"{self.root}/labels/model={model}",
                filesystem=self.fs,
                format="parquet",
                partitioning="hive",
            )
        except (FileNotFoundError, OSError):
            return LABEL_SCHEMA.empty_table()
        return dataset.to_table(columns=["inference_id", "time", "label"])


def _timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array((seconds * 1e6).astype(np.int64), pa.timestamp("us", tz="UTC"))


def _inference_table(batches: list[InferenceRows]) -> pa.Table:
    features = np.concatenate([b.features for b in batches]).astype(np.float32)
    columns = {
        "inference_id": [i for b in batches for i in b.ids],
        "time": _timestamps(np.concatenate([np.full(len(b.ids), b.time) for b in batches])),
    }
    columns.update({name: features[:, i] for i, name in enumerate(FEATURE_COLUMNS)})
    columns["prediction"] = np.concatenate([b.predictions for b in batches]).astype(np.float32)
    columns["expected_error"] = np.concatenate([b.expected() for b in batches]).astype(np.float32)
    return pa.table(columns, schema=INFERENCE_SCHEMA)
