"""One version string: pyproject's. Everything else reads it or is checked against it."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml

from braking_pipelines.config import DEFAULT_BASE_IMAGE
from braking_serving import __version__ as serving_version

REPO_ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE_TAG = re.compile(r"braking-distance:(\d+\.\d+\.\d+)")


def test_the_installed_package_and_the_server_report_pyprojects_version():
    assert version("braking-distance") == VERSION
    assert serving_version == VERSION


def test_the_default_pipeline_image_is_tagged_with_it():
    assert DEFAULT_BASE_IMAGE.endswith(f":{VERSION}")


def test_the_workbench_chart_app_version_is_it():
    chart = yaml.safe_load((REPO_ROOT / "workbenches" / "Chart.yaml").read_text())
    assert chart["appVersion"] == VERSION


def test_every_documented_image_tag_is_it():
    documents = ["README.md", "Containerfile", "pipelines/README.md"]
    tags = {
        (name, tag)
        for name in documents
        for tag in IMAGE_TAG.findall((REPO_ROOT / name).read_text(encoding="utf-8"))
    }
    assert tags and all(tag == VERSION for _, tag in tags), sorted(tags)
