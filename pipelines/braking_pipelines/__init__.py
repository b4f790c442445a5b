"""Kubeflow Pipelines v2 components and pipeline: local runs, compile, submit, schedule."""
