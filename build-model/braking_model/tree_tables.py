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
    n_features: int  # columns of the input the trees read


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
    baseline = float(np.asarray(model._baseline_prediction).reshape(-1)[0])
    return Ensemble(trees, baseline, int(model.n_features_in_))


@dataclass(frozen=True)
class LevelTables:
    """All trees of several ensembles as one node table, walked one depth level per step.

    Every split reads one *decision* ``x[f] > thresholds[f, s]``: the decisions of all
    distinct thresholds of the model are computed once per row, as a [rows, features x slots]
    table whose column ``f * slots + s`` is `code[node]`. The children of a split are adjacent
    (`right = left + 1`), so one step is ``node = left[node] + decision[code[node]]``. A leaf
    points to itself and reads a padding threshold (+inf: never exceeded), so rows that reached
    it stay there.

    Trees are ordered deepest first, and tree `t` joins the walk at step `start[t]`: each tree
    walks only as many steps as its group's deepest tree needs (see `group_depths`).
    `value[node]` is the leaf's value, `assign[t, e]` 1 when tree `t` belongs to ensemble `e`.
    """

    thresholds: np.ndarray  # [features, slots] float32, ascending per feature, +inf padding
    code: np.ndarray  # [nodes] int32
    left: np.ndarray  # [nodes] int32
    value: np.ndarray  # [nodes] float32
    roots: np.ndarray  # [trees] int32, deepest tree first
    assign: np.ndarray  # [trees, ensembles] float32
    start: np.ndarray  # [trees] int32, non-decreasing
    depth: int  # steps of the whole walk: the deepest tree's depth
    baseline: np.ndarray  # [ensembles] float32


def group_depths(depths: Sequence[int], groups: int) -> list[int]:
    """At most `groups` walk lengths, ascending, the last being max(depths), that minimise the
    steps walked in all when each tree walks the shortest length not below its depth."""
    values = sorted(set(depths))
    trees = [sum(1 for d in depths if d == v) for v in values]
    # best[j]: (steps, lengths) for the trees of depth <= values[j], the longest walking
    # values[j], in as many groups as rounds so far (lowest steps first)
    best = {j: (v * sum(trees[: j + 1]), [v]) for j, v in enumerate(values)}
    answers = [best.get(len(values) - 1)]
    for _ in range(1, groups):
        best = {
            j: min(
                (steps + values[j] * sum(trees[i + 1 : j + 1]), [*lengths, values[j]])
                for i, (steps, lengths) in best.items()
                if i < j
            )
            for j in range(min(best, default=len(values)) + 1, len(values))
        }
        answers.append(best.get(len(values) - 1))
    return min(a for a in answers if a is not None)[1] if values else [0]


def _split_thresholds(trees: Sequence[np.ndarray], n_features: int) -> np.ndarray:
    """The distinct float32 thresholds of each feature, ascending, padded with +inf (at least
    one padding slot per feature: what leaves read)."""
    per_feature: list[set[float]] = [set() for _ in range(n_features)]
    for nodes in trees:
        splits = nodes[~nodes["is_leaf"].astype(bool)]
        thresholds = floor_float32(splits["num_threshold"])
        for feature, threshold in zip(splits["feature_idx"], thresholds, strict=True):
            per_feature[int(feature)].add(float(threshold))
    table = np.full((n_features, max(map(len, per_feature)) + 1), np.inf, dtype=np.float32)
    for feature, values in enumerate(per_feature):
        table[feature, : len(values)] = sorted(values)
    return table


def level_tables(ensembles: Sequence[Ensemble], groups: int = 1) -> LevelTables:
    """The node table of all trees of `ensembles` (see `LevelTables`), walked in at most
    `groups` groups of trees of similar depth."""
    trees = sorted(
        ((e, nodes) for e, ensemble in enumerate(ensembles) for nodes in ensemble.trees),
        key=lambda tree: -int(tree[1]["depth"].max()),
    )
    thresholds = _split_thresholds([nodes for _, nodes in trees], ensembles[0].n_features)
    slots = thresholds.shape[1]
    codes = {
        (f, float(t)): f * slots + s
        for f, row in enumerate(thresholds)
        for s, t in enumerate(row)
        if np.isfinite(t)
    }
    code: list[int] = []
    left: list[int] = []
    value: list[float] = []
    roots: list[int] = []

    def new_node() -> int:  # a leaf until it gets children: it stays put (slot `slots - 1`)
        code.append(slots - 1)
        left.append(len(left))
        value.append(0.0)
        return len(code) - 1

    for _, nodes in trees:
        roots.append(new_node())
        pending = [(0, roots[-1])]
        while pending:
            source, target = pending.pop()
            node = nodes[source]
            if node["is_leaf"]:
                value[target] = float(node["value"])
                continue
            children = new_node(), new_node()
            threshold = float(floor_float32(node["num_threshold"]))
            code[target] = codes[int(node["feature_idx"]), threshold]
            left[target] = children[0]
            pending += [(int(node["left"]), children[0]), (int(node["right"]), children[1])]
    depths = [int(nodes["depth"].max()) for _, nodes in trees]
    lengths = group_depths(depths, groups)
    walked = [min(length for length in lengths if length >= d) for d in depths]
    return LevelTables(
        thresholds=thresholds,
        code=np.asarray(code, dtype=np.int32),
        left=np.asarray(left, dtype=np.int32),
        value=np.asarray(value, dtype=np.float32),
        roots=np.asarray(roots, dtype=np.int32),
        assign=np.eye(len(ensembles), dtype=np.float32)[[e for e, _ in trees]],
        start=np.asarray([lengths[-1] - w for w in walked], dtype=np.int32),
        depth=lengths[-1],
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
