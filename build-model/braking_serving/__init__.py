"""Local Open Inference Protocol server, KServe manifests, deployment and the endpoint client."""
