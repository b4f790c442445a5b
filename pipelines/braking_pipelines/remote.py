"""Submit and schedule the compiled pipeline on a DSPA (KFP v2 API) with `kfp.Client`.

Each call uploads the package as a pipeline (or as a new version of it, named after the
package's content hash so resubmitting the same YAML reuses the version), finds or creates
the experiment, then creates a run or a recurring run of that exact version.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from braking_pipelines.config import DspaConfig
from braking_pipelines.cron import validate_cron

HEALTHZ_PATH = "/apis/v2beta1/healthz"


class DspaError(RuntimeError):
    """The DSPA could not be reached or refused the request; the message says what to fix."""


@dataclass(frozen=True)
class PublishedPipeline:
    """A pipeline version uploaded to the DSPA."""

    pipeline_id: str
    version_id: str
    version_name: str
    created: bool  # False when this exact package was already uploaded


@dataclass(frozen=True)
class SubmittedRun:
    """A run started on the DSPA."""

    pipeline: PublishedPipeline
    experiment_id: str
    run_id: str


@dataclass(frozen=True)
class ScheduledRun:
    """A recurring run scheduled on the DSPA."""

    pipeline: PublishedPipeline
    experiment_id: str
    recurring_run_id: str
    cron: str


def connect(dspa: DspaConfig) -> Any:
    """A `kfp.Client` for the DSPA, after checking the host answers and accepts the token."""
    if not dspa.host:
        raise DspaError("no DSPA host: pass --host or set BRAKING_DSPA_HOST")
    token = dspa.resolved_token()
    ca_bundle = dspa.resolved_ca_bundle()
    check_reachable(dspa.host, token, ca_bundle, dspa.timeout_seconds)

    import kfp

    with warnings.catch_warnings(), _explained(dspa.host):
        warnings.simplefilter("ignore", FutureWarning)  # "only works with KFP v2": we are
        return kfp.Client(
            host=dspa.host,
            existing_token=token,
            ssl_ca_cert=str(ca_bundle) if ca_bundle else None,
            namespace=dspa.namespace or "kubeflow",
        )


def check_reachable(host: str, token: str | None, ca_bundle: Path | None, timeout: float) -> None:
    """GET the KFP health endpoint; turn the usual failures into a DspaError that helps."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    verify: Any = str(ca_bundle) if ca_bundle else True
    try:
        response = httpx.get(host + HEALTHZ_PATH, headers=headers, verify=verify, timeout=timeout)
    except httpx.ConnectError as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            raise DspaError(
                f"TLS verification of {host} failed ({exc}); pass the cluster's CA with "
                "--ca-bundle or BRAKING_DSPA_CA_BUNDLE"
            ) from exc
        raise DspaError(
            f"cannot reach the KFP API at {host} ({exc}); check --host / BRAKING_DSPA_HOST: "
            "the route of the ds-pipeline-<dspa> service (`oc get route -n <project>`)"
        ) from exc
    except httpx.TimeoutException as exc:
        raise DspaError(f"the KFP API at {host} did not answer within {timeout:g} s") from exc
    _raise_for_auth(host, response.status_code, response.headers.get("location", ""))
    if response.status_code >= 400:
        raise DspaError(
            f"the KFP API at {host} answered HTTP {response.status_code} to {HEALTHZ_PATH}: "
            f"{response.text[:200]}"
        )


def publish(client: Any, package: Path, name: str, description: str) -> PublishedPipeline:
    """Upload `package` as pipeline `name`, or add it as a version; reuse an identical one."""
    version_name = f"{name}-{hashlib.sha256(package.read_bytes()).hexdigest()[:12]}"
    with _explained(client):
        pipeline_id = client.get_pipeline_id(name)
        if pipeline_id is None:
            pipeline_id = client.upload_pipeline(
                str(package), pipeline_name=name, description=description
            ).pipeline_id
            # The server names the first version after the pipeline (kubeflow/pipelines#7494).
            first = client.list_pipeline_versions(pipeline_id, page_size=1).pipeline_versions
            version = first[0]
            return PublishedPipeline(
                pipeline_id, version.pipeline_version_id, version.display_name, True
            )
        existing = client.list_pipeline_versions(
            pipeline_id, page_size=1, filter=_name_filter(version_name)
        ).pipeline_versions
        if existing:
            return PublishedPipeline(
                pipeline_id, existing[0].pipeline_version_id, version_name, False
            )
        version = client.upload_pipeline_version(
            str(package), version_name, pipeline_id=pipeline_id, description=description
        )
        return PublishedPipeline(pipeline_id, version.pipeline_version_id, version_name, True)


def submit(
    dspa: DspaConfig,
    package: Path,
    name: str,
    description: str,
    arguments: dict[str, Any],
    run_name: str,
    *,
    enable_caching: bool | None = None,
) -> SubmittedRun:
    """Publish the package and start one run of it in the configured experiment."""
    with _in_experiment(dspa, package, name, description) as (client, published, experiment_id):
        run = client.run_pipeline(
            experiment_id=experiment_id,
            job_name=run_name,
            params=arguments,
            pipeline_id=published.pipeline_id,
            version_id=published.version_id,
            enable_caching=enable_caching,
            service_account=dspa.service_account,
        )
    return SubmittedRun(published, experiment_id, run.run_id)


def schedule(
    dspa: DspaConfig,
    package: Path,
    name: str,
    description: str,
    arguments: dict[str, Any],
    job_name: str,
    cron: str,
    *,
    max_concurrency: int = 1,
    catch_up: bool = False,
) -> ScheduledRun:
    """Publish the package and create a recurring run on a 6-field cron schedule."""
    cron = validate_cron(cron)  # before any network call: a typo should cost nothing
    with _in_experiment(dspa, package, name, description) as (client, published, experiment_id):
        recurring = client.create_recurring_run(
            experiment_id=experiment_id,
            job_name=job_name,
            description=description,
            cron_expression=cron,
            max_concurrency=max_concurrency,
            no_catchup=not catch_up,
            params=arguments,
            pipeline_id=published.pipeline_id,
            version_id=published.version_id,
            service_account=dspa.service_account,
        )
    return ScheduledRun(published, experiment_id, recurring.recurring_run_id, cron)


@contextlib.contextmanager
def _in_experiment(
    dspa: DspaConfig, package: Path, name: str, description: str
) -> Iterator[tuple[Any, PublishedPipeline, str]]:
    """Connect, publish the package and find or create the experiment; yields (client,
    published pipeline, experiment id), with the API's failures inside turned into DspaError."""
    client = connect(dspa)
    published = publish(client, package, name, description)
    with _explained(client):
        experiment = client.create_experiment(dspa.experiment, namespace=dspa.namespace)
        yield client, published, experiment.experiment_id


def _name_filter(display_name: str) -> str:
    predicate = {"operation": "EQUALS", "key": "display_name", "stringValue": display_name}
    return json.dumps({"predicates": [predicate]})


def _raise_for_auth(host: str, status: int, location: str) -> None:
    if status == 401 or (300 <= status < 400 and "oauth" in location):
        raise DspaError(
            f"the KFP API at {host} refused the token (HTTP {status}); pass a valid one with "
            "--token / BRAKING_DSPA_TOKEN or --token-file (e.g. `oc whoami -t`)"
        )
    if status == 403:
        raise DspaError(
            f"the KFP API at {host} denied access (HTTP 403): the token is valid but its "
            "identity may not use this DSPA; grant it the ds-pipeline-user-access-<dspa> role"
        )


@contextlib.contextmanager
def _explained(client_or_host: Any) -> Iterator[None]:
    """Translate kfp_server_api / urllib3 failures into DspaError."""
    import kfp_server_api
    import urllib3

    host = getattr(getattr(client_or_host, "_existing_config", None), "host", client_or_host)
    try:
        yield
    except kfp_server_api.ApiException as exc:
        _raise_for_auth(host, exc.status or 0, (exc.headers or {}).get("location", ""))
        raise DspaError(
            f"the KFP API at {host} rejected the request: HTTP {exc.status} {exc.reason}: "
            f"{(exc.body or '')[:300]}"
        ) from exc
    except urllib3.exceptions.HTTPError as exc:
        raise DspaError(f"lost the connection to the KFP API at {host}: {exc}") from exc
