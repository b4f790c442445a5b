"""`braking deploy model|manifests`: the deployment commands (flags over BRAKING_DEPLOY_* env)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer

deploy_app = typer.Typer(help="Deploy the model: local server or KServe; write the manifests.")


def _given(**options: object) -> dict:
    return {key: value for key, value in options.items() if value is not None}


Target = Annotated[str | None, typer.Option(help="local | kserve.")]
Name = Annotated[str | None, typer.Option(help="InferenceService / model name.")]
Namespace = Annotated[
    str | None, typer.Option(help="Namespace (otherwise in-cluster or kubeconfig namespace).")
]
Runtime = Annotated[str | None, typer.Option(help="ServingRuntime name.")]
StorageKey = Annotated[str | None, typer.Option(help="Data connection (Secret) holding the model.")]
StoragePath = Annotated[
    str | None, typer.Option(help="Bucket path: parent of the numeric version folders.")
]
StorageUri = Annotated[str | None, typer.Option(help="Model URI instead of a data connection.")]
Mode = Annotated[str | None, typer.Option(help="RawDeployment | Serverless.")]
Auth = Annotated[
    bool | None, typer.Option("--enable-auth/--no-auth", help="Require a bearer token.")
]
WithRuntime = Annotated[
    bool | None, typer.Option("--create-runtime/--no-runtime", help="Also an OVMS runtime.")
]
ModelId = Annotated[
    str | None, typer.Option(help="Registry registered-model id, recorded as a label.")
]
VersionId = Annotated[
    str | None, typer.Option(help="Registry model-version id, recorded as a label.")
]


@deploy_app.command("model")
def deploy_model_command(
    model_dir: Annotated[
        Path, typer.Option(help="Folder written by `braking train` (holds model.onnx).")
    ],
    target: Target = None,
    name: Name = None,
    namespace: Namespace = None,
    runtime: Runtime = None,
    create_runtime: WithRuntime = None,
    storage_key: StorageKey = None,
    storage_path: StoragePath = None,
    storage_uri: StorageUri = None,
    deployment_mode: Mode = None,
    enable_auth: Auth = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for Ready.")] = None,
    registered_model_id: ModelId = None,
    model_version_id: VersionId = None,
    version_name: Annotated[
        str | None, typer.Option(help="Registry version name (e.g. 3).")
    ] = None,
) -> None:
    """Deploy the model and wait until it answers; prints the model URL."""
    from pydantic import ValidationError

    from braking_release.deploy import DeployConfig, DeployError, deploy_model
    from braking_release.kube import KubeConfigError

    try:
        config = DeployConfig(**_given(
            target=target, name=name, namespace=namespace, runtime=runtime,
            create_runtime=create_runtime, storage_key=storage_key, storage_path=storage_path,
            storage_uri=storage_uri, deployment_mode=deployment_mode, enable_auth=enable_auth,
            timeout_seconds=timeout,
        ))  # fmt: skip
        # deploy_model reads only these ids (any of them may be unknown here)
        registered: Any = SimpleNamespace(
            registered_model_id=registered_model_id,
            model_version_id=model_version_id,
            version_name=version_name,
        )
        deployment = deploy_model(model_dir, config, registered=registered)
    except (DeployError, KubeConfigError, ValidationError, ValueError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(deployment.url)


@deploy_app.command("manifests")
def manifests_command(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder to write YAML to.")
    ],
    namespace: Annotated[str, typer.Option(help="Namespace of the resources.")],
    name: Name = None,
    runtime: Runtime = None,
    create_runtime: WithRuntime = None,
    storage_key: StorageKey = None,
    storage_path: StoragePath = None,
    storage_uri: StorageUri = None,
    deployment_mode: Mode = None,
    enable_auth: Auth = None,
    registered_model_id: ModelId = None,
    model_version_id: VersionId = None,
) -> None:
    """Write the InferenceService (and ServingRuntime) YAML for `oc apply -f`."""
    import yaml
    from pydantic import ValidationError

    from braking_release.config import DeployConfig
    from braking_release.manifests import inference_service, serving_runtime

    try:
        config = DeployConfig(**_given(
            target="kserve", name=name, runtime=runtime, create_runtime=create_runtime,
            storage_key=storage_key, storage_path=storage_path, storage_uri=storage_uri,
            deployment_mode=deployment_mode, enable_auth=enable_auth,
        ))  # fmt: skip
        documents = {
            "inference-service.yaml": inference_service(
                config,
                namespace,
                registered_model_id=registered_model_id,
                model_version_id=model_version_id,
            )
        }
    except (ValidationError, ValueError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    if config.create_runtime:
        documents["serving-runtime.yaml"] = serving_runtime(config, namespace)
    output_dir.mkdir(parents=True, exist_ok=True)
    for file_name, manifest in documents.items():
        (output_dir / file_name).write_text(yaml.safe_dump(manifest, sort_keys=False))
        typer.echo(output_dir / file_name)
