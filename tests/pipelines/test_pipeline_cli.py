"""`braking pipeline ...` as a user types it."""

from __future__ import annotations

from typer.testing import CliRunner

from braking_cli.main import app

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, ["pipeline", *args], env=env)


def test_compile_writes_the_same_yaml_every_time(tmp_path):
    first, second = tmp_path / "a" / "p.yaml", tmp_path / "b.yaml"
    assert invoke("compile", "-o", str(first)).exit_code == 0
    result = invoke("compile", "--output", str(second), "--image", "quay.io/me/braking:2")
    assert result.exit_code == 0, result.output
    assert "quay.io/me/braking:2" in second.read_text()
    assert invoke("compile", "-o", str(second)).exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def test_submit_sends_typed_arguments_with_the_token_from_env(kfp_api):
    env = {"BRAKING_DSPA_HOST": kfp_api.url, "BRAKING_DSPA_TOKEN": kfp_api.token}
    result = invoke(
        "submit",
        "--rows",
        "800",
        "-p",
        "test_fraction=0.25",
        "-p",
        "gate_thresholds={max_mae: 0.1}",
        "--run-name",
        "nightly-1",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "Started run 'nightly-1'" in result.output
    assert kfp_api.problems == []
    (run,) = kfp_api.runs
    assert run["runtime_config"]["parameters"] == {
        "data_rows": 800,
        "test_fraction": 0.25,
        "gate_thresholds": {"max_mae": 0.1},
    }


def test_schedule_with_a_crontab_of_five_fields_explains_the_sixth(kfp_api):
    env = {"BRAKING_DSPA_HOST": kfp_api.url, "BRAKING_DSPA_TOKEN": kfp_api.token}
    result = invoke("schedule", "--cron", "0 2 * * *", env=env)
    assert result.exit_code == 2
    assert "KFP expects 6" in result.output and "'0 0 2 * * *'" in result.output
    assert kfp_api.requests == []


def test_schedule_creates_the_recurring_run(kfp_api, tmp_path):
    package = tmp_path / "p.yaml"
    assert invoke("compile", "-o", str(package)).exit_code == 0
    result = invoke(
        "schedule",
        "--cron",
        "0 30 1 * * MON-FRI",
        "--package",
        str(package),
        "--host",
        kfp_api.url,
        "--token",
        kfp_api.token,
        "--shards",
        "4",
    )
    assert result.exit_code == 0, result.output
    assert kfp_api.problems == []
    (job,) = kfp_api.recurring_runs
    assert job["trigger"]["cron_schedule"]["cron"] == "0 30 1 * * MON-FRI"
    # Every scheduled run draws fresh data: its seed comes from its scheduled time.
    assert job["runtime_config"]["parameters"] == {"tuning_shards": 4, "fresh_data": True}


def test_a_schedule_with_a_seed_keeps_it(kfp_api, tmp_path):
    package = tmp_path / "p.yaml"
    assert invoke("compile", "-o", str(package)).exit_code == 0
    arguments = ["--package", str(package), "--host", kfp_api.url, "--token", kfp_api.token]
    assert invoke("schedule", *arguments, "--seed", "11").exit_code == 0
    assert invoke("schedule", *arguments, "-p", "fresh_data=false").exit_code == 0
    assert kfp_api.problems == []
    first, second = (job["runtime_config"]["parameters"] for job in kfp_api.recurring_runs)
    assert first == {"seed": 11} and second == {"fresh_data": False}


def test_a_refused_token_exits_1_with_the_reason(kfp_api):
    result = invoke("submit", "--host", kfp_api.url, "--token", "expired")
    assert result.exit_code == 1
    assert "refused the token (HTTP 401)" in result.output


def test_unknown_parameter_names_the_known_ones():
    result = invoke("submit", "--host", "http://127.0.0.1:9", "-p", "rows=5")
    assert result.exit_code == 2
    assert "'rows=5'" in result.output and "data_rows" in result.output


def test_parameter_of_the_wrong_type_is_refused_locally():
    result = invoke("submit", "--host", "http://127.0.0.1:9", "-p", "seed=abc")
    assert result.exit_code == 2
    assert "seed='abc': expected integer" in result.output


def test_host_without_scheme_is_refused_naming_the_field():
    result = invoke("submit", "--host", "ds-pipeline.example", "--token", "t")
    assert result.exit_code == 2
    assert "host" in result.output and "https://" in result.output


def test_run_is_always_local_and_still_accepts_the_old_flag():
    help_text = invoke("run", "--help")
    assert help_text.exit_code == 0
    assert "kfp.local" in help_text.output and "--local" not in help_text.output
    assert invoke("run", "--local", "--help").exit_code == 0


def test_a_bad_scenario_is_refused_before_any_step_runs(tmp_path):
    result = invoke(
        "run",
        "--no-stack",
        "--output-dir",
        str(tmp_path),
        "-p",
        "scenario={condition_shares: {fog: 0.3}}",
    )
    assert result.exit_code == 2
    assert "parameter scenario.condition_shares=" in result.output and "fog" in result.output
    assert not any(tmp_path.iterdir())  # no run started
    typo = invoke("run", "--no-stack", "-p", "scenario={speed_shift: 15}")
    assert typo.exit_code == 2 and "scenario.speed_shift=15" in typo.output
    assert "speed_shift_kmh" in typo.output  # the fields it could have meant
