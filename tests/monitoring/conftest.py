"""Fixtures of these tests, shared with other folders through tests/support."""

from monitoring_fixtures import reference_profile  # noqa: F401
from registry_fixtures import _quiet_client_warnings, registry, registry_factory  # noqa: F401
from s3_fixtures import s3_bucket, s3_server  # noqa: F401
