"""Hardening benchmark: issue 14's probes replayed against both servers, with their goals.

    python benchmarks/bench_hardening.py --output-dir benchmarks/results [--model-dir outputs/model]
        [--fuzz-requests 10000] [--kill-cycles 3] [--large-rows 2048] [--oversized-rows 55000]

Per server (the inference server and the model registry, each its own process, default
limits): health-check latency while 4 slow-header clients, 500 idle half-request
connections and 30 large valid requests run at once (for the inference server: requests of
`max_rows_per_call` rows; then again with 30 requests of --oversized-rows, a 7 MB body that
must be parsed and refused with 413); the server's RSS growth; the 5xx
count over those probes and over schemathesis-generated requests against the shared OpenAPI
specs. Then `kill -9` of the registry during 8 concurrent writers, repeated: every
acknowledged write must be present, none twice. Writes hardening.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))  # the probes are shared with the tests

from hardening_probes import ProbeSizes, run_probes  # noqa: E402
from hardening_servers import fuzz, inference_target, kill9_cycles, registry_target  # noqa: E402
from machine_info import machine_info  # noqa: E402

from braking_data.contract import MAX_ROWS_PER_CALL  # noqa: E402

GOALS = {"health_p99_ms": 50.0, "rss_growth_mb": 64.0}


def _spec(name: str) -> Path:
    folder = Path(os.environ.get("BRAKING_SHARED_REFERENCE", "/work/shared/reference"))
    return folder / "openapi" / name


def _server_figures(target, sizes: ProbeSizes, spec: Path, fuzz_requests: int) -> dict:
    print(f"== {target.name}: probes", flush=True)
    probes = dataclasses.asdict(run_probes(target, sizes))
    print(json.dumps(probes), flush=True)
    if not fuzz_requests:
        fuzzed: dict = {"skipped": "fuzzed in the other run"}
    elif spec.is_file():
        print(f"== {target.name}: fuzzing {fuzz_requests} requests", flush=True)
        fuzzed = fuzz(target, spec, fuzz_requests)
    else:
        fuzzed = {"skipped": str(spec)}
    print(json.dumps(fuzzed), flush=True)
    return {
        "probes": probes,
        "fuzz": fuzzed,
        "goals": {
            "health_p99_under_50ms": probes["health_ms"]["p99"] < GOALS["health_p99_ms"],
            "rss_growth_under_64mb": probes["rss_mb"]["growth"] < GOALS["rss_growth_mb"],
            "zero_5xx": probes["server_errors"] == 0 and fuzzed.get("5xx", 0) == 0,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--model-dir", type=Path, help="MODEL_DIR holding model.onnx")
    parser.add_argument("--fuzz-requests", type=int, default=10_000, help="per server")
    parser.add_argument("--kill-cycles", type=int, default=3)
    parser.add_argument(
        "--large-rows",
        type=int,
        default=MAX_ROWS_PER_CALL,
        help="rows of a large valid request (the server's max_rows_per_call)",
    )
    parser.add_argument(
        "--oversized-rows",
        type=int,
        default=55_000,
        help="rows of a large request the server must refuse with 413 (0: skip that run)",
    )
    parser.add_argument(
        "--registry-description-bytes",
        type=int,
        default=16_000,
        help="description size of the registry's large (valid) requests",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-hardening-"))
    model_dir = args.model_dir or ROOT / "outputs" / "model"
    if not (model_dir / "model.onnx").is_file():
        from bench_serving import train_small_model

        model_dir = train_small_model(work / "trained")
    sizes = ProbeSizes()
    servers = {}
    with inference_target(model_dir, work, args.large_rows) as target:
        print(f"large inference request: {len(target.large_body) / 1e6:.1f} MB", flush=True)
        spec = _spec("open-inference-rest.yaml")
        servers["inference"] = _server_figures(target, sizes, spec, args.fuzz_requests)
    if args.oversized_rows:
        with inference_target(model_dir, work, args.oversized_rows) as target:
            print(f"oversized inference request: {len(target.large_body) / 1e6:.1f} MB")
            servers["inference-oversized"] = _server_figures(target, sizes, spec, 0)
    with registry_target(work, args.registry_description_bytes) as target:
        spec = _spec("model-registry.yaml")
        servers["registry"] = _server_figures(target, sizes, spec, args.fuzz_requests)
    print(f"== registry: kill -9 during 8 writers x {args.kill_cycles}", flush=True)
    killed = kill9_cycles(work / "kill9", args.kill_cycles) if args.kill_cycles else {}
    output = {
        "benchmark": "hardening",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info("uvicorn", "httptools", "schemathesis"),
        "settings": {
            **dataclasses.asdict(sizes),
            "large_request_rows": args.large_rows,
            "oversized_request_rows": args.oversized_rows,
            "registry_description_bytes": args.registry_description_bytes,
            "fuzz_requests_per_server": args.fuzz_requests,
        },
        "servers": servers,
        "kill9": {
            **killed,
            "goal_every_acknowledged_write_once": bool(killed)
            and killed["missing"] == 0
            and killed["duplicates"] == 0,
        },
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "hardening.json"
    path.write_text(json.dumps(output, indent=2))
    print(json.dumps({name: s["goals"] for name, s in servers.items()}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
