"""No file tracked by git carries a real credential: Secrets and generators hold placeholders.

Checked: every YAML document of kind Secret (`data` decoded, `stringData`), every kustomize
`secretGenerator` literal and committed env file, every `*.env*` file, and any text file for
well-known key formats (AWS access key ids, PEM private keys).
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

CREDENTIAL_KEY = re.compile(
    r"pass(word)?|secret|token|key_id|access_?key|credential|api_?key|private", re.IGNORECASE
)
PLACEHOLDER = re.compile(r"^(|<[^<>]+>|\$\{[A-Z0-9_]+\}|\$[A-Z0-9_]+)$")
WELL_KNOWN_SECRETS = {
    "AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "PEM private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


def committed_files(root: Path) -> list[Path]:
    """Tracked and untracked-but-not-ignored files (git-ignored *.env hold real values)."""
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout: cannot tell committed files from ignored ones")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    return [root / name for name in listed.split("\0") if name and (root / name).is_file()]


def credential_problems(key: str, value: Any, where: str) -> Iterator[str]:
    if CREDENTIAL_KEY.search(key) and not PLACEHOLDER.match(str(value)):
        yield f"{where}: {key} holds a value, expected a placeholder like <{key.lower()}>"


def secret_problems(doc: dict[str, Any], where: str) -> Iterator[str]:
    for key, encoded in (doc.get("data") or {}).items():
        try:
            value = base64.b64decode(str(encoded), validate=True).decode()
        except ValueError:
            value = str(encoded)
        yield from credential_problems(key, value, f"{where} data")
    for key, value in (doc.get("stringData") or {}).items():
        yield from credential_problems(key, value, f"{where} stringData")


def env_problems(text: str, where: str) -> Iterator[str]:
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            yield from credential_problems(key.strip(), value.strip(), where)


def generator_problems(doc: dict[str, Any], folder: Path, committed: set[Path], where: str):
    for generator in doc.get("secretGenerator") or []:
        for literal in generator.get("literals") or []:
            yield from env_problems(literal, f"{where} literal")
        for env in [*(generator.get("envs") or []), *(generator.get("files") or [])]:
            path = (folder / str(env).split("=")[-1]).resolve()
            if path in committed:
                yield from env_problems(path.read_text(), str(path))


def yaml_problems(path: Path, committed: set[Path], root: Path) -> Iterator[str]:
    where = str(path.relative_to(root))
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]
    except yaml.YAMLError:
        return  # Helm templates are not YAML; their rendered Secrets are checked on render
    for doc in docs:
        if doc.get("kind") == "Secret":
            yield from secret_problems(doc, where)
        yield from generator_problems(doc, path.parent, committed, where)


def repository_problems(root: Path) -> list[str]:
    files = committed_files(root)
    committed = {f.resolve() for f in files}
    problems: list[str] = []
    for path in files:
        where = str(path.relative_to(root))
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for name, pattern in WELL_KNOWN_SECRETS.items():
            if pattern.search(text):
                problems.append(f"{where}: contains what looks like a {name}")
        if path.suffix in (".yaml", ".yml"):
            problems.extend(yaml_problems(path, committed, root))
        elif ".env" in path.name:
            problems.extend(env_problems(text, where))
    return problems


def test_no_committed_secret_holds_a_credential(repo_root: Path) -> None:
    assert repository_problems(repo_root) == []


def test_the_check_catches_real_values() -> None:
    encoded = base64.b64encode(b"wJalrXUtnFEMI/K7MDENG").decode()
    secret = {"kind": "Secret", "data": {"AWS_SECRET_ACCESS_KEY": encoded, "AWS_S3_BUCKET": "Yg=="}}
    assert len(list(secret_problems(secret, "s.yaml"))) == 1
    assert list(secret_problems({"stringData": {"password": "<password>"}}, "s.yaml")) == []
    assert len(list(env_problems("DB_PASSWORD=hunter2\nHOST=db", "x.env"))) == 1
    literal = {"secretGenerator": [{"name": "x", "literals": ["api_key=abc123"]}]}
    assert len(list(generator_problems(literal, Path("."), set(), "k.yaml"))) == 1


def test_the_check_reads_committed_generator_env_files(tmp_path: Path) -> None:
    env = tmp_path / "creds.env"
    env.write_text("AWS_ACCESS_KEY_ID=" + "AKIA" + "EXAMPLE" * 2 + "12\n")  # split: self-scan
    doc = {"secretGenerator": [{"name": "c", "envs": ["creds.env"]}]}
    assert list(generator_problems(doc, tmp_path, {env.resolve()}, "k.yaml"))
    assert not list(generator_problems(doc, tmp_path, set(), "k.yaml")), "ignored files are private"
