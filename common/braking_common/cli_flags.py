"""How every `braking` command hands its flags to a settings object, and how commands share
a group of options."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, get_type_hints

Command = TypeVar("Command", bound=Callable[..., Any])


def given(**options: Any) -> dict[str, Any]:
    """Only the flags given on the command line; the settings fill the rest from env/defaults.

    An unset option arrives as None (or an empty tuple for a repeatable one).
    """
    return {key: value for key, value in options.items() if value is not None and value != ()}


def shared_options(options: Callable[..., Any]) -> Callable[[Command], Command]:
    """Give the decorated command the options `options` declares, after its own.

    The parameters of `options` (`Annotated[..., typer.Option()]`) are declared once for
    every command that takes them: typer has no option groups (fastapi/typer#153). The
    command receives them as keyword arguments (`**shared`), and may hand them back to
    `options` to turn them into what it needs.
    """
    shared = _options(options)

    def decorate(command: Command) -> Command:
        parameters = [*_options(command), *shared]

        @functools.wraps(command)
        def run(**values: Any) -> Any:
            return command(**values)

        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run  # type: ignore[return-value]

    return decorate


def _options(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """The named parameters, annotations resolved, made keyword-only (typer passes options
    by name, and then a required one may follow one with a default)."""
    hints = get_type_hints(function, include_extras=True)
    return [
        parameter.replace(annotation=hints[parameter.name], kind=parameter.KEYWORD_ONLY)
        for parameter in inspect.signature(function).parameters.values()
        if parameter.kind is not parameter.VAR_KEYWORD
    ]
