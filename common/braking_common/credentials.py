"""Where credentials come from: bearer-token files and a pod's service-account mount."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

# Kubernetes mounts a pod's service-account token, namespace and CA here (and OpenShift the
# service-serving CA that signs in-cluster `*.svc` certificates).
SERVICE_ACCOUNT_DIR: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount")
SERVICE_ACCOUNT_TOKEN: Final = SERVICE_ACCOUNT_DIR / "token"
SERVICE_ACCOUNT_NAMESPACE: Final = SERVICE_ACCOUNT_DIR / "namespace"
SERVICE_ACCOUNT_CA: Final = SERVICE_ACCOUNT_DIR / "ca.crt"
SERVICE_CA_BUNDLE: Final = SERVICE_ACCOUNT_DIR / "service-ca.crt"


def read_token_file(path: str | os.PathLike[str]) -> str:
    """The token stored in `path`, without surrounding whitespace.

    Raises ValueError naming the file when it cannot be read or is empty.
    """
    path = Path(path)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"token file {path}: cannot be read ({error.strerror})") from None
    if not token:
        raise ValueError(f"token file {path}: is empty, expected a bearer token")
    return token


def optional_token(path: str | os.PathLike[str] | None) -> str | None:
    """`read_token_file(path)`, or None when no file is given."""
    return read_token_file(path) if path is not None else None
