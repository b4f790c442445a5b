"""Fixtures of these tests, shared with other folders through tests/support."""

from monitoring_fixtures import reference_profile  # noqa: F401
