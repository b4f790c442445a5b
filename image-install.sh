#!/bin/sh
# The pipeline image's install steps: the Containerfile runs this script, and so does
# tests/pipelines/test_pipeline_image_execution.py in a fresh virtualenv, so the image and
# the test install the same thing and cannot drift apart.
#
# Run it in the folder holding pyproject.toml, requirements.lock and the package folders.
# PIP_INSTALL is the installer: pip without a cache in the image (the default); the test
# passes `uv pip install --python <venv>` so it reuses the machine's package cache.
set -eu

# Runtime dependencies only (no dev/notebook extras), pinned by the lock file as constraints.
${PIP_INSTALL:-pip install --no-cache-dir} -c requirements.lock .
# Every package imports and the CLI starts: a missing dependency fails the build here.
braking --help > /dev/null
