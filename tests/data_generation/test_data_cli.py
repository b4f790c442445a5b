"""`braking generate` and `braking data check` as a user runs them."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from braking_cli.main import app

runner = CliRunner()


def test_generate_writes_the_file_and_prints_a_summary(tmp_path):
    output = tmp_path / "out" / "data.parquet"
    result = runner.invoke(
        app, ["generate", "--rows", "3000", "--seed", "5", "--output", str(output), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert output.is_file()
    assert "3,000 rows" in result.output and "sha256" in result.output
    for condition in ("dry", "wet", "snow", "ice"):
        assert condition in result.output


def test_generate_reads_its_options_from_the_environment(tmp_path):
    output = tmp_path / "env.parquet"
    env = {"BRAKING_DATA_ROWS": "123", "BRAKING_DATA_OUTPUT": str(output)}
    result = runner.invoke(app, ["generate", "--no-progress"], env=env)
    assert result.exit_code == 0, result.output
    assert "123 rows" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--rows", "0"], "--rows must be > 0, got 0"),
        (["--rows", "10", "--chunk-rows", "-1"], "--chunk-rows must be > 0, got -1"),
    ],
)
def test_generate_rejects_bad_values(tmp_path, arguments, message):
    result = runner.invoke(app, ["generate", *arguments, "--output", str(tmp_path / "x.parquet")])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x.parquet").exists()


def test_generate_reports_an_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(
        app, ["generate", "--rows", "10", "--output", str(blocker / "x.parquet")]
    )
    assert result.exit_code == 2
    assert "cannot write" in result.output


def test_generate_takes_a_yaml_config(tmp_path):
    config = tmp_path / "gen.yaml"
    config.write_text("road_conditions:\n  snow: {share: 1.0, friction: [0.2, 0.3]}\n")
    output = tmp_path / "snow.parquet"
    arguments = ["generate", "--rows", "500", "--config", str(config), "--output", str(output)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "snow" in result.output and "dry" not in result.output


def test_generate_rejects_an_invalid_yaml_config(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("box_noise_px: -1\n")
    result = runner.invoke(app, ["generate", "--config", str(config)])
    assert result.exit_code == 2
    assert "box_noise_px" in result.output


def test_data_check_passes_a_generated_file_and_fails_a_broken_one(tmp_path):
    good = tmp_path / "good.parquet"
    runner.invoke(app, ["generate", "--rows", "200", "--output", str(good), "--no-progress"])
    result = runner.invoke(app, ["data", "check", str(good)])
    assert result.exit_code == 0 and "schema OK" in result.output

    import pandas as pd

    frame = pd.read_parquet(good)
    frame.loc[[0, 1], "your_speed"] = -5.0
    bad = tmp_path / "bad.parquet"
    frame.to_parquet(bad)
    result = runner.invoke(app, ["data", "check", str(bad)])
    assert result.exit_code == 1
    assert "'your_speed': 2 rows out of range" in result.output


@pytest.mark.parametrize(
    ("start", "first_timestamp"),
    [
        ("2027-05-01", "2027-05-01T00:00:00+00:00"),
        ("2027-05-01T10:00:00", "2027-05-01T10:00:00+00:00"),
        ("2027-05-01T10:00:00+02:00", "2027-05-01T08:00:00+00:00"),
    ],
)
def test_generate_starts_the_time_axis_where_asked(tmp_path, start, first_timestamp):
    import pandas as pd

    output = tmp_path / "t.parquet"
    arguments = ["generate", "--rows", "5", "--start-time", start, "--output", str(output)]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(output)["event_timestamp"].iloc[0].isoformat() == first_timestamp


def test_generate_rejects_a_negative_seed(tmp_path):
    result = runner.invoke(app, ["generate", "--seed", "-1", "--output", str(tmp_path / "x.pq")])
    assert result.exit_code == 2
    assert "seed must be >= 0, got -1" in result.output
