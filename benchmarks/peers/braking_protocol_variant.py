"""Our inference server under another HTTP protocol implementation, for bench_serving to
price braking_common.http_limits: plain httptools (no limits) or h11 (uvicorn's limited parser).

    python benchmarks/peers/braking_protocol_variant.py --model-dir DIR --name N --port P
        --http httptools|h11
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from braking_serving.config import ServerConfig
from braking_serving.server import InferenceServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--http", choices=["httptools", "h11"], required=True)
    args = parser.parse_args()
    config = ServerConfig(models={args.name: args.model_dir}, port=args.port)
    limits = config.http
    options = (
        {"h11_max_incomplete_event_size": limits.max_header_bytes} if args.http == "h11" else {}
    )
    uvicorn.run(
        InferenceServer(config),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http=args.http,
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_keep_alive=limits.keep_alive_seconds,
        **options,
    )


if __name__ == "__main__":
    main()
