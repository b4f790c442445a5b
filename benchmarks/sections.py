"""Run a benchmark's sections one by one, each landing in the JSON file as it finishes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def record_sections(report: dict, sections: dict[str, Callable[[], dict]], out: Path) -> None:
    """Measure each section into `report` and rewrite `out` after each; a failing section
    records why and the others still run."""
    out.parent.mkdir(parents=True, exist_ok=True)
    for name, measure in sections.items():
        try:
            report[name] = measure()
        except Exception as error:  # record why a section failed, keep the others
            report[name] = {"error": f"{type(error).__name__}: {error}"}
        out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
