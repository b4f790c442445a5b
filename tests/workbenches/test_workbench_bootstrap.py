"""The workbench bootstrap (postStart hook) installs the project once and never blocks Jupyter.

The hook script is taken from the rendered Notebook and run with a real /bin/sh; only
`python3` is a stand-in that records its arguments, since pip cannot reach an index here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PACKAGE = "braking-distance @ git+https://git.example.com/ml/braking-distance.git@v0.1.0"
CONSTRAINTS = "https://git.example.com/ml/braking-distance/raw/v0.1.0/requirements.lock"


@pytest.fixture(scope="module")
def hook(render: Callable[..., list[dict[str, Any]]]) -> dict[str, Any]:
    docs = render("openshift-ai-3.yaml")
    notebook = next(
        d for d in docs if d["kind"] == "Notebook" and d["metadata"]["name"] == "build-model"
    )
    (container,) = notebook["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    return {"command": container["lifecycle"]["postStart"]["exec"]["command"], "env": env}


def run_hook(hook: dict[str, Any], home: Path, pip_exit: int) -> subprocess.CompletedProcess:
    stub_dir = home / "stub-bin"
    stub_dir.mkdir(exist_ok=True)
    stub = stub_dir / "python3"
    stub.write_text(
        f'#!/bin/sh\necho "$@" >> "$HOME/pip-calls"\necho pip output\nexit {pip_exit}\n'
    )
    stub.chmod(0o755)
    env = {
        "HOME": str(home),
        "PATH": f"{stub_dir}:/usr/bin:/bin",
        "BRAKING_BOOTSTRAP_PACKAGE": hook["env"]["BRAKING_BOOTSTRAP_PACKAGE"],
        "BRAKING_BOOTSTRAP_CONSTRAINTS": hook["env"]["BRAKING_BOOTSTRAP_CONSTRAINTS"],
    }
    return subprocess.run(hook["command"], env=env, capture_output=True, text=True, check=False)


def pip_calls(home: Path) -> list[str]:
    calls = home / "pip-calls"
    return calls.read_text().splitlines() if calls.exists() else []


def test_values_reach_the_hook(hook: dict[str, Any]) -> None:
    assert hook["command"][:2] == ["/bin/sh", "-c"]
    assert hook["env"]["BRAKING_BOOTSTRAP_PACKAGE"] == PACKAGE
    assert hook["env"]["BRAKING_BOOTSTRAP_CONSTRAINTS"] == CONSTRAINTS


def test_installs_once_into_the_user_site_on_the_volume(
    hook: dict[str, Any], tmp_path: Path
) -> None:
    first = run_hook(hook, tmp_path, pip_exit=0)
    assert first.returncode == 0
    assert pip_calls(tmp_path) == [
        "-m pip install --user --quiet --no-warn-script-location "
        f"--constraint {CONSTRAINTS} {PACKAGE}"
    ]
    assert run_hook(hook, tmp_path, pip_exit=0).returncode == 0
    assert len(pip_calls(tmp_path)) == 1, "a restarted workbench must not reinstall"


def test_failed_install_is_logged_and_retried_but_never_fatal(
    hook: dict[str, Any], tmp_path: Path
) -> None:
    failed = run_hook(hook, tmp_path, pip_exit=1)
    assert failed.returncode == 0, "a failing hook would kill the Jupyter container"
    assert "bootstrap of braking-distance" in failed.stderr
    assert "pip output" in (tmp_path / ".braking-bootstrap.log").read_text()
    run_hook(hook, tmp_path, pip_exit=0)
    assert len(pip_calls(tmp_path)) == 2, "the next start tries again"
