"""Run a compiled pipeline's steps the way the cluster's launcher does, without a cluster.

`ImageBuild` lays out the Containerfile's build context (its COPY lines) and runs its RUN
line in a fresh virtualenv. `CompiledSteps` runs one step from the compiled YAML's own
container command and args, with an executor input whose artifact URIs are local paths,
and returns what the step wrote (output artifacts with metadata, output parameters).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class ImageBuild:
    """The Containerfile's build context and install command, replayed into a virtualenv."""

    repo_root: Path

    def context(self, folder: Path) -> Path:
        """Copy what the Containerfile's COPY lines copy into `folder`."""
        text = (self.repo_root / "Containerfile").read_text()
        for sources in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", text, flags=re.MULTILINE):
            for source in sources.split():
                origin = self.repo_root / source.rstrip("/")
                target = folder / source.rstrip("/")
                if origin.is_dir():
                    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
                    shutil.copytree(origin, target, ignore=ignore)
                else:
                    shutil.copy2(origin, target)
        return folder

    def install_commands(self) -> list[str]:
        """The Containerfile's RUN lines (shell commands)."""
        text = (self.repo_root / "Containerfile").read_text()
        return re.findall(r"^RUN (.+)$", text, flags=re.MULTILINE)

    def install(self, context: Path, venv: Path, uv: Path) -> None:
        """A fresh virtualenv at `venv`, set up by the RUN lines with uv (shared cache)."""
        subprocess.run([str(uv), "venv", "--quiet", str(venv)], check=True)
        env = venv_env(venv) | {"PIP_INSTALL": f"{uv} pip install --quiet --python {venv}"}
        for command in self.install_commands():
            subprocess.run(["sh", "-c", command], cwd=context, env=env, check=True)


def venv_env(venv: Path) -> dict[str, str]:
    """The environment of a process inside `venv`: its bin first on PATH, nothing else leaked."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return env | {"PATH": f"{venv / 'bin'}{os.pathsep}{env['PATH']}", "VIRTUAL_ENV": str(venv)}


class CompiledSteps:
    """The steps of one compiled pipeline package, runnable one by one."""

    def __init__(self, package: Path, venv: Path, workdir: Path) -> None:
        self.spec = next(yaml.safe_load_all(package.read_text()))
        self.venv = venv
        self.workdir = workdir

    def run(
        self,
        component: str,
        parameters: dict[str, Any],
        artifacts: dict[str, list[dict[str, Any]]],
        run_name: str | None = None,
    ) -> dict[str, Any]:
        """Run `component` (e.g. "select-best"); returns {output name: artifact or value}."""
        folder = self.workdir / (run_name or component)
        folder.mkdir(parents=True)
        definition = self.spec["components"][f"comp-{component}"]
        executor = self.spec["deploymentSpec"]["executors"][definition["executorLabel"]]
        executor_input = self._executor_input(definition, parameters, artifacts, folder)
        container = executor["container"]
        args = [json.dumps(executor_input) if a == "{{$}}" else a for a in container["args"]]
        result = subprocess.run(
            [*container["command"], *args],
            cwd=folder,
            env=venv_env(self.venv),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            command = shlex.join(container["command"][:2])
            raise AssertionError(f"{component} ({command} ...) failed:\n{result.stderr[-3000:]}")
        return self._outputs(definition, executor_input)

    def _executor_input(self, definition, parameters, artifacts, folder: Path) -> dict[str, Any]:
        outputs = definition.get("outputDefinitions", {})
        inputs = definition.get("inputDefinitions", {}).get("artifacts", {})
        return {
            "inputs": {
                "parameterValues": parameters,
                "artifacts": {
                    name: {
                        "artifacts": [
                            {"name": name, "type": inputs[name]["artifactType"]} | a for a in given
                        ]
                    }
                    for name, given in artifacts.items()
                },
            },
            "outputs": {
                "artifacts": {
                    name: {
                        "artifacts": [
                            {
                                "name": name,
                                "type": spec["artifactType"],
                                "uri": str(folder / "artifacts" / name),
                                "metadata": {},
                            }
                        ]
                    }
                    for name, spec in outputs.get("artifacts", {}).items()
                },
                "parameters": {
                    name: {"outputFile": str(folder / "parameters" / name)}
                    for name in outputs.get("parameters", {})
                },
                "outputFile": str(folder / "executor_output.json"),
            },
        }

    @staticmethod
    def _outputs(definition, executor_input) -> dict[str, Any]:
        written = json.loads(Path(executor_input["outputs"]["outputFile"]).read_text())
        produced: dict[str, Any] = {
            name: {key: found["artifacts"][0][key] for key in ("uri", "metadata")}
            for name, found in written.get("artifacts", {}).items()
        }
        for name, value in written.get("parameterValues", {}).items():
            produced[name] = value
        for name, target in executor_input["outputs"]["parameters"].items():
            path = Path(target["outputFile"])
            if name not in produced and path.is_file():
                text = path.read_text()
                try:
                    produced[name] = json.loads(text)
                except ValueError:
                    produced[name] = text  # strings are written as they are
        return produced
