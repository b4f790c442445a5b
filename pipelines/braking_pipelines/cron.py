"""Validation of KFP recurring-run cron expressions (robfig/cron: 6 fields, seconds first).

KFP's ScheduledWorkflow controller parses schedules with robfig/cron, which wants
`second minute hour day-of-month month day-of-week`; the usual 5-field crontab is the
classic mistake (opendatahub-io/odh-dashboard#1546), so it gets its own error message.
"""

from __future__ import annotations

import re

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: number + 1 for number, name in enumerate(_MONTHS)}),
    ("day of week", 0, 6, {name: number for number, name in enumerate(_WEEKDAYS)}),
)
_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
_EVERY = re.compile(r"^@every (\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_ITEM = re.compile(r"^(?P<range>\*|\?|[A-Za-z0-9]+(-[A-Za-z0-9]+)?)(/(?P<step>\d+))?$")


class CronError(ValueError):
    """A schedule KFP would reject, with the reason and an example of what works."""


def validate_cron(expression: str) -> str:
    """Return `expression` normalised (single spaces) if KFP accepts it, else raise CronError."""
    normalised = " ".join(expression.split())
    if normalised.startswith("@"):
        if normalised in _DESCRIPTORS or _EVERY.match(normalised):
            return normalised
        raise CronError(
            f"cron {expression!r}: unknown descriptor; expected one of "
            f"{', '.join(sorted(_DESCRIPTORS))} or '@every <duration>' such as '@every 6h'"
        )
    fields = normalised.split(" ")
    if len(fields) != len(_FIELDS):
        hint = f"; with seconds first that is '0 {normalised}'" if len(fields) == 5 else ""
        raise CronError(
            f"cron {expression!r} has {len(fields)} fields; KFP expects 6 "
            f"(second minute hour day-of-month month day-of-week), e.g. '0 0 2 * * *' "
            f"for 02:00 every day{hint}"
        )
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for item in value.split(","):
            _check_item(expression, item, name, low, high, names)
    return normalised


def _check_item(
    expression: str, item: str, name: str, low: int, high: int, names: dict[str, int]
) -> None:
    match = _ITEM.match(item)
    if match is None:
        raise CronError(f"cron {expression!r}: {name} field item {item!r} is not valid syntax")
    span = match["range"]
    if span == "?" and name not in ("day of month", "day of week"):
        raise CronError(f"cron {expression!r}: '?' is only allowed in day of month / day of week")
    if match["step"] is not None and int(match["step"]) < 1:
        raise CronError(f"cron {expression!r}: {name} step must be >= 1, got {item!r}")
    if span in ("*", "?"):
        return
    bounds = [_value(expression, part, name, low, high, names) for part in span.split("-")]
    if len(bounds) == 2 and bounds[0] > bounds[1]:
        raise CronError(f"cron {expression!r}: {name} range {span!r} runs backwards")


def _value(expression: str, text: str, name: str, low: int, high: int, names: dict) -> int:
    number = names.get(text.upper()) if not text.isdigit() else int(text)
    if number is None or not low <= number <= high:
        raise CronError(
            f"cron {expression!r}: {name} value {text!r} is out of range; expected {low}-{high}"
            + (f" or {'/'.join(names)}" if names else "")
        )
    return number
