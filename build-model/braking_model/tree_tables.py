"""Fitted gradient-boosted trees as flat numpy tables, the input of `tree_graph`'s layouts.

scikit-learn's `HistGradientBoostingRegressor` sends a row left when `x <= threshold`, with
float64 thresholds and float64 features. The graph sees float32 features, so each threshold is
rounded *down* to the largest float32 not above it: for every float32 `x`,
`x <= t64` exactly when `x <= floor32(t64)`. Rounding to nearest would send rows sitting on a
threshold the other way (off by up to 8e-4 in a prediction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor


def floor_float32(values: np.ndarray) -> np.ndarray:
    """The largest float32 not above each float64 value."""
    values = np.asarray(values, dtype=np.float64)
    rounded = values.astype(np.float32)
    above = rounded.astype(np.float64) > values
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


@dataclass(frozen=True)
class Ensemble:
    """One boosted model: its trees (scikit-learn predictor node records) and its baseline."""

    trees: tuple[np.ndarray, ...]
    baseline: float


def hist_gradient_boosting_ensemble(model: HistGradientBoostingRegressor) -> Ensemble:
    """The trees of a fitted squared-error `HistGradientBoostingRegressor` on numeric features."""
    if model.loss != "squared_error":
        raise ValueError(
            f"HistGradientBoostingRegressor loss {model.loss!r} cannot be exported; "
            "expected 'squared_error' (identity link)"
        )
    trees = tuple(predictors[0].nodes for predictors in model._predictors)
    if any(tree["is_categorical"].any() for tree in trees):
        raise ValueError("categorical splits cannot be exported; expected numeric features only")
    return Ensemble(trees, float(np.asarray(model._baseline_prediction).reshape(-1)[0]))


@dataclass(frozen=True)
class LevelTables:
    """All trees of several ensembles as one node table, walked one depth level per step.

    The children of a split are adjacent (`right = left + 1`), so one step is
    ``node = left[node] + (x[feature[node]] > threshold[node])``. A leaf points to itself
    with a +inf threshold, so rows that reached it stay there for the remaining steps.
    `value[node, e]` is the leaf's value in ensemble `e` (0 in the others).
    """

    feature: np.ndarray  # [nodes] int64
    threshold: np.ndarray  # [nodes] float32
    left: np.ndarray  # [nodes] int64
    value: np.ndarray  # [nodes, ensembles] float32
    roots: np.ndarray  # [trees] int64
    depth: int  # steps from the roots to the deepest leaf
    baseline: np.ndarray  # [ensembles] float32


def level_tables(ensembles: Sequence[Ensemble]) -> LevelTables:
    """The node table of all trees of `ensembles`, in order (see `LevelTables`)."""
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    value: list[list[float]] = []
    roots: list[int] = []

    def new_node() -> int:
        feature.append(0)
        threshold.append(np.inf)
        left.append(len(left))
        value.append([0.0] * len(ensembles))
        return len(feature) - 1

    depth = 0
    for e, ensemble in enumerate(ensembles):
        for nodes in ensemble.trees:
            depth = max(depth, int(nodes["depth"].max()))
            roots.append(new_node())
            pending = [(0, roots[-1])]
            while pending:
                source, target = pending.pop()
                node = nodes[source]
                if node["is_leaf"]:
                    value[target][e] = float(node["value"])
                    continue
                children = new_node(), new_node()
                feature[target] = int(node["feature_idx"])
                threshold[target] = float(floor_float32(node["num_threshold"]))
                left[target] = children[0]
                pending += [(int(node["left"]), children[0]), (int(node["right"]), children[1])]
    return LevelTables(
        feature=np.asarray(feature, dtype=np.int64),
        threshold=np.asarray(threshold, dtype=np.float32),
        left=np.asarray(left, dtype=np.int64),
        value=np.asarray(value, dtype=np.float32),
        roots=np.asarray(roots, dtype=np.int64),
        depth=depth,
        baseline=np.asarray([e.baseline for e in ensembles], dtype=np.float32),
    )


@dataclass(frozen=True)
class MatrixTables:
    """All trees as padded matrices: every split evaluated at once, leaves found by a product.

    `select[f, t * splits + s]` is 1 when split `s` of tree `t` reads feature `f`.
    `path[t, s, l]` is +1 when leaf `l` lies left of split `s`, -1 when right of it, so the
    decisions `d = (x <= threshold)` reach leaf `l` exactly when `d @ path == lefts[l]`
    (padding: threshold +inf, no path, lefts -1, so a padded leaf is never reached).
    """

    select: np.ndarray  # [features, trees * splits] float32, one-hot columns
    threshold: np.ndarray  # [trees, splits] float32
    path: np.ndarray  # [trees, splits, leaves] float32
    lefts: np.ndarray  # [trees, 1, leaves] float32
    value: np.ndarray  # [trees, 1, leaves] float32
    assign: np.ndarray  # [trees, ensembles] float32, 1 where a tree belongs to an ensemble
    baseline: np.ndarray  # [ensembles] float32


def matrix_tables(ensembles: Sequence[Ensemble], n_features: int) -> MatrixTables:
    """The padded matrices of all trees of `ensembles`, in order (see `MatrixTables`)."""
    trees = [(e, nodes) for e, ensemble in enumerate(ensembles) for nodes in ensemble.trees]
    splits = max(int((~nodes["is_leaf"].astype(bool)).sum()) for _, nodes in trees) or 1
    leaves = max(int(nodes["is_leaf"].sum()) for _, nodes in trees)
    select = np.zeros((n_features, len(trees) * splits), dtype=np.float32)
    threshold = np.full((len(trees), splits), np.inf, dtype=np.float32)
    path = np.zeros((len(trees), splits, leaves), dtype=np.float32)
    lefts = np.full((len(trees), 1, leaves), -1.0, dtype=np.float32)
    value = np.zeros((len(trees), 1, leaves), dtype=np.float32)
    assign = np.zeros((len(trees), len(ensembles)), dtype=np.float32)
    for t, (e, nodes) in enumerate(trees):
        assign[t, e] = 1.0
        split_ids: dict[int, int] = {}
        pending: list[tuple[int, list[tuple[int, float]]]] = [(0, [])]
        while pending:
            source, ancestors = pending.pop()
            node = nodes[source]
            if node["is_leaf"]:
                leaf = int((lefts[t, 0] >= 0).sum())
                lefts[t, 0, leaf] = sum(1.0 for _, side in ancestors if side > 0)
                value[t, 0, leaf] = float(node["value"])
                for split, side in ancestors:
                    path[t, split, leaf] = side
                continue
            split = split_ids.setdefault(source, len(split_ids))
            select[int(node["feature_idx"]), t * splits + split] = 1.0
            threshold[t, split] = floor_float32(node["num_threshold"])
            pending.append((int(node["left"]), [*ancestors, (split, 1.0)]))
            pending.append((int(node["right"]), [*ancestors, (split, -1.0)]))
    return MatrixTables(
        select, threshold, path, lefts, value, assign,
        np.asarray([e.baseline for e in ensembles], dtype=np.float32),
    )  # fmt: skip
