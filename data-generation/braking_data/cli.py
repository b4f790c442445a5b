"""Commands of this stage for the `braking` CLI: `braking generate` and `braking data check`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from braking_common.cli_errors import fail

if TYPE_CHECKING:
    from braking_data.generate import DatasetInfo

ENV = "BRAKING_DATA_"
START_TIME_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]

data_app = typer.Typer(help="Inspect and check sensor data sets.", no_args_is_help=True)


def generate(
    rows: Annotated[
        int, typer.Option(help="Number of rows to generate (> 0).", envvar=f"{ENV}ROWS")
    ] = 200_000,
    seed: Annotated[
        int,
        typer.Option(
            help="Random seed; same seed and rows give byte-identical files.", envvar=f"{ENV}SEED"
        ),
    ] = 7,
    output: Annotated[
        Path,
        typer.Option(
            help="Parquet file to write (parent folders are created).", envvar=f"{ENV}OUTPUT"
        ),
    ] = Path("outputs/data/train.parquet"),
    chunk_rows: Annotated[
        int | None,
        typer.Option(
            help="Rows held in memory while streaming (bounds memory; "
            "does not change the file). Default: 262,144.",
            envvar=f"{ENV}CHUNK_ROWS",
        ),
    ] = None,
    start_time: Annotated[
        datetime | None,
        typer.Option(
            help="Time of the first row, e.g. 2026-01-01T08:00:00 (UTC) or "
            "2026-01-01T08:00:00+01:00. Default: the config's, 2026-01-01T00:00:00Z.",
            envvar=f"{ENV}START_TIME",
            formats=START_TIME_FORMATS,
        ),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="YAML file overriding GenerationConfig fields (distributions, noise, camera...).",
            envvar=f"{ENV}CONFIG",
        ),
    ] = None,
    progress: Annotated[
        bool, typer.Option(help="Show a progress bar while writing.", envvar=f"{ENV}PROGRESS")
    ] = True,
) -> None:
    """Generate sensor data (camera box, radar speeds, friction, brake label) to Parquet.

    Rows are physics-grounded (see data-generation/README.md) and streamed in chunks, so
    memory stays bounded for any --rows.
    """
    from pydantic import ValidationError

    from braking_data.config import load_config
    from braking_data.generate import DEFAULT_CHUNK_ROWS, write_dataset

    if rows <= 0:
        raise fail(f"--rows must be > 0, got {rows}")
    if chunk_rows is not None and chunk_rows <= 0:
        raise fail(f"--chunk-rows must be > 0, got {chunk_rows}")
    try:
        config = load_config(config_file)
        if start_time is not None:
            utc = start_time if start_time.tzinfo else start_time.replace(tzinfo=UTC)
            config = config.model_validate({**config.model_dump(), "start_time": utc})
    except (OSError, ValidationError, ValueError) as error:
        raise fail(f"invalid generation config {config_file or ''}: {error}") from None
    try:
        info = write_dataset(
            output,
            rows,
            seed,
            config,
            chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
            progress=progress,
        )
    except OSError as error:
        raise fail(f"cannot write {output}: {error.strerror or error}") from None
    except ValueError as error:
        raise fail(str(error)) from None
    _print_summary(info)


def _print_summary(info: DatasetInfo) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{info.rows:,} rows -> {info.path}", title_justify="left")
    for column in ("road condition", "rows", "share", "mean brake", "brake = 0", "brake = 1"):
        table.add_column(column, justify="left" if column == "road condition" else "right")
    for name, stats in info.label_stats.items():
        table.add_row(
            name,
            f"{stats.rows:,}",
            f"{stats.rows / info.rows:.1%}",
            f"{stats.mean:.3f}",
            f"{stats.zero_share:.1%}",
            f"{stats.full_share:.1%}",
        )
    console = Console()
    console.print(table)
    console.print(f"sha256 {info.sha256}  ({info.bytes / 1e6:.1f} MB, seed {info.seed})")


@data_app.command("check")
def check(
    path: Annotated[Path, typer.Argument(help="Parquet data set to check against the schema.")],
) -> None:
    """Check a data set against the schema; exit 1 listing every problem found."""
    from braking_data.schema import SchemaError, read_dataset

    try:
        frame = read_dataset(path)
    except FileNotFoundError as error:
        raise fail(str(error)) from None
    except SchemaError as error:
        raise fail(str(error), code=1) from None
    typer.echo(f"{path}: {len(frame):,} rows, schema OK")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.command("generate")(generate)
    app.add_typer(data_app, name="data")
