"""Commands share a group of typer options declared once, and receive them by name."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.testing import CliRunner

from braking_common.cli_flags import given, shared_options

app = typer.Typer()
received: list[dict[str, Any]] = []


def connection(
    host: Annotated[str | None, typer.Option(help="Server URL.")] = None,
    port: Annotated[int | None, typer.Option(help="Server port.")] = None,
) -> None:
    """The options both commands take."""


@app.command("send")
@shared_options(connection)
def send(
    message: Annotated[str, typer.Option(help="What to send.")],
    **shared: Any,
) -> None:
    received.append({"message": message, **shared})


@app.command("ping")
@shared_options(connection)
def ping(count: Annotated[int, typer.Option()] = 1, **shared: Any) -> None:
    received.append({"count": count, **given(**shared)})


def test_each_command_takes_the_shared_options_with_its_own():
    runner = CliRunner()
    received.clear()
    result = runner.invoke(app, ["send", "--message", "hi", "--port", "9"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["ping", "--host", "http://h", "--count", "2"])
    assert result.exit_code == 0, result.output
    assert received == [
        {"message": "hi", "host": None, "port": 9},
        {"count": 2, "host": "http://h"},
    ]


def test_shared_options_are_typed_documented_and_a_required_own_option_stays_required():
    runner = CliRunner()
    help_text = runner.invoke(app, ["send", "--help"], terminal_width=200).output
    assert "--host" in help_text and "Server port." in help_text
    bad = runner.invoke(app, ["ping", "--port", "many"], terminal_width=200)
    assert bad.exit_code == 2 and "'--port'" in bad.output
    missing = runner.invoke(app, ["send", "--port", "9"], terminal_width=200)
    assert missing.exit_code == 2 and "--message" in missing.output
