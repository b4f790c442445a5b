"""`braking train` / `braking validate`: exit codes and messages a user reads."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from braking_cli.main import app

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
