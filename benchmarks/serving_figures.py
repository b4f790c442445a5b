"""Figures derived from bench_serving.py's measurements: comparison with peers, feature costs."""

from __future__ import annotations


def cell_of(result: dict, rows: int, concurrency: int) -> dict:
    return next(c for c in result["cells"] if c["rows"] == rows and c["concurrency"] == concurrency)


def compare(results: dict, ours: list[str], peer_labels: list[str]) -> dict:
    """Our best against the best peer: 1-row at c=16 (req/s, p99) and 64-row rows/s."""
    available = [label for label in peer_labels if label in results]
    if not available:
        return {}
    summary = {}
    for key, rows, metric in (
        ("one_row_c16", 1, "requests_per_s"),
        ("rows64_best", 64, "rows_per_s"),
    ):

        def best(labels, rows=rows, metric=metric):
            cells = [c for label in labels for c in results[label]["cells"] if c["rows"] == rows]
            if rows == 1:
                cells = [c for c in cells if c["concurrency"] == 16]
            return max(cells, key=lambda c: c[metric])

        ours_best, peer_best = best(ours), best(available)
        summary[key] = {
            "metric": metric,
            "ours": ours_best[metric],
            "best_peer": peer_best[metric],
            "ratio": round(ours_best[metric] / peer_best[metric], 2),
            "ours_p99_ms": ours_best["p99_ms"],
        }
    summary["goal_one_row_c16_4x_and_p99_under_10ms"] = (
        summary["one_row_c16"]["ratio"] >= 4 and summary["one_row_c16"]["ours_p99_ms"] < 10
    )
    summary["goal_rows64_3x"] = summary["rows64_best"]["ratio"] >= 3
    return summary


# Features the base server has and its variant lacks; the other variants add theirs.
BASE_HAS = ("metrics", "http_limits", "batching")


def feature_costs(results: dict, base: str, variants: dict[str, str]) -> dict:
    """Per-request cost of each feature at 1 row, concurrency 16: difference in server CPU
    and in 1/throughput (negative: the feature saves time)."""
    costs = {}
    for feature, label in variants.items():
        if label not in results:
            continue
        with_feature, without = (
            (cell_of(results[base], 1, 16), cell_of(results[label], 1, 16))
            if feature in BASE_HAS
            else (cell_of(results[label], 1, 16), cell_of(results[base], 1, 16))
        )
        costs[feature] = {
            "cpu_us_per_request": round(
                with_feature["server_cpu_us_per_request"] - without["server_cpu_us_per_request"], 1
            ),
            "wall_us_per_request": round(
                1e6 / with_feature["requests_per_s"] - 1e6 / without["requests_per_s"], 1
            ),
            "cpu_share": round(
                with_feature["server_cpu_us_per_request"] / without["server_cpu_us_per_request"]
                - 1,
                3,
            ),
            "requests_per_s_with": with_feature["requests_per_s"],
            "requests_per_s_without": without["requests_per_s"],
            "p50_ms_with": with_feature["p50_ms"],
            "p50_ms_without": without["p50_ms"],
        }
    return costs


def batching_effect(results: dict, base: str, without: str) -> dict:
    """1-row requests with and without dynamic batching, at each measured concurrency."""
    if base not in results or without not in results:
        return {}
    effect = {}
    for cell in results[base]["cells"]:
        if cell["rows"] != 1:
            continue
        other = cell_of(results[without], 1, cell["concurrency"])
        effect[f"c{cell['concurrency']}"] = {
            key: {"batching": cell[key], "no_batching": other[key]}
            for key in ("requests_per_s", "p50_ms", "p99_ms", "server_cpu_us_per_request")
        }
    return effect
