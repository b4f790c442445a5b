"""The root Containerfile builds the image the pipeline steps run."""

from __future__ import annotations

import re
import tomllib

from braking_pipelines.config import DEFAULT_BASE_IMAGE


def test_image_copies_every_package_folder_and_installs_the_project(repo_root):
    containerfile = (repo_root / "Containerfile").read_text()
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    copied = set(re.findall(r"^COPY \S+ ([\w.-]+)/ ", containerfile, flags=re.MULTILINE))
    assert set(pyproject["tool"]["setuptools"]["packages"]["find"]["where"]) <= copied
    assert re.search(r"^RUN sh image-install\.sh$", containerfile, re.MULTILINE)
    steps = (repo_root / "image-install.sh").read_text()
    install = r"^\$\{PIP_INSTALL:-pip install --no-cache-dir\} -c requirements\.lock \.$"
    assert re.search(install, steps, re.MULTILINE)


def test_images_are_pinned_and_the_container_is_not_root(repo_root):
    containerfile = (repo_root / "Containerfile").read_text()
    (base,) = re.findall(r"^ARG BASE_IMAGE=(\S+)$", containerfile, flags=re.MULTILINE)
    for image in (base, DEFAULT_BASE_IMAGE):
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image
    users = re.findall(r"^USER (\S+)$", containerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("0", "root")
