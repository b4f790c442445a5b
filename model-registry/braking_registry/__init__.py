"""Embedded Kubeflow Model Registry server and the model registration step."""
