"""The stack serves a real model."""

from serving_fixtures import serving_model_dir  # noqa: F401
