"""Virtualenvs of their own for software that must stay out of the project's lock file.

Serving peers (MLServer pins clash with kserve's) and KServe's storage code (`kserve-storage`
caps google-cloud-storage and pulls in cloud SDKs) each get a virtualenv under `.cache/`,
created with uv on first use and reused while its requirements stay the same. uv's package
cache is shared, so a second worktree builds the same virtualenv in seconds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache"


def ensure_venv(venv: Path, requirements: list[str], editable: Path | None = None) -> Path:
    """The virtualenv at `venv` with `requirements` installed (and `editable` without its
    dependencies, when given); built on first use; returns its python."""
    python = venv / "bin" / "python"
    stamp = venv / ".installed.json"
    wanted = [*requirements, *([f"-e {editable}"] if editable else [])]
    if stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    install = [str(uv), "pip", "install", "--quiet", "--python", str(python)]
    subprocess.run([*install, *requirements], check=True)
    if editable:
        subprocess.run([*install, "--no-deps", "-e", str(editable)], check=True)
    stamp.write_text(json.dumps(wanted))
    return python
