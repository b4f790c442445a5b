"""Each component's body called through `.python_func` on artifacts under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from kfp import dsl

from braking_data.schema import read_dataset
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
