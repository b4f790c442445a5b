"""Run the notebooks headless: a pinned kernel, papermill-style parameter injection."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import nbformat
import pytest
from stack_fixtures import embedded_stack  # noqa: F401

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def parameters_cell_index(notebook: nbformat.NotebookNode) -> int:
    for index, cell in enumerate(notebook.cells):
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return index
    raise AssertionError("the notebook has no cell tagged 'parameters'")


def inject_parameters(
    notebook: nbformat.NotebookNode, parameters: Mapping[str, Any]
) -> nbformat.NotebookNode:
    """Add a cell after the parameters cell that overrides its values, as papermill does."""
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    notebook.cells.insert(parameters_cell_index(notebook) + 1, cell)
    return notebook


@pytest.fixture(scope="session")
def python3_kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernelspec `python3` running this interpreter, found before any user-level spec."""
    jupyter_path = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter_path / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (braking-distance tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(jupyter_path), previous]))
    yield "python3"
    if previous is None:
        os.environ.pop("JUPYTER_PATH", None)
    else:
        os.environ["JUPYTER_PATH"] = previous


@pytest.fixture()
def run_notebook(python3_kernel: str, tmp_path: Path):
    """Execute notebooks/<name> with injected parameters and extra environment variables;
    returns the executed notebook (also written to tmp_path for inspection on failure)."""
    from nbclient import NotebookClient

    def run(
        name: str,
        parameters: Mapping[str, Any],
        env: Mapping[str, str] | None = None,
        timeout: int = 300,
    ) -> nbformat.NotebookNode:
        notebook = inject_parameters(nbformat.read(NOTEBOOK_DIR / name, as_version=4), parameters)
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name=python3_kernel,
            resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        )
        kernel_env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        try:
            client.execute(env={**kernel_env, **(env or {})})
        finally:
            nbformat.write(notebook, tmp_path / name)
        return notebook

    return run


def outputs_of(notebook: nbformat.NotebookNode, mime: str) -> list[Any]:
    """Every output of the executed notebook carrying `mime` (e.g. image/png, text/plain)."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if mime in output.get("data", {}):
                found.append(output["data"][mime])
            elif mime == "stream" and output.get("output_type") == "stream":
                found.append(output["text"])
    return found
