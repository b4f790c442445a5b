"""A real S3 API on 127.0.0.1: moto's standalone server, with access keys enforced.

The server runs in a thread of the test process (`ThreadedMotoServer`) on a free port. One
IAM user with S3 rights is created first, then moto is told to authenticate every request,
so a wrong secret key gets the same 403 a real store answers.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import json
import logging
from dataclasses import dataclass

import httpx
import pytest

from braking_release.config import S3Connection

REGION = "us-east-1"
_S3_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
_buckets = itertools.count(1)


@dataclass(frozen=True)
class S3Server:
    """Where the server answers and the keys it accepts."""

    url: str
    access_key_id: str
    secret_access_key: str

    def client(self):
        """A boto3 S3 client with the valid keys."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=REGION,
        )

    def connection(self, bucket: str, **overrides) -> S3Connection:
        """The data connection a cluster Secret would hold for `bucket`."""
        settings = {
            "s3_endpoint": self.url,
            "s3_bucket": bucket,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "default_region": REGION,
        }
        return S3Connection(**{**settings, **overrides})

    def new_bucket(self) -> str:
        name = f"models-{next(_buckets)}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def _create_user(url: str) -> tuple[str, str]:
    import boto3

    iam = boto3.client(
        "iam", endpoint_url=url, aws_access_key_id="setup", aws_secret_access_key="setup",
        region_name=REGION,
    )  # fmt: skip
    iam.create_user(UserName="pipeline")
    iam.put_user_policy(UserName="pipeline", PolicyName="s3", PolicyDocument=_S3_POLICY)
    key = iam.create_access_key(UserName="pipeline")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@functools.cache
def _running_server() -> S3Server:
    """One server per test process: moto's state and its auth switch are process-wide, and
    several test folders re-export the fixture (each would otherwise start its own)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per S3 request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    atexit.register(server.stop)
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    access_key_id, secret_access_key = _create_user(url)
    # From now on moto checks every request's signature against the IAM keys.
    httpx.post(f"{url}/moto-api/reset-auth", content=b"0").raise_for_status()
    return S3Server(url, access_key_id, secret_access_key)


@pytest.fixture(scope="session")
def s3_server() -> S3Server:
    """moto's S3 server on 127.0.0.1 (free port), authenticating every request."""
    return _running_server()


@pytest.fixture
def s3_bucket(s3_server) -> str:
    """A new, empty bucket on the session's S3 server."""
    return s3_server.new_bucket()
