"""Every notebook, executed headless top to bottom on small data, checked by what it produced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

pytestmark = pytest.mark.slow


def outputs_of(notebook: nbformat.NotebookNode, mime: str) -> list[Any]:
    """Every output carrying `mime` (image/png, text/plain...) or, for "stream", printed text."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                if mime == "stream":
                    found.append(output["text"])
            elif mime in output.get("data", {}):
                found.append(output["data"][mime])
    return found


def test_data_generation_notebook_writes_a_valid_data_set(run_notebook, tmp_path: Path) -> None:
    from braking_data.generate import write_dataset
    from braking_data.schema import read_dataset

    output = tmp_path / "data" / "train.parquet"
    notebook = run_notebook(
        "01-data-generation.ipynb",
        {"rows": 3_000, "seed": 5, "output_path": str(output), "preview_rows": 2_000},
    )
    data = read_dataset(output)
    assert len(data) == 3_000
    # the notebook's file is the library's file for the same seed and size
    reference = write_dataset(tmp_path / "reference.parquet", rows=3_000, seed=5)
    assert output.read_bytes() == reference.path.read_bytes()
    assert len(outputs_of(notebook, "image/png")) == 2
    assert any(reference.sha256 in text for text in outputs_of(notebook, "stream"))
