"""Local Open Inference Protocol server, KServe manifests, deployment and the endpoint client."""

__version__ = "0.1.0"
