"""Entry point of the `braking` console script.

Each stage package owns its commands in its `cli.py` (`register(app)`), keeping heavy
imports (scikit-learn, onnxruntime, kfp) inside the command bodies so `--help` stays fast.
"""

from __future__ import annotations

import typer

from braking_data import cli as data_cli
from braking_feedback import cli as feedback_cli
from braking_model import cli as model_cli
from braking_pipelines import cli as pipelines_cli
from braking_registry import cli as registry_cli
from braking_release import cli as release_cli
from braking_serving import cli as serving_cli
from braking_stack import cli as stack_cli

app = typer.Typer(
    name="braking",
    help="Automated-braking ML application: generate sensor data, train, gate, register, "
    "serve and orchestrate the braking model, locally or on OpenShift AI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

for stage_cli in (
    data_cli,
    model_cli,
    release_cli,
    registry_cli,
    serving_cli,
    stack_cli,
    pipelines_cli,
    feedback_cli,
):
    stage_cli.register(app)


if __name__ == "__main__":
    app()
