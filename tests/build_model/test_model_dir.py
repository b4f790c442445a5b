"""The model directory module: one reader for its JSON records, clear errors for bad files."""

import subprocess
import sys

import pytest

from braking_model.model_dir import ModelDir, read_json, write_json


def test_missing_records_read_as_absent(tmp_path):
    files = ModelDir(tmp_path)
    assert files.read_metrics() == {}
    assert files.read_gate() is None


def test_written_records_read_back(tmp_path):
    files = ModelDir(tmp_path)
    write_json(files.gate, {"passed": True, "reasons": []})
    assert files.read_gate() == {"passed": True, "reasons": []}


def test_invalid_json_names_the_file(tmp_path):
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"metrics\.json: not valid JSON"):
        read_json(tmp_path / "metrics.json")


def test_a_folder_without_the_graph_is_refused_by_name(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"has no model\.onnx"):
        ModelDir(tmp_path).require_onnx()


def test_the_server_can_import_it_without_scikit_learn():
    code = "import sys, braking_model.model_dir; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
