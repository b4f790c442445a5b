"""`braking deploy model|manifests`: the deployment commands (flags over BRAKING_DEPLOY_* env).

The flags fill the settings objects they belong to: `DeployConfig` (target, name, timeout),
`KServeTarget` (runtime, storage, mode, auth) and `ClusterAccess` (namespace).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any

import typer

from braking_common.cli_flags import given, shared_options

if TYPE_CHECKING:
    from braking_release.config import KServeTarget

deploy_app = typer.Typer(help="Deploy the model: local server or KServe; write the manifests.")


Target = Annotated[str | None, typer.Option(help="local | kserve.")]
Name = Annotated[str | None, typer.Option(help="InferenceService / model name.")]
ModelId = Annotated[
    str | None, typer.Option(help="Registry registered-model id, recorded as a label.")
]
VersionId = Annotated[
    str | None, typer.Option(help="Registry model-version id, recorded as a label.")
]


def _registered(
    lookup: str | None,
    registered_model_id: str | None,
    model_version_id: str | None,
    version_name: str | None,
) -> Any:
    """The registered version: looked up in the registry, or the ids given as options."""
    if lookup:
        from braking_release.register import registered_version

        return registered_version(lookup)
    # deploy_model reads only these ids (any of them may be unknown here)
    return SimpleNamespace(
        registered_model_id=registered_model_id,
        model_version_id=model_version_id,
        version_name=version_name,
    )


def kserve_options(
    runtime: Annotated[
        str | None, typer.Option(help="ServingRuntime: kserve-ovms or braking-serving.")
    ] = None,
    create_runtime: Annotated[
        bool | None,
        typer.Option("--create-runtime/--no-runtime", help="Also apply the runtime."),
    ] = None,
    storage_key: Annotated[
        str | None,
        typer.Option(help="Data connection (Secret); default: the registered version's."),
    ] = None,
    storage_path: Annotated[
        str | None,
        typer.Option(help="Folder holding 1/model.onnx; default: the registered one."),
    ] = None,
    storage_uri: Annotated[
        str | None, typer.Option(help="Model URI instead of a data connection.")
    ] = None,
    deployment_mode: Annotated[str | None, typer.Option(help="RawDeployment | Serverless.")] = None,
    enable_auth: Annotated[
        bool | None, typer.Option("--enable-auth/--no-auth", help="Require a bearer token.")
    ] = None,
) -> None:
    """The `KServeTarget` flags of both commands, declared once (see `shared_options`)."""


def _kserve_target(flags: dict[str, Any]) -> KServeTarget:
    """The KServe settings: the flags given, over BRAKING_DEPLOY_KSERVE_* and the defaults."""
    from braking_release.config import KServeTarget

    return KServeTarget(**given(**flags))


@deploy_app.command("model")
@shared_options(kserve_options)
def deploy_model_command(
    model_dir: Annotated[
        Path, typer.Option(help="Folder written by `braking train` (holds model.onnx).")
    ],
    target: Target = None,
    name: Name = None,
    namespace: Annotated[
        str | None, typer.Option(help="Namespace (otherwise in-cluster or kubeconfig namespace).")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for Ready.")] = None,
    registered_model_id: ModelId = None,
    model_version_id: VersionId = None,
    version_name: Annotated[
        str | None, typer.Option(help="Registry version name (e.g. 3).")
    ] = None,
    registered_version: Annotated[
        str | None,
        typer.Option(
            help="Look this version up in the registry (BRAKING_REGISTRATION_* settings): "
            "its ids, and the model location its ModelArtifact records."
        ),
    ] = None,
    **kserve_flags: Any,
) -> None:
    """Deploy the model and wait until it answers; prints the model URL."""
    from pydantic import ValidationError

    from braking_release.config import ClusterAccess, DeployConfig
    from braking_release.deploy import DeployError, deploy_model
    from braking_release.kube import KubeConfigError
    from braking_release.register import RegistrationConfig, RegistrationError
    from braking_release.serving_records import record_deployment

    try:
        config = DeployConfig(
            **given(target=target, name=name, timeout_seconds=timeout),
            kserve=_kserve_target(kserve_flags),
            kube=ClusterAccess(**given(namespace=namespace)),
        )
        registered = _registered(
            registered_version, registered_model_id, model_version_id, version_name
        )
        deployment = deploy_model(model_dir, config, registered=registered)
        if (
            registered.registered_model_id and registered.model_version_id
        ):  # recorded where it serves
            record_deployment(deployment, registered, RegistrationConfig())
    except (DeployError, KubeConfigError, ValidationError, ValueError, RegistrationError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(deployment.url)


@deploy_app.command("manifests")
@shared_options(kserve_options)
def manifests_command(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder to write YAML to.")
    ],
    namespace: Annotated[str, typer.Option(help="Namespace of the resources.")],
    name: Name = None,
    registered_model_id: ModelId = None,
    model_version_id: VersionId = None,
    **kserve_flags: Any,
) -> None:
    """Write the InferenceService (and ServingRuntime) YAML for `oc apply -f`."""
    import yaml
    from pydantic import ValidationError

    from braking_release.config import DeployConfig
    from braking_release.manifests import inference_service, serving_runtime

    try:
        kserve = _kserve_target(kserve_flags)
        config = DeployConfig(**given(target="kserve", name=name), kserve=kserve)
        registered = _registered(None, registered_model_id, model_version_id, None)
        documents = {
            "inference-service.yaml": inference_service(
                kserve, namespace, name=config.name, registered=registered
            )
        }
    except (ValidationError, ValueError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    if kserve.applies_runtime:
        documents["serving-runtime.yaml"] = serving_runtime(kserve, namespace)
    output_dir.mkdir(parents=True, exist_ok=True)
    for file_name, manifest in documents.items():
        (output_dir / file_name).write_text(yaml.safe_dump(manifest, sort_keys=False))
        typer.echo(output_dir / file_name)
