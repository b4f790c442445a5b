"""Commands of this stage for the `braking` CLI: `braking train` and `braking validate`.

Heavy imports (scikit-learn, onnxruntime, pandas) stay inside the commands so that
`braking --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

_TRAIN = "BRAKING_TRAIN_"


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def train(
    data: Path = typer.Option(
        ..., help="Parquet data set (braking generate's output).", envvar=f"{_TRAIN}DATA"
    ),
    output: Path = typer.Option(
        ...,
        help="MODEL_DIR to write: model.onnx, model.joblib, "
        "metrics.json, trials.csv, model_card.md, plots/.",
        envvar=f"{_TRAIN}OUTPUT",
    ),
    search_space: Path | None = typer.Option(
        None,
        help="Search-space YAML (default: the packaged search_space.yaml).",
        envvar=f"{_TRAIN}SEARCH_SPACE",
    ),
    n_iter: int | None = typer.Option(
        None, help="Hyperparameter candidates in total (default 8).", envvar=f"{_TRAIN}N_ITER"
    ),
    cv: int | None = typer.Option(
        None, help="Cross-validation folds (default 3).", envvar=f"{_TRAIN}CV"
    ),
    n_jobs: int | None = typer.Option(
        None, help="Parallel CV fits; -1 = all cores (default -1).", envvar=f"{_TRAIN}N_JOBS"
    ),
    seed: int | None = typer.Option(
        None, help="Seed of sampling, folds and models (default 42).", envvar=f"{_TRAIN}SEED"
    ),
    test_fraction: float | None = typer.Option(
        None,
        help="Latest fraction of rows (by event_timestamp) held out (default 0.2).",
        envvar=f"{_TRAIN}TEST_FRACTION",
    ),
    tune_max_rows: int | None = typer.Option(
        None,
        help="Rows sampled for the search; the best is refit on all training rows (default 20000).",
        envvar=f"{_TRAIN}TUNE_MAX_ROWS",
    ),
    split_dir: Path | None = typer.Option(
        None,
        help="Write the time split here as train.parquet "
        "and test.parquet (default: a temporary folder).",
        envvar=f"{_TRAIN}SPLIT_DIR",
    ),
) -> None:
    """Tune (cross-validated random search over model families), refit the best, export ONNX
    with a parity check, and write metrics, trials, plots and a model card."""
    from pydantic import ValidationError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from braking_data.schema import SchemaError
    from braking_model.config import SearchSpaceError, TrainConfig
    from braking_model.train import train_model
    from braking_model.tune import TooFewRowsError

    options = {
        "search_space": search_space,
        "n_iter": n_iter,
        "cv": cv,
        "n_jobs": n_jobs,
        "seed": seed,
        "test_fraction": test_fraction,
        "tune_max_rows": tune_max_rows,
        "split_dir": split_dir,
    }
    try:
        config = TrainConfig(**{k: v for k, v in options.items() if v is not None})
    except ValidationError as error:
        _fail(
            "; ".join(
                f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']} "
                f"(got {e.get('input')!r})"
                for e in error.errors()
            )
        )
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task("tuning", total=config.n_iter)

        def on_trial(candidate, row) -> None:
            bar.update(
                task,
                advance=1,
                description=(
                    f"trial {candidate.trial} {candidate.family}: CV RMSE {row['mean_cv_rmse']:.4f}"
                ),
            )

        try:
            result = train_model(data, output, config, progress=on_trial)
        except (FileNotFoundError, SchemaError, SearchSpaceError, TooFewRowsError) as error:
            _fail(str(error))
    m = result.metrics
    ratio = "n/a" if m["rmse_to_baseline"] is None else f"{m['rmse_to_baseline']:.2f}"
    typer.echo(
        f"best: {result.best.family} (trial {result.best.trial}); test RMSE {m['rmse']:.4f} "
        f"vs physics baseline {m['baseline_rmse']:.4f} (ratio {ratio}); "
        f"under-braking {m['under_braking_rate']:.2%}; ONNX parity {m['onnx_parity_max_abs']:.1e}"
    )
    typer.echo(f"wrote {result.model_dir}: {', '.join(result.files)}")


def validate(
    model: Path = typer.Option(
        ..., help="MODEL_DIR written by `braking train`.", envvar="BRAKING_VALIDATE_MODEL"
    ),
    data: Path = typer.Option(
        ...,
        help="Held-out Parquet data (e.g. the split's test.parquet).",
        envvar="BRAKING_VALIDATE_DATA",
    ),
    thresholds: Path | None = typer.Option(
        None,
        help="YAML overriding any gate threshold (default: the packaged gate_thresholds.yaml).",
        envvar="BRAKING_VALIDATE_THRESHOLDS",
    ),
) -> None:
    """Run the validation gate on MODEL_DIR/model.onnx: accuracy vs the physics baseline,
    under-braking, physics invariants on probes, ONNX parity. Exit 1 when it fails."""
    from rich.console import Console
    from rich.table import Table

    from braking_data.schema import SchemaError
    from braking_model.gate import ThresholdsError, load_thresholds
    from braking_model.tune import TooFewRowsError
    from braking_model.validate import UncheckedPickleError, validate_model

    try:
        verdict = validate_model(model, data, load_thresholds(thresholds))
    except (
        FileNotFoundError,
        SchemaError,
        ThresholdsError,
        TooFewRowsError,
        UncheckedPickleError,
    ) as error:
        _fail(str(error))
    table = Table(title=f"Validation gate: {model}")
    for column in ("check", "kind", "value", "limit", "result"):
        table.add_column(column)
    for check in verdict.checks:
        value = "missing" if check.value is None else f"{check.value:.4g}"
        result = "[green]pass[/]" if check.passed else "[red]FAIL[/]"
        table.add_row(
            check.name, check.kind, value, f"{check.comparison} {check.threshold:g}", result
        )
    console = Console()
    console.print(table)
    if not verdict.passed:
        typer.secho("gate FAILED; the model must not be promoted:", fg=typer.colors.RED, err=True)
        for reason in verdict.reasons:
            typer.echo(f"  - {reason}", err=True)
        raise typer.Exit(1)
    typer.secho("gate passed", fg=typer.colors.GREEN)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.command("train")(train)
    app.command("validate")(validate)
