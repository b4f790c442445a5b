"""KServe's own storage code (what the storage-initializer runs), in a virtualenv of its own.

`kserve-storage` stays out of the project's lock: it caps google-cloud-storage and pulls in
cloud SDKs. `benchmarks/side_venvs.py` builds its virtualenv under `.cache/` on first use.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import side_venvs

from braking_release.config import S3Connection

REQUIREMENTS = ["kserve-storage==0.21.0"]
_DOWNLOAD = (
    "import sys\n"
    "from kserve_storage import Storage\n"
    "print(Storage.download_files([sys.argv[1]], [sys.argv[2]])[0])\n"
)


def kserve_storage_python() -> Path:
    """The python of the kserve-storage virtualenv (built on first use)."""
    return side_venvs.ensure_venv(side_venvs.CACHE / "kserve-storage", REQUIREMENTS)


def storage_config(connection: S3Connection) -> str:
    """The entry odh-model-controller writes into `storage-config` for a data connection,
    which KServe hands to the storage-initializer as STORAGE_CONFIG."""
    return json.dumps(
        {
            "type": "s3",
            "access_key_id": connection.access_key_id,
            "secret_access_key": connection.secret_access_key.get_secret_value(),
            "endpoint_url": connection.s3_endpoint,
            "bucket": connection.s3_bucket,
            "region": connection.default_region,
        }
    )


def kserve_download(uri: str, out_dir: Path, connection: S3Connection) -> Path:
    """Download `uri` into `out_dir` with `Storage.download_files`, as the initializer does."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "STORAGE_CONFIG": storage_config(connection),
    }
    result = subprocess.run(
        [str(kserve_storage_python()), "-c", _DOWNLOAD, uri, str(out_dir)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kserve-storage download of {uri} failed:\n{result.stderr[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1])
