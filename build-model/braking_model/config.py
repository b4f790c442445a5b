"""Configuration of the training stage: `TrainConfig` (flags, `BRAKING_TRAIN_*` env vars) and
the hyperparameter search space (YAML, validated with errors that name the offending key).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SEARCH_SPACE = "search_space.yaml"
DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")


class TrainConfig(BaseSettings):
    """How to tune and train. Every field can be set as `BRAKING_TRAIN_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_TRAIN_", extra="forbid", frozen=True)

    search_space: Path | None = Field(
        None, description="search-space YAML; None uses the packaged search_space.yaml"
    )
    n_iter: int = Field(8, ge=1, description="hyperparameter candidates sampled in total")
    cv: int = Field(3, ge=2, description="cross-validation folds on the training part")
    n_jobs: int = Field(
        -1, description="cores of the search (one thread per CV fit) and of the refit (-1: all)"
    )
    seed: int = Field(42, description="seed of sampling, CV folds and model initialisation")
    test_fraction: float = Field(
        0.2, gt=0.0, lt=1.0, description="latest fraction of rows (by event_timestamp) held out"
    )
    tune_max_rows: int = Field(
        20_000,
        ge=100,
        description="rows sampled from the training part for the search; the "
        "best candidate is then refit on all training rows",
    )
    calibrate_margin: bool = Field(
        True,
        description="after the search, set the winner's safety_margin to the one most likely "
        "to pass the gate's limits, from out-of-fold predictions (ADR 21)",
    )
    margin_folds: int = Field(
        3, ge=2, description="folds of the training part the margin is calibrated on"
    )
    split_dir: Path | None = Field(
        None,
        description="where train.parquet/test.parquet of the time split are written; "
        "None: a temporary folder",
    )


@dataclass(frozen=True)
class Distribution:
    """One hyperparameter's search distribution, as written in the YAML."""

    kind: str  # one of DISTRIBUTIONS, or "constant"
    args: tuple[Any, ...]

    def sample(self, rng) -> Any:
        """Draw one value of this distribution with `rng`."""
        if self.kind == "constant":
            return self.args[0]
        if self.kind == "choice":
            return self.args[int(rng.integers(len(self.args)))]
        low, high = self.args
        if self.kind == "uniform":
            return float(rng.uniform(low, high))
        if self.kind == "loguniform":
            return float(10 ** rng.uniform(_log10(low), _log10(high)))
        return int(rng.integers(low, high + 1))  # randint: both ends included


SearchSpace = dict[str, dict[str, Distribution]]


def _log10(value: float) -> float:
    import math

    return math.log10(value)


class SearchSpaceError(ValueError):
    """The search-space YAML is malformed; the message names file and key."""


def load_search_space(path: str | os.PathLike[str] | None = None) -> SearchSpace:
    """Read and validate a search space: ``{family: {param: spec}}`` where spec is a constant
    or one of ``{uniform|loguniform|randint: [low, high]}`` / ``{choice: [values...]}``."""
    from braking_model.estimator import FAMILIES, tunable_parameters

    if path is None:
        text = resources.files("braking_model").joinpath(DEFAULT_SEARCH_SPACE).read_text()
        source = f"packaged {DEFAULT_SEARCH_SPACE}"
    else:
        source = str(path)
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise SearchSpaceError(f"search space {source}: cannot read ({error})") from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SearchSpaceError(f"search space {source}: invalid YAML ({error})") from error
    if not isinstance(document, dict) or not document:
        raise SearchSpaceError(
            f"search space {source}: expected a mapping of model families "
            f"({', '.join(sorted(FAMILIES))}) to parameters"
        )
    space: SearchSpace = {}
    for family, params in document.items():
        if family not in FAMILIES:
            raise SearchSpaceError(
                f"search space {source}: unknown model family '{family}'; expected one of "
                f"{', '.join(sorted(FAMILIES))}"
            )
        params = params or {}
        if not isinstance(params, dict):
            raise SearchSpaceError(f"search space {source}: '{family}' must map parameters")
        allowed = tunable_parameters(family)
        space[family] = {}
        for name, spec in params.items():
            key = f"{family}.{name}"
            if name not in allowed:
                raise SearchSpaceError(
                    f"search space {source}: unknown parameter '{key}'; {family} accepts "
                    f"{', '.join(sorted(allowed))}"
                )
            space[family][name] = _parse_distribution(spec, f"search space {source}: '{key}'")
    return space


def _parse_distribution(spec: Any, where: str) -> Distribution:
    if not isinstance(spec, dict):
        return Distribution("constant", (spec,))
    if len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise SearchSpaceError(
            f"{where}: expected a constant or one key among {', '.join(DISTRIBUTIONS)}, "
            f"got keys {sorted(map(str, spec))}"
        )
    kind, args = next(iter(spec.items()))
    if not isinstance(args, list) or not args:
        raise SearchSpaceError(f"{where}: {kind} needs a non-empty list, got {args!r}")
    if kind == "choice":
        return Distribution(kind, tuple(args))
    numeric = all(isinstance(a, int | float) and not isinstance(a, bool) for a in args)
    if len(args) != 2 or not numeric or not args[0] <= args[1]:
        raise SearchSpaceError(f"{where}: {kind} needs [low, high] with low <= high, got {args}")
    if kind == "loguniform" and args[0] <= 0:
        raise SearchSpaceError(f"{where}: loguniform needs low > 0, got {args}")
    if kind == "randint" and not all(isinstance(a, int) for a in args):
        raise SearchSpaceError(f"{where}: randint needs integer bounds, got {args}")
    return Distribution(kind, tuple(args))
