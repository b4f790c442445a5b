"""The machine a benchmark ran on, recorded beside its figures in every results file."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version


def machine_info(*packages: str) -> dict[str, object]:
    """Python, OS, cores, the 1-minute load (figures from a busy machine are not comparable)
    and the installed version of each distribution in `packages`."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        **{package: version(package) for package in packages},
    }
