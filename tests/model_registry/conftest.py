"""Fixtures of these tests, shared with other folders through tests/support."""

from registry_fixtures import (  # noqa: F401
    _model_dirs,
    _quiet_client_warnings,
    model_dir_factory,
    reference_spec,
    registry,
    registry_factory,
)
