"""The release steps need a real registry, a real S3 server and a real inference server."""

from registry_fixtures import (  # noqa: F401
    _model_dirs,
    _quiet_client_warnings,
    model_dir_factory,
    reference_spec,
    registry,
    registry_factory,
)
from s3_fixtures import s3_bucket, s3_server  # noqa: F401
from serving_fixtures import reference_session, server_url, serving_model_dir  # noqa: F401
