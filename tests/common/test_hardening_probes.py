"""Issue 14's probes, small: both servers as their own processes hold against slow-header
clients, idle half-requests and large valid requests at once (no 5xx, health keeps
answering, memory bounded), fuzzing finds no 5xx, and a registry killed with SIGKILL during
8 writers keeps every acknowledged write exactly once. Full size: bench_hardening.py."""

from __future__ import annotations

import pytest
from hardening_probes import ProbeSizes, run_probes
from hardening_servers import fuzz, inference_target, kill9_cycles, registry_target
from serving_fixtures import _export_tiny_model

from braking_data.contract import MAX_ROWS_PER_CALL

pytestmark = pytest.mark.slow
SIZES = ProbeSizes(
    slow_header_connections=2,
    slow_header_bytes=4 << 20,
    idle_connections=60,
    large_requests=4,
    min_seconds=5.0,
)
SHORT_DEADLINES = {"BRAKING_HTTP_HEADER_TIMEOUT_SECONDS": "2"}


def _assert_held(result) -> None:
    assert result.server_errors == 0
    assert set(result.health_statuses) == {200}
    assert set(result.large_statuses) == {200}
    # Endless headers are cut off: 431, or a reset when the client is still sending after
    # the server read 1 MiB more, or 408 when a busy machine slows the sender enough for the
    # header deadline to come first (a limited server never leaves one waiting or answered).
    cut_off = {"431", "408", "reset"}
    assert set(result.slow_header_answers) <= cut_off, result.slow_header_answers
    # Half requests are closed by the server's header deadline, then reopened.
    assert result.idle_connections_closed_by_server >= SIZES.idle_connections
    assert result.rss_mb["growth"] < 64, result.rss_mb


def test_inference_server_holds_and_fuzzing_finds_no_5xx(tmp_path, shared_reference):
    model_dir = _export_tiny_model(tmp_path / "model")
    rows = MAX_ROWS_PER_CALL  # the largest request the server accepts
    with inference_target(model_dir, tmp_path, rows, SHORT_DEADLINES) as target:
        _assert_held(run_probes(target, SIZES))
        counts = fuzz(target, shared_reference / "openapi" / "open-inference-rest.yaml", 600)
    assert counts["5xx"] == 0 and counts["requests"] > 100, counts


def test_registry_holds_and_fuzzing_finds_no_5xx(tmp_path, shared_reference):
    with registry_target(tmp_path, 16_000, SHORT_DEADLINES) as target:
        _assert_held(run_probes(target, SIZES))
        counts = fuzz(target, shared_reference / "openapi" / "model-registry.yaml", 600)
    assert counts["5xx"] == 0 and counts["requests"] > 100, counts


def test_registry_killed_during_eight_writers_keeps_every_acknowledged_write(tmp_path):
    result = kill9_cycles(tmp_path, cycles=1)
    assert result["acknowledged_writes"] > 0, result
    assert result["missing"] == 0 and result["duplicates"] == 0, result
