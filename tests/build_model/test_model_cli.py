"""`braking train` / `braking validate`: exit codes and messages a user reads."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from braking_cli.main import app
from braking_data.storage import file_sha256

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_train_help_documents_every_option() -> None:
    result = _run("train", "--help")
    assert result.exit_code == 0
    for option in (
        "--data",
        "--output",
        "--search-space",
        "--n-iter",
        "--cv",
        "--n-jobs",
        "--seed",
        "--test-fraction",
        "BRAKING_TRAIN_",  # where unset options come from
    ):
        assert option in result.output


def test_train_on_a_missing_file_is_a_clear_error(tmp_path) -> None:
    result = _run("train", "--data", str(tmp_path / "none.parquet"), "--output", str(tmp_path))
    assert result.exit_code == 2
    assert "none.parquet does not exist" in result.output


def test_train_on_an_invalid_file_names_the_problem(tmp_path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    result = _run("train", "--data", str(bad), "--output", str(tmp_path / "m"))
    assert result.exit_code == 2 and "not a readable Parquet file" in result.output


def test_train_with_a_bad_search_space_key_names_it(tmp_path, trained_model_dir) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("mlp:\n  learning_rat: 0.1\n")
    data = trained_model_dir.parent / "data.parquet"
    result = _run(
        "train", "--data", str(data), "--output", str(tmp_path / "m"), "--search-space", str(space)
    )
    assert result.exit_code == 2 and "mlp.learning_rat" in result.output


def test_train_rejects_a_bad_option_value(tmp_path) -> None:
    result = _run("train", "--data", "x", "--output", "y", "--test-fraction", "1.5")
    assert result.exit_code == 2 and "--test-fraction" in result.output


@pytest.mark.parametrize(("threshold", "exit_code"), [("max_rmse: 1.0e-9\n", 1), ("", None)])
def test_validate_exit_code_follows_the_gate(tmp_path, trained_model_dir, threshold, exit_code):
    lenient = (
        "max_rmse: 1\nmax_mae: 1\nmin_r2: -10\nmax_max_error: 1\n"
        "max_rmse_to_baseline: 10\nmax_under_braking_rate: 1\n"
    )
    path = tmp_path / "gate.yaml"
    path.write_text(lenient.replace("max_rmse: 1\n", threshold) if threshold else lenient)
    data = trained_model_dir.parent / "split" / "test.parquet"
    result = _run(
        "validate",
        "--model",
        str(trained_model_dir),
        "--data",
        str(data),
        "--thresholds",
        str(path),
    )
    assert "onnx_parity" in result.output
    if exit_code == 1:
        assert result.exit_code == 1
        assert "gate FAILED" in result.output and "- rmse: rmse =" in result.output
    else:
        assert result.exit_code == 0, result.output


def test_validate_with_an_unknown_threshold_key_names_it(tmp_path, trained_model_dir) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text("max_rmse_ratio: 0.8\n")
    data = trained_model_dir.parent / "split" / "test.parquet"
    result = _run(
        "validate",
        "--model",
        str(trained_model_dir),
        "--data",
        str(data),
        "--thresholds",
        str(path),
    )
    assert result.exit_code == 2 and "max_rmse_ratio" in result.output


def test_validate_without_a_model_says_so(tmp_path) -> None:
    result = _run("validate", "--model", str(tmp_path), "--data", str(tmp_path / "x.parquet"))
    assert result.exit_code == 2 and "no model.onnx" in result.output


def _data_with_rows(folder, rows: int):
    from braking_data.generate import generate_frame

    path = folder / f"rows-{rows}.parquet"
    generate_frame(max(rows, 1), seed=1).iloc[:rows].to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("rows", [0, 5])
def test_train_on_too_few_rows_names_the_minimum_and_writes_nothing(tmp_path, rows) -> None:
    from braking_model.tune import MIN_TRAIN_ROWS

    output = tmp_path / "model"
    result = _run("train", "--data", str(_data_with_rows(tmp_path, rows)), "--output", str(output))
    assert result.exit_code == 2
    assert f"has {rows} rows" in result.output and f"at least {MIN_TRAIN_ROWS}" in result.output
    assert "Traceback" not in result.output
    assert not output.exists() and not list(tmp_path.glob(".model*"))


def _copy_model(trained_model_dir, tmp_path):
    import shutil

    return shutil.copytree(trained_model_dir, tmp_path / "model")


@pytest.mark.parametrize("rows", [0, 5])
def test_validate_on_too_few_rows_names_the_minimum(tmp_path, trained_model_dir, rows) -> None:
    from braking_model.validate import MIN_VALIDATION_ROWS

    model = _copy_model(trained_model_dir, tmp_path)
    data = _data_with_rows(tmp_path, rows)
    result = _run("validate", "--model", str(model), "--data", str(data))
    assert result.exit_code == 2
    assert f"has {rows} rows" in result.output
    assert f"at least {MIN_VALIDATION_ROWS}" in result.output
    assert "Traceback" not in result.output


class _RunsCodeWhenUnpickled:
    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_validate_never_unpickles_a_joblib_whose_hash_does_not_match(
    tmp_path, trained_model_dir
) -> None:
    import joblib

    model = _copy_model(trained_model_dir, tmp_path)
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["joblib_sha256"] == file_sha256(model / "model.joblib")  # recorded at export
    marker = tmp_path / "pickle-ran"
    joblib.dump(_RunsCodeWhenUnpickled(marker), model / "model.joblib")
    data = trained_model_dir.parent / "split" / "test.parquet"
    result = _run("validate", "--model", str(model), "--data", str(data))
    assert result.exit_code == 2
    assert "joblib_sha256" in result.output and "refusing to unpickle" in result.output
    assert not marker.exists()
    del metrics["joblib_sha256"]  # an unchecked pickle is not loaded either
    (model / "metrics.json").write_text(json.dumps(metrics))
    result = _run("validate", "--model", str(model), "--data", str(data))
    assert result.exit_code == 2 and "records no joblib_sha256" in result.output
    assert not marker.exists()
