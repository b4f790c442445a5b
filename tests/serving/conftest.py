"""Fixtures of these tests, shared with other folders through tests/support."""

from serving_fixtures import reference_session, server_url, serving_model_dir  # noqa: F401
