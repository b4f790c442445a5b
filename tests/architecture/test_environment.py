"""Settings handed to child processes through the environment do not outlive their use."""

import os

from braking_common.environment import scoped_environ


def test_variables_are_restored_after_the_block(monkeypatch):
    monkeypatch.setenv("BRAKING_TEST_KEPT", "user")
    monkeypatch.delenv("BRAKING_TEST_NEW", raising=False)
    with scoped_environ({"BRAKING_TEST_KEPT": "ours", "BRAKING_TEST_NEW": "ours"}):
        assert os.environ["BRAKING_TEST_KEPT"] == "ours"
        assert os.environ["BRAKING_TEST_NEW"] == "ours"
    assert os.environ["BRAKING_TEST_KEPT"] == "user"
    assert "BRAKING_TEST_NEW" not in os.environ


def test_without_override_the_users_setting_wins(monkeypatch):
    monkeypatch.setenv("BRAKING_TEST_KEPT", "user")
    with scoped_environ({"BRAKING_TEST_KEPT": "ours"}, override=False):
        assert os.environ["BRAKING_TEST_KEPT"] == "user"
    assert os.environ["BRAKING_TEST_KEPT"] == "user"
