"""The configuration is documented from the code: the generated reference and the README's
table of prefixes both follow the settings classes."""

from __future__ import annotations

import re

from settings_reference import REFERENCE, REPO_ROOT, render, settings_classes


def test_the_configuration_reference_is_up_to_date():
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is out of date: run "
        "`.venv/bin/python tests/support/settings_reference.py`"
    )


def test_the_readme_table_names_every_settings_prefix_once():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(BRAKING_[A-Z_]+_)` \|", readme, flags=re.M)
    prefixes = [str(cls.model_config.get("env_prefix")) for cls in settings_classes()]
    assert len(prefixes) == len(set(prefixes)), f"two settings classes share a prefix: {prefixes}"
    missing = sorted(set(prefixes) - set(rows))
    assert not missing, f"README's configuration table lacks {missing}"
    assert "docs/configuration.md" in readme
