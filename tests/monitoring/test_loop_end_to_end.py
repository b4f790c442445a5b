"""The whole loop on a real embedded stack (registry, inference server, collector processes):
serve, drifted traffic, alarm, retrain, compare, promote or keep, and rollback."""

from __future__ import annotations

import socket

import httpx
import pytest

from braking_data.scenario import Scenario
from braking_feedback.champion import rollback
from braking_feedback.loop import SERVICES, run_loop
from braking_monitoring import champions as champion
from braking_release.config import DeployConfig, LocalServingTarget, RegistrationConfig
from braking_release.register import connect
from braking_stack.config import StackConfig
from braking_stack.stack import stack_down


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_loop_raises_the_alarm_retrains_and_records_the_decision(tmp_path, repo_root):
    stack = StackConfig(
        dir=tmp_path / "stack",
        registry_port=_free_port(),
        serving_port=_free_port(),
        monitoring_port=_free_port(),
        services=SERVICES,
    )
    steps: list[str] = []
    try:
        result = run_loop(
            stack, tmp_path / "work", Scenario(condition_shares={"ice": 0.3}),
            rows=3000, seed=3, window_rows=300, say=steps.append,
            search_space=repo_root / "tests" / "pipelines" / "tiny_search_space.yaml",
        )  # fmt: skip
        assert result.alarm, steps
        assert [s.split()[0] for s in steps] == [
            "serve", "serve", "serve", "drift", "alarm", "labels", "retrain", "compare", "decision"
        ], steps  # fmt: skip
        assert result.decision is not None and result.decision.evidence.rows == 600
        registration = RegistrationConfig(registry_url=stack.registry_url)
        registry = connect(registration)
        version = registry.get_model_version(registration.model_name, result.challenger)
        recorded = version.custom_properties["promotion.decision"]
        assert recorded == ("promote" if result.decision.promote else "keep")
        if "challenger failed the validation gate" in result.decision.reasons:
            # on record with its verdict, archived so that nothing ever serves it
            assert not result.decision.promote and version.state.value == "ARCHIVED"
            assert champion.champions(registration).champion == result.champion
            return
        state = champion.champions(registration)
        if result.decision.promote:
            assert (state.champion, state.previous) == (result.challenger, result.champion)
            local = LocalServingTarget(
                server_url=stack.serving_url, repository=stack.model_repository
            )
            deploy = DeployConfig(local=local)
            assert rollback(registration, deploy).version == result.champion
            ready = httpx.get(f"{stack.serving_url}/v2/models/{registration.model_name}/ready")
            assert ready.json()["version"] == result.champion
        else:
            assert state.champion == result.champion
    finally:
        stack_down(stack)
