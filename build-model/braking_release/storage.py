"""Model storage on an S3 data connection, in the layout OVMS and KServe load.

Every registered version gets a storage path of its own, `<prefix>/<model name>/<folder>`,
that holds exactly that model as `1/model.onnx`: OVMS serves the *highest* numeric folder
under the path it is given, so a path shared by several versions would let a newer, rejected
model go live on the next load. `metrics.json`, `gate.json` and `model_card.md` sit beside `1/`.

KServe's S3 download fetches every key that *starts with* the storage path, so no folder may
be a prefix of another (`.../1` would also fetch `.../10/`). A folder is the version name
reduced to letters and digits, a dash, then the first 8 hex digits of the model's SHA-256:
the first dash ends the name part and the hash part has a fixed length, so two folder names
are either equal or not prefixes of each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from braking_release.config import S3Connection

MODEL_KEY = "1/model.onnx"
SIDE_FILES = ("metrics.json", "gate.json", "model_card.md")


class StorageError(RuntimeError):
    """The model storage cannot be reached or written; the message names bucket and endpoint."""


def version_folder(version_name: str, sha256: str) -> str:
    """The prefix-free folder of a version: `3` + sha `1a2b...` -> `3-1a2b3c4d`."""
    name = re.sub(r"[^a-z0-9]", "", version_name.lower())[:40] or "v"
    return f"{name}-{sha256[:8]}"


def storage_path(prefix: str, model_name: str, version_name: str, sha256: str) -> str:
    """`<prefix>/<model name>/<folder>`: what `storage.path` of an InferenceService takes."""
    parts = [prefix.strip("/"), model_name, version_folder(version_name, sha256)]
    return "/".join(part for part in parts if part)


def storage_uri(connection: S3Connection, path: str) -> str:
    """`s3://<bucket>/<path>?endpoint=...&defaultRegion=...`, as the registry's clients write it."""
    from model_registry.utils import s3_uri_from

    if connection.s3_endpoint and connection.default_region:
        return s3_uri_from(
            path,
            connection.s3_bucket,
            endpoint=connection.s3_endpoint,
            region=connection.default_region,
        )
    return f"s3://{connection.s3_bucket}/{path}"


@dataclass(frozen=True)
class UploadedModel:
    """Where a model version now lives: the keys KServe and the registry's artifact record."""

    path: str
    uri: str
    keys: tuple[str, ...]


class ModelStorage:
    """Uploads model folders to one bucket of a data connection (boto3)."""

    def __init__(self, connection: S3Connection, timeout: float = 15.0) -> None:
        import boto3
        from botocore.config import Config

        if not connection.s3_bucket:
            raise StorageError("the data connection has no bucket (AWS_S3_BUCKET)")
        self.connection = connection
        self.bucket = connection.s3_bucket
        self.where = f"bucket {self.bucket!r} at {connection.s3_endpoint or 'AWS S3'}"
        secret = connection.secret_access_key
        config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 2, "mode": "standard"},
            # S3-compatible stores (MinIO, Ceph RGW, ODF) serve buckets under the path, not
            # as virtual hosts, and older ones reject boto3's default CRC32 checksums.
            s3={"addressing_style": "path"} if connection.s3_endpoint else {},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._s3 = boto3.client(
            "s3",
            endpoint_url=connection.s3_endpoint,
            aws_access_key_id=connection.access_key_id,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            region_name=connection.default_region,
            config=config,
        )

    def _error(self, action: str, error: Exception) -> StorageError:
        """One line naming bucket, endpoint and what to check."""
        from botocore.exceptions import ClientError, NoCredentialsError

        if isinstance(error, NoCredentialsError):
            hint = "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        elif isinstance(error, ClientError):
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket"):
                hint = "the bucket does not exist (check AWS_S3_BUCKET)"
            elif status == 403 or code in ("403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                hint = (
                    f"access denied ({code or status}): check AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY"
                )
            else:
                hint = f"{code or status}: {error.response.get('Error', {}).get('Message', '')}"
        else:
            hint = f"unreachable ({type(error).__name__}): check AWS_S3_ENDPOINT"
        return StorageError(f"model storage {self.where}: {action} failed: {hint}")

    def check_access(self) -> None:
        """Fail with a clear StorageError unless the bucket exists and the keys may use it."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as error:
            raise self._error("checking the bucket", error) from None

    def is_empty(self, path: str) -> bool:
        """True when no key lies under `path/`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            listing = self._s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{path}/", MaxKeys=1)
        except (BotoCoreError, ClientError) as error:
            raise self._error(f"listing {path}/", error) from None
        return listing.get("KeyCount", 0) == 0

    def upload(self, model_dir: Path, path: str) -> UploadedModel:
        """Put `model_dir` under `path/` as `1/model.onnx` plus its side files.

        Refuses a folder that already holds keys: a version's folder is written once.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.is_empty(path):
            raise StorageError(
                f"model storage {self.where}: {path}/ already holds objects; a version's "
                "folder is written once (archive that version or remove the objects)"
            )
        files = [(model_dir / name, f"{path}/{name}") for name in SIDE_FILES]
        # The model last: a reader that finds 1/model.onnx finds its card and metrics too.
        files.append((model_dir / "model.onnx", f"{path}/{MODEL_KEY}"))
        keys = []
        for local, key in files:
            if not local.is_file():
                continue
            try:
                with local.open("rb") as body:  # one PUT streams the file (up to 5 GB)
                    self._s3.put_object(Bucket=self.bucket, Key=key, Body=body)
            except (BotoCoreError, ClientError) as error:
                raise self._error(f"uploading {key}", error) from None
            keys.append(key)
        return UploadedModel(path, storage_uri(self.connection, path), tuple(keys))

    def download_model(self, path: str, target: Path) -> Path:
        """Write the version's `1/model.onnx` under `path` to `target`."""
        from botocore.exceptions import BotoCoreError, ClientError

        key = f"{path}/{MODEL_KEY}"
        try:
            self._s3.download_file(self.bucket, key, str(target))
        except (BotoCoreError, ClientError) as error:
            raise self._error(f"downloading {key}", error) from None
        return target
