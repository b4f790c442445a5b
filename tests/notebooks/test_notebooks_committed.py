"""What is committed under notebooks/: clean, parameterised, thin."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
EXPECTED = [
    "01-data-generation.ipynb",
    "02-initial-development.ipynb",
    "03-pipeline.ipynb",
    "04-register-model.ipynb",
    "05-endpoint.ipynb",
    "06-monitoring.ipynb",
]
ENV_READERS = {"os.environ.get", "os.getenv"}
CASTS = {"int", "float", "str", "bool", "Path"}


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def _code_cells(path: Path) -> list[nbformat.NotebookNode]:
    notebook = nbformat.read(path, as_version=4)
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_committed_notebooks_are_the_documented_ones() -> None:
    assert [path.name for path in notebook_paths()] == EXPECTED


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda path: path.name)
def test_notebook_is_valid_and_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs or execution counts; clear all outputs "
        "before committing"
    )
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _is_parameter_value(node: ast.AST) -> bool:
    """A literal, or an environment variable read with a literal default, maybe cast."""
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        pass
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        if name in ENV_READERS:
            return all(isinstance(arg, ast.Constant) for arg in node.args)
        if name in CASTS and len(node.args) == 1:
            return _is_parameter_value(node.args[0])
    return False


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda path: path.name)
def test_first_code_cell_holds_the_parameters(path: Path) -> None:
    first = _code_cells(path)[0]
    assert "parameters" in first.metadata.get("tags", []), (
        f"{path.name}: the first code cell must be tagged 'parameters' (papermill convention)"
    )
    tree = ast.parse(first.source)
    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        assert isinstance(statement, ast.Assign | ast.AnnAssign), ast.unparse(statement)
        assert statement.value is not None and _is_parameter_value(statement.value), (
            f"{path.name}: parameter `{ast.unparse(statement)}` must be a literal default or "
            "an environment variable read (os.environ.get('NAME', default))"
        )


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda path: path.name)
def test_notebook_defines_no_functions_or_classes(path: Path) -> None:
    for cell in _code_cells(path):
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        for node in ast.walk(ast.parse(source)):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef), (
                f"{path.name} defines `{node.name}`: move it into the library, with a test"
            )


def test_notebook_dir_is_where_the_readme_says() -> None:
    assert (NOTEBOOK_DIR / "README.md").is_file()
    readme = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    for name in EXPECTED:
        assert f"`{name}`" in readme, f"notebooks/README.md does not describe {name}"
