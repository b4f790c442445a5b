"""Local Open Inference Protocol server, KServe manifests, deployment and the endpoint client."""

from importlib.metadata import version

# The one version string is pyproject's; the installed distribution's metadata carries it.
__version__ = version("braking-distance")
