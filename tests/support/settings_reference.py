"""docs/configuration.md, generated from the settings classes: every variable, its default.

Regenerate after changing a settings class: `.venv/bin/python tests/support/settings_reference.py`.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT / "docs" / "configuration.md"
PACKAGES = (
    "braking_common",
    "braking_data",
    "braking_model",
    "braking_registry",
    "braking_serving",
    "braking_release",
    "braking_stack",
    "braking_monitoring",
    "braking_pipelines",
    "braking_feedback",
)


def _order(cls: type) -> tuple[int, str]:
    return PACKAGES.index(cls.__module__.split(".")[0]), cls.__name__


def settings_classes() -> list[type[BaseSettings]]:
    """Every pydantic-settings class of the project, in package order."""
    for root in PACKAGES:
        package = importlib.import_module(root)
        for module in pkgutil.walk_packages(package.__path__, f"{root}."):
            importlib.import_module(module.name)
    found, pending = [], list(BaseSettings.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    ours = [cls for cls in found if cls.__module__.startswith("braking_")]
    return sorted(ours, key=_order)


def _default(field) -> str:
    if field.is_required():
        return "(required)"
    if field.default_factory is not None:
        return "(computed)"
    value = field.default
    if value is None:
        return "unset"
    text = str(value).replace("|", "\\|")
    return f"`{text}`" if text else "`''`"


def _variable(prefix: str, name: str, field) -> str:
    """The field's variable; a nested settings object reads its own prefix (its own table)."""
    nested = field.annotation
    if isinstance(nested, type) and issubclass(nested, BaseSettings):
        return f"`{nested.model_config.get('env_prefix', '')}*`"
    return f"`{prefix}{name.upper()}`"


def render() -> str:
    """The Markdown reference: one table per settings class."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from the settings classes by `tests/support/settings_reference.py`; a test",
        "fails when it is out of date. Flags override variables, variables override defaults.",
        "",
    ]
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        lines += [
            f"## `{prefix}*`: `{cls.__module__}.{cls.__name__}`",
            "",
            "| variable | default | meaning |",
            "|---|---|---|",
        ]
        for name, field in cls.model_fields.items():
            meaning = (field.description or "").replace("|", "\\|").replace("\n", " ")
            lines.append(f"| {_variable(prefix, name, field)} | {_default(field)} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    REFERENCE.write_text(render(), encoding="utf-8")
    print(f"wrote {REFERENCE}")
