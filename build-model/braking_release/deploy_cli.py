"""`braking deploy model|manifests`: the deployment commands (flags over BRAKING_DEPLOY_* env)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import typer

deploy_app = typer.Typer(help="Deploy the model: local server or KServe; write the manifests.")


def _given(**options: object) -> dict:
    return {key: value for key, value in options.items() if value is not None}


Target = typer.Option(None, help="local | kserve [env BRAKING_DEPLOY_TARGET; local]")
Name = typer.Option(None, help="InferenceService / model name [braking-distance]")
Namespace = typer.Option(None, help="namespace [in-cluster or kubeconfig namespace]")
Runtime = typer.Option(None, help="ServingRuntime: kserve-ovms | braking-serving [kserve-ovms]")
StorageKey = typer.Option(None, help="data connection (Secret) [the registered version's]")
StoragePath = typer.Option(None, help="folder holding 1/model.onnx [the registered version's]")
StorageUri = typer.Option(None, help="model URI instead of a data connection")
Mode = typer.Option(None, help="RawDeployment | Serverless [RawDeployment]")
Auth = typer.Option(None, "--enable-auth/--no-auth", help="require a bearer token [yes]")
WithRuntime = typer.Option(None, "--create-runtime/--no-runtime", help="also apply the runtime")
ModelId = typer.Option(None, help="registry registered-model id, recorded as a label")
VersionId = typer.Option(None, help="registry model-version id, recorded as a label")


def _registered(
    lookup: str | None,
    registered_model_id: str | None,
    model_version_id: str | None,
    version_name: str | None,
) -> object:
    """The registered version: looked up in the registry, or the ids given as options."""
    if lookup:
        from braking_release.register import registered_version

        return registered_version(lookup)
    return SimpleNamespace(
        registered_model_id=registered_model_id,
        model_version_id=model_version_id,
        version_name=version_name,
    )


@deploy_app.command("model")
def deploy_model_command(
    model_dir: Path = typer.Option(..., help="folder written by `braking train` (model.onnx)"),
    target: str | None = Target,
    name: str | None = Name,
    namespace: str | None = Namespace,
    runtime: str | None = Runtime,
    create_runtime: bool | None = WithRuntime,
    storage_key: str | None = StorageKey,
    storage_path: str | None = StoragePath,
    storage_uri: str | None = StorageUri,
    deployment_mode: str | None = Mode,
    enable_auth: bool | None = Auth,
    timeout: float | None = typer.Option(None, help="seconds to wait for Ready [600]"),
    registered_model_id: str | None = ModelId,
    model_version_id: str | None = VersionId,
    version_name: str | None = typer.Option(None, help="registry version name (e.g. 3)"),
    registered_version: str | None = typer.Option(
        None,
        help="look the version up in the registry (BRAKING_REGISTRY_* settings): ids and "
        "model location from its ModelArtifact",
    ),
) -> None:
    """Deploy the model and wait until it answers; prints the model URL."""
    from pydantic import ValidationError

    from braking_release.deploy import DeployConfig, DeployError, deploy_model
    from braking_release.kube import KubeConfigError
    from braking_release.register import RegistrationError

    try:
        config = DeployConfig(**_given(
            target=target, name=name, namespace=namespace, runtime=runtime,
            create_runtime=create_runtime, storage_key=storage_key, storage_path=storage_path,
            storage_uri=storage_uri, deployment_mode=deployment_mode, enable_auth=enable_auth,
            timeout_seconds=timeout,
        ))  # fmt: skip
        registered = _registered(
            registered_version, registered_model_id, model_version_id, version_name
        )
        deployment = deploy_model(model_dir, config, registered=registered)
    except (DeployError, KubeConfigError, RegistrationError, ValidationError, ValueError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(deployment.url)


@deploy_app.command("manifests")
def manifests_command(
    output_dir: Path = typer.Option(..., "--output-dir", "-o", help="folder to write YAML to"),
    namespace: str = typer.Option(..., help="namespace of the resources"),
    name: str | None = Name,
    runtime: str | None = Runtime,
    create_runtime: bool | None = WithRuntime,
    storage_key: str | None = StorageKey,
    storage_path: str | None = StoragePath,
    storage_uri: str | None = StorageUri,
    deployment_mode: str | None = Mode,
    enable_auth: bool | None = Auth,
    registered_model_id: str | None = ModelId,
    model_version_id: str | None = VersionId,
) -> None:
    """Write the InferenceService (and ServingRuntime) YAML for `oc apply -f`."""
    import yaml
    from pydantic import ValidationError

    from braking_release.config import BRAKING_RUNTIME, DeployConfig
    from braking_release.manifests import inference_service, serving_runtime

    try:
        config = DeployConfig(**_given(
            target="kserve", name=name, runtime=runtime, create_runtime=create_runtime,
            storage_key=storage_key, storage_path=storage_path, storage_uri=storage_uri,
            deployment_mode=deployment_mode, enable_auth=enable_auth,
        ))  # fmt: skip
        registered = _registered(None, registered_model_id, model_version_id, None)
        documents = {
            "inference-service.yaml": inference_service(config, namespace, registered=registered)
        }
    except (ValidationError, ValueError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    if config.create_runtime or config.runtime == BRAKING_RUNTIME:
        documents["serving-runtime.yaml"] = serving_runtime(config, namespace)
    output_dir.mkdir(parents=True, exist_ok=True)
    for file_name, manifest in documents.items():
        (output_dir / file_name).write_text(yaml.safe_dump(manifest, sort_keys=False))
        typer.echo(output_dir / file_name)
