"""Each step imports only what it uses: every step is a fresh Python process (a pod on a
cluster, a subprocess on kfp.local), so a library a step loads without needing it costs
its import time on every run (docs/adr/0022)."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap

import pytest
from kfp.dsl.python_component import PythonComponent

from braking_pipelines import components

STEPS = sorted(n for n, v in vars(components).items() if isinstance(v, PythonComponent))
# What fitting, exporting and plotting need; only the search and training steps fit models.
MODEL_LIBRARIES = {"sklearn", "scipy", "skl2onnx", "joblib", "matplotlib"}
FITTING_STEPS = {"tune_shard", "train_model"}
# Steps whose work is on tables: the others move files, call services or use numpy.
TABLE_STEPS = {"split_data", "select_best", "select_best_of_one", "train_model", "tune_shard"}


def loaded_after(code: str) -> set[str]:
    """Top-level packages loaded in a fresh interpreter after running `code`."""
    probe = f"{code}\nimport sys; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def body_imports(step: str) -> str:
    """The import statements of a component's body: what KFP's executor runs first."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(components, step).python_func)))
    imports = (n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom))
    return "\n".join(ast.unparse(node) for node in imports) or "pass"


@pytest.mark.parametrize("step", STEPS)
def test_a_step_imports_no_library_it_does_not_use(step):
    loaded = loaded_after(body_imports(step))
    unused = set() if step in FITTING_STEPS else set(MODEL_LIBRARIES)
    if step not in TABLE_STEPS:
        unused.add("pandas")
    assert not loaded & unused, f"{step} loads {sorted(loaded & unused)}"


def test_generating_data_loads_no_pandas_or_scikit_learn(tmp_path):
    code = f"""
from kfp import dsl
from braking_pipelines.components import generate_data
dataset = dsl.Dataset(name="d", uri={str(tmp_path / "data.parquet")!r}, metadata={{}})
stats = dsl.Metrics(name="s", uri={str(tmp_path / "stats")!r}, metadata={{}})
generate_data.python_func(rows=500, seed=3, dataset=dataset, stats=stats)
"""
    assert not loaded_after(code) & {"pandas", *MODEL_LIBRARIES}


def test_a_generated_promotion_window_loads_no_pandas():
    code = """
from braking_data.scenario import Scenario
from braking_monitoring.challenge import evaluation_window
window = evaluation_window("", "m", "1", 300, 3, Scenario(friction_bias=0.1))
assert window.features.shape == (300, 7) and window.source == "generated"
"""
    assert "pandas" not in loaded_after(code)
