"""How every `braking` command hands its flags to a settings object."""

from __future__ import annotations

from typing import Any


def given(**options: Any) -> dict[str, Any]:
    """Only the flags given on the command line; the settings fill the rest from env/defaults.

    An unset option arrives as None (or an empty tuple for a repeatable one).
    """
    return {key: value for key, value in options.items() if value is not None and value != ()}
