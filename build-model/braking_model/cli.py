"""Commands of this stage for the `braking` CLI: `braking train` and `braking validate`.

Heavy imports (scikit-learn, onnxruntime, pandas) stay inside the commands so that
`braking --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from braking_common.cli_errors import fail
from braking_common.cli_flags import given

_TRAIN = "BRAKING_TRAIN_"


def train(
    data: Annotated[
        Path,
        typer.Option(help="Parquet data set (braking generate's output).", envvar=f"{_TRAIN}DATA"),
    ],
    output: Annotated[
        Path,
        typer.Option(
            help="MODEL_DIR to write: model.onnx, model.joblib, sklearn_outputs.npy, "
            "metrics.json, trials.csv, model_card.md, plots/.",
            envvar=f"{_TRAIN}OUTPUT",
        ),
    ],
    search_space: Annotated[
        Path | None, typer.Option(help="Search-space YAML instead of the packaged one.")
    ] = None,
    n_iter: Annotated[int | None, typer.Option(help="Hyperparameter candidates in total.")] = None,
    cv: Annotated[int | None, typer.Option(help="Cross-validation folds.")] = None,
    n_jobs: Annotated[int | None, typer.Option(help="Parallel CV fits; -1 = all cores.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of sampling, folds and models.")] = None,
    test_fraction: Annotated[
        float | None,
        typer.Option(help="Latest fraction of rows (by event_timestamp) held out."),
    ] = None,
    tune_max_rows: Annotated[
        int | None,
        typer.Option(help="Rows sampled for the search; the best is refit on all training rows."),
    ] = None,
    calibrate_margin: Annotated[
        bool | None,
        typer.Option(
            help="Set the winner's safety margin to the one most likely to pass the gate "
            "(out-of-fold predictions)."
        ),
    ] = None,
    split_dir: Annotated[
        Path | None,
        typer.Option(
            help="Write the time split here as train.parquet and test.parquet "
            "(otherwise a temporary folder)."
        ),
    ] = None,
) -> None:
    """Tune (cross-validated random search over model families), refit the best, export ONNX
    with a parity check, and write metrics, trials, plots and a model card.

    Unset options come from `BRAKING_TRAIN_*` variables, then the defaults.
    """
    from pydantic import ValidationError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from braking_data.schema import SchemaError
    from braking_model.config import SearchSpaceError, TrainConfig
    from braking_model.train import train_model
    from braking_model.tune import TooFewRowsError

    options: dict[str, Any] = {
        "search_space": search_space,
        "n_iter": n_iter,
        "cv": cv,
        "n_jobs": n_jobs,
        "seed": seed,
        "test_fraction": test_fraction,
        "tune_max_rows": tune_max_rows,
        "calibrate_margin": calibrate_margin,
        "split_dir": split_dir,
    }
    try:
        config = TrainConfig(**given(**options))
    except ValidationError as error:
        raise fail(
            "; ".join(
                f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']} "
                f"(got {e.get('input')!r})"
                for e in error.errors()
            )
        ) from None
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
            raise fail(str(error)) from None
    m = result.metrics
    ratio = "n/a" if m["rmse_to_baseline"] is None else f"{m['rmse_to_baseline']:.2f}"
    typer.echo(
        f"best: {result.best.family} (trial {result.best.trial}); test RMSE {m['rmse']:.4f} "
        f"vs physics baseline {m['baseline_rmse']:.4f} (ratio {ratio}); "
        f"under-braking {m['under_braking_rate']:.2%}; ONNX parity {m['onnx_parity_max_abs']:.1e}"
    )
    typer.echo(f"wrote {result.model_dir}: {', '.join(result.files)}")


def validate(
    model: Annotated[
        Path,
        typer.Option(help="MODEL_DIR written by `braking train`.", envvar="BRAKING_VALIDATE_MODEL"),
    ],
    data: Annotated[
        Path,
        typer.Option(
            help="Held-out Parquet data (e.g. the split's test.parquet).",
            envvar="BRAKING_VALIDATE_DATA",
        ),
    ],
    thresholds: Annotated[
        Path | None,
        typer.Option(
            help="YAML overriding any gate threshold (over the packaged gate_thresholds.yaml).",
            envvar="BRAKING_VALIDATE_THRESHOLDS",
        ),
    ] = None,
) -> None:
    """Run the validation gate on MODEL_DIR/model.onnx: accuracy vs the physics baseline,
    under-braking, physics invariants on probes, ONNX parity. Exit 1 when it fails."""
    from rich.console import Console
    from rich.table import Table

    from braking_data.schema import SchemaError
    from braking_model.gate import ThresholdsError, load_thresholds
    from braking_model.tune import TooFewRowsError
    from braking_model.validate import UncheckedFileError, validate_model

    try:
        verdict = validate_model(model, data, load_thresholds(thresholds))
    except (
        FileNotFoundError,
        SchemaError,
        ThresholdsError,
        TooFewRowsError,
        UncheckedFileError,
    ) as error:
        raise fail(str(error)) from None
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
