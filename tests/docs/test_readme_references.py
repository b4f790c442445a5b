"""Every command, make target and path the README names exists: docs that lie are bugs."""

from __future__ import annotations

import dataclasses
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import typer
from pydantic import BaseModel
from settings_reference import settings_classes
from typer.testing import CliRunner

from braking_cli.main import app
from braking_release.config import RENAMED_VARIABLES

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")

# Top-level entries of the repository that the README may point into.
REPO_TOP = {path.name for path in REPO_ROOT.iterdir() if not path.name.startswith(".")}
GENERATED = ("outputs/", "benchmarks/results/")  # written by runs, not committed
PLACEHOLDER = re.compile(r"[<>]")


def _code_lines() -> list[str]:
    """Shell lines of the README's fenced code blocks and inline code spans."""
    blocks = re.findall(r"```(?:bash|sh|shell|console)\n(.*?)```", TEXT, flags=re.S)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    lines += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", TEXT, flags=re.S))
    return [line.split("#", 1)[0].strip() for line in lines if line.strip()]


def _braking_commands() -> dict[str, tuple[list[str], list[str]]]:
    """`braking sub [subsub]` -> (command words, options named with it)."""
    commands: dict[str, tuple[list[str], list[str]]] = {}
    for line in _code_lines():
        for part in re.split(r"\s*(?:&&|\||;)\s*", line):
            if not part.startswith("braking "):
                continue
            words = shlex.split(part)[1:]
            path = []
            for word in words:
                if word.startswith("-") or PLACEHOLDER.search(word) or "=" in word:
                    break
                path.append(word)
            options = [w.split("=", 1)[0] for w in words if w.startswith("--") and w != "--help"]
            key = " ".join(path)
            known = commands.setdefault(key, (path, []))[1]
            known.extend(option for option in options if option not in known)
    return commands


def _make_targets() -> list[str]:
    targets = set()
    for line in _code_lines():
        match = re.match(r"^make ([a-z][\w-]*)", line)
        if match:
            targets.add(match.group(1))
    return sorted(targets)


def _paths() -> list[str]:
    """Relative link targets and code spans that name a file or folder of the repository."""
    found = {
        target.split("#", 1)[0]
        for target in re.findall(r"\]\(([^)\s]+)\)", TEXT)
        if not re.match(r"^(https?:|mailto:|#)", target)
    }
    for span in re.findall(r"`([^`\s]+)`", TEXT):
        first = span.split("/", 1)[0]
        if first in REPO_TOP and not PLACEHOLDER.search(span) and "*" not in span:
            found.add(span)
    return sorted(path for path in found if path and not path.startswith(GENERATED))


COMMANDS = _braking_commands()


def test_the_readme_names_commands_targets_and_paths() -> None:
    # the extraction itself must find what the README is about, or every test below is vacuous
    assert {"pipeline submit", "pipeline schedule", "predict"} <= set(COMMANDS)
    assert {"run", "test", "notebooks"} <= set(_make_targets())
    assert "data-generation/braking_data/contract.py" in _paths()


def test_quick_start_is_exactly_the_two_commands() -> None:
    section = TEXT.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    assert commands == ["make run", "make test"]


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=lambda command: command or "braking")
def test_documented_braking_command_exists(command: str) -> None:
    words, options = COMMANDS[command]
    result = CliRunner().invoke(app, [*words, "--help"], terminal_width=200)
    assert result.exit_code == 0, f"`braking {command} --help` failed:\n{result.output}"
    for option in options:
        assert option in result.output, f"`braking {command}` has no option {option}"


@pytest.mark.parametrize("target", _make_targets())
def test_documented_make_target_exists(target: str) -> None:
    result = subprocess.run(
        ["make", "-n", target], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"`make {target}`: {result.stderr.strip()}"


@pytest.mark.parametrize("path", _paths())
def test_documented_path_exists(path: str) -> None:
    assert (README.parent / path).exists(), f"README names {path}, which does not exist"


def _known_environment() -> tuple[set[str], set[str]]:
    """(variables, prefixes) the code reads: CLI options' envvars and settings fields."""
    variables: set[str] = set()
    pending = [typer.main.get_command(app)]
    while pending:
        command = pending.pop()
        pending.extend(getattr(command, "commands", {}).values())  # a group's subcommands
        for param in command.params:
            envvars = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            variables.update(name for name in envvars if name)
    variables.update(RENAMED_VARIABLES)  # read too: a variable set under its old name is refused
    prefixes = set()
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        prefixes.add(prefix)
        variables.update(f"{prefix}{field}".upper() for field in cls.model_fields)
        delimiter = cls.model_config.get("env_nested_delimiter")
        if delimiter:
            for field, info in cls.model_fields.items():
                variables.update(
                    f"{prefix}{field}{delimiter}{part}".upper() for part in _parts(info.default)
                )
    return variables, prefixes


def _parts(default: object) -> list[str]:
    """The field names of a nested settings value (a pydantic model or a dataclass)."""
    if isinstance(default, BaseModel):
        return list(type(default).model_fields)
    if dataclasses.is_dataclass(default):
        return [field.name for field in dataclasses.fields(default)]
    return []


FOLDER_READMES = sorted(
    path.relative_to(REPO_ROOT).as_posix()
    for path in [*REPO_ROOT.glob("*/README.md"), REPO_ROOT / "docs" / "adr" / "README.md"]
    if not path.parent.name.startswith(".")
)


@pytest.mark.parametrize("readme", FOLDER_READMES)
def test_folder_readme_links_resolve(readme: str) -> None:
    path = REPO_ROOT / readme
    targets = [
        target.split("#", 1)[0]
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8"))
        if not re.match(r"^(https?:|mailto:|#)", target)
    ]
    broken = [target for target in targets if not (path.parent / target).exists()]
    assert not broken, f"{readme} links to paths that do not exist: {broken}"


@pytest.mark.parametrize("readme", ["README.md", *FOLDER_READMES])
def test_documented_environment_variables_are_read_by_the_code(readme: str) -> None:
    variables, prefixes = _known_environment()
    named = set(re.findall(r"\b(BRAKING_[A-Z0-9_]+)", (REPO_ROOT / readme).read_text()))
    if readme in ("README.md", "notebooks/README.md"):  # where the variables are explained
        assert named, f"{readme} documents no BRAKING_* variable"
    unknown = sorted(
        name
        for name in named
        if name not in variables
        and not (name.endswith("_") and name in prefixes)
        and not (name.endswith("_") and any(v.startswith(name) for v in variables))
    )
    assert not unknown, f"{readme} documents variables no code reads: {unknown}"
