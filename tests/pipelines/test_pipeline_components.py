"""Each component's body called through `.python_func` on artifacts under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from kfp import dsl

from braking_data.schema import read_dataset
from braking_model.model_dir import GATE_FILE, ONNX_FILE
from braking_pipelines import components


def artifact(kind: type, tmp_path: Path, name: str):
    return kind(name=name, uri=str(tmp_path / name), metadata={})


def test_generate_data_writes_a_valid_dataset_and_logs_label_stats(tmp_path):
    dataset = artifact(dsl.Dataset, tmp_path, "dataset")
    stats = artifact(dsl.Metrics, tmp_path, "stats")

    components.generate_data.python_func(rows=300, seed=5, dataset=dataset, stats=stats)

    frame = read_dataset(dataset.path)
    assert len(frame) == 300
    assert dataset.metadata["rows"] == 300
    assert len(dataset.metadata["sha256"]) == 64
    assert sum(v for k, v in stats.metadata.items() if k.endswith("_rows")) == 300
    assert all(0.0 <= v <= 1.0 for k, v in stats.metadata.items() if k.endswith("_mean_brake"))


def test_generate_data_is_reproducible_per_seed(tmp_path):
    digests = []
    for run in ("a", "b"):
        dataset = artifact(dsl.Dataset, tmp_path / run, "dataset")
        stats = artifact(dsl.Metrics, tmp_path / run, "stats")
        components.generate_data.python_func(rows=200, seed=9, dataset=dataset, stats=stats)
        digests.append(dataset.metadata["sha256"])
    assert digests[0] == digests[1]


def test_plan_shards_lists_one_index_per_shard():
    assert components.plan_shards.python_func(shard_count=1) == [0]
    assert components.plan_shards.python_func(shard_count=3) == [0, 1, 2]


def test_plan_shards_rejects_zero_shards_naming_the_parameter():
    with pytest.raises(ValueError, match=r"tuning_shards=0: expected an integer >= 1"):
        components.plan_shards.python_func(shard_count=0)


def test_training_steps_chain_from_data_to_a_gated_model(tmp_path, tiny_search, open_gate):
    data, stats = artifact(dsl.Dataset, tmp_path, "data"), artifact(dsl.Metrics, tmp_path, "s")
    components.generate_data.python_func(rows=1200, seed=3, dataset=data, stats=stats)
    train, test = artifact(dsl.Dataset, tmp_path, "train"), artifact(dsl.Dataset, tmp_path, "test")
    components.split_data.python_func(dataset=data, test_fraction=0.25, train=train, test=test)
    assert (train.metadata["rows"], test.metadata["rows"]) == (900, 300)

    shards = [artifact(dsl.Dataset, tmp_path, f"trials-{i}") for i in range(2)]
    for index, trials in enumerate(shards):
        components.tune_shard.python_func(
            train=train,
            shard_index=index,
            shard_count=2,
            search_iterations=3,
            cv_folds=2,
            seed=3,
            trials=trials,
        )
    # Three candidates dealt round-robin over two shards: 2 + 1 trials.
    assert [t.metadata["trials"] for t in shards] == [2, 1]

    best = artifact(dsl.Artifact, tmp_path, "best")
    merged = artifact(dsl.Dataset, tmp_path, "merged")
    search = artifact(dsl.Metrics, tmp_path, "search")
    components.select_best.python_func(
        trials=shards, gate_thresholds={}, best_trial=best, all_trials=merged, metrics=search
    )
    assert search.metadata["trials"] == 3
    assert best.metadata["family"] == "hist_gradient_boosting"
    assert search.metadata["best_mean_cv_rmse"] == best.metadata["mean_cv_rmse"] > 0

    model, metrics = artifact(dsl.Model, tmp_path, "model"), artifact(dsl.Metrics, tmp_path, "m")
    components.train_model.python_func(
        train=train,
        test=test,
        best_trial=best,
        all_trials=merged,
        seed=3,
        model=model,
        metrics=metrics,
    )
    assert (Path(model.path) / ONNX_FILE).is_file()
    assert model.metadata["framework"] == "onnx"
    assert 0 < metrics.metadata["rmse"] < 1
    assert all(isinstance(v, float) for v in metrics.metadata.values())

    def gate(thresholds: dict, name: str):
        validated = artifact(dsl.Model, tmp_path, f"{name}-model")
        verdict = artifact(dsl.Metrics, tmp_path, f"{name}-verdict")
        card = artifact(dsl.Markdown, tmp_path, f"{name}-card")
        passed = components.validate_model.python_func(
            model=model,
            test=test,
            gate_thresholds=thresholds,
            validated_model=validated,
            verdict=verdict,
            model_card=card,
        )
        return passed, validated, verdict, card

    passed, validated, verdict, card = gate({"min_r2": 2.0}, "strict")
    assert passed is False
    assert verdict.metadata["r2"] is False
    assert any(reason.startswith("r2:") for reason in verdict.metadata["reasons"])
    assert (Path(validated.path) / GATE_FILE).is_file()
    assert Path(card.path).read_text().strip()
    # The gate writes into its copy, never into the trained model it was given.
    assert not (Path(model.path) / GATE_FILE).exists()

    passed, validated, verdict, _ = gate(open_gate, "open")
    assert passed is True
    assert verdict.metadata["reasons"] == []
    assert validated.metadata["gate_passed"] is True
