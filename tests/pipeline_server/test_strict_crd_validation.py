"""The strict CRD validator rejects what the API server's strict field validation rejects."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from crd_schema import CrdSchemas, ManifestError, to_strict_json_schema
from manifest_validation import ManifestValidator


def dspa(**spec: Any) -> dict[str, Any]:
    base = {
        "objectStorage": {
            "externalStorage": {
                "host": "s3.example.com",
                "scheme": "https",
                "bucket": "pipeline-artifacts",
                "s3CredentialsSecret": {
                    "secretName": "pipeline-artifacts",
                    "accessKey": "AWS_ACCESS_KEY_ID",
                    "secretKey": "AWS_SECRET_ACCESS_KEY",
                },
            }
        }
    }
    return {
        "apiVersion": "datasciencepipelinesapplications.opendatahub.io/v1",
        "kind": "DataSciencePipelinesApplication",
        "metadata": {"name": "dspa", "namespace": "braking-dev"},
        "spec": base | spec,
    }


@pytest.fixture(scope="module")
def crds(validator: ManifestValidator) -> CrdSchemas:
    return validator.crds


def test_valid_dspa_passes(crds: CrdSchemas) -> None:
    assert crds.errors(dspa(database={"mariaDB": {"pvcSize": "10Gi"}})) == []


def test_int_or_string_accepts_both(crds: CrdSchemas) -> None:
    assert crds.errors(dspa(database={"mariaDB": {"pvcSize": 10}})) == []
    assert crds.errors(dspa(database={"mariaDB": {"pvcSize": True}})) != []


def test_unknown_field_is_named_with_its_path(crds: CrdSchemas) -> None:
    errors = crds.errors(dspa(apiServer={"cacheEnabled": True, "cachingEnabled": True}))
    assert errors == ['unknown field "spec.apiServer.cachingEnabled"']


def test_field_removed_upstream_is_rejected(crds: CrdSchemas) -> None:
    """The earlier system set managedPipelines.instructLab, gone from the DSPA CRD since v2.18."""
    manifest = dspa(apiServer={"managedPipelines": {"instructLab": {"state": "Managed"}}})
    with pytest.raises(ManifestError, match=r'unknown field "spec.apiServer.managedPipelines.inst'):
        crds.validate(manifest)


def test_missing_required_and_wrong_type_are_reported_together(crds: CrdSchemas) -> None:
    manifest = dspa(persistenceAgent={"numWorkers": "two"})
    del manifest["spec"]["objectStorage"]["externalStorage"]["scheme"]
    errors = crds.errors(manifest)
    assert any("spec.persistenceAgent.numWorkers" in e and "integer" in e for e in errors)
    assert any("'scheme' is a required property" in e for e in errors)


def test_metadata_is_checked_as_object_meta(crds: CrdSchemas) -> None:
    manifest = dspa()
    manifest["metadata"]["labels"] = {"opendatahub.io/dashboard": True}
    manifest["metadata"]["nmae"] = "typo"
    errors = crds.errors(manifest)
    assert 'unknown field "metadata.nmae"' in errors
    assert any(e.startswith("metadata.labels.opendatahub.io/dashboard: True") for e in errors)


def test_unknown_kind_or_component_cr_is_not_waved_through(validator: ManifestValidator) -> None:
    """The earlier system used the operator's component CR instead of a registry instance."""
    component_cr = {
        "apiVersion": "components.platform.opendatahub.io/v1alpha1",
        "kind": "ModelRegistry",
        "metadata": {"name": "default-modelregistry"},
        "spec": {},
    }
    assert "neither a Kubernetes core kind nor a known CRD" in validator.errors(component_cr)[0]


def test_notebook_pod_template_is_validated_deeply(crds: CrdSchemas) -> None:
    notebook = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "Notebook",
        "metadata": {"name": "wb"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "wb", "image": "img:1", "ports": [{"containerPort": "8888"}]}
                    ],
                    "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory"}, "pvc": {}}],
                }
            }
        },
    }
    errors = crds.errors(notebook)
    assert 'unknown field "spec.template.spec.volumes[0].pvc"' in errors
    assert any("containers[0].ports[0].containerPort" in e for e in errors)


def test_core_kinds_use_the_kubernetes_schema(validator: ManifestValidator) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringdata": {}}
    assert any("stringdata" in e for e in validator.errors(secret))


CRD_WITH_EXTENSIONS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
                    },
                },
                "tags": {
                    "type": "array",
                    "x-kubernetes-list-type": "set",
                    "items": {"type": "string"},
                },
                "maybe": {"type": "string", "nullable": True},
                "replicas": {"type": "integer", "format": "int32"},
            },
        },
    },
}


@pytest.fixture(scope="module")
def extensions(tmp_path_factory: pytest.TempPathFactory) -> CrdSchemas:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.org"},
        "spec": {
            "group": "example.org",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": copy.deepcopy(CRD_WITH_EXTENSIONS)},
                },
                {
                    "name": "v0",
                    "served": False,
                    "storage": False,
                    "schema": {"openAPIV3Schema": {"type": "object"}},
                },
            ],
        },
    }
    path: Path = tmp_path_factory.mktemp("crds") / "widgets.yaml"
    path.write_text(yaml.safe_dump(crd))
    return CrdSchemas.from_paths([path])


def widget(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.org/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": spec,
    }


def test_preserve_unknown_fields_and_embedded_resources(extensions: CrdSchemas) -> None:
    embedded = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": 1}}
    assert extensions.errors(widget(free={"anything": [1, 2]}, template=embedded)) == []
    bad_meta = embedded | {"metadata": {"name": "p", "labelz": {}}}
    assert extensions.errors(widget(template=bad_meta)) == [
        'unknown field "spec.template.metadata.labelz"'
    ]


def test_list_types_map_and_set_reject_duplicates(extensions: CrdSchemas) -> None:
    ports = [{"name": "http", "port": 80}, {"name": "http", "port": 81}]
    assert any("name='http'" in e for e in extensions.errors(widget(ports=ports)))
    assert any("Duplicate value: 'a'" in e for e in extensions.errors(widget(tags=["a", "a"])))


def test_nullable_and_int32_range(extensions: CrdSchemas) -> None:
    assert extensions.errors(widget(maybe=None, replicas=3)) == []
    assert any("int32" in e for e in extensions.errors(widget(replicas=2**31)))


def test_unserved_versions_are_not_accepted(extensions: CrdSchemas) -> None:
    manifest = widget() | {"apiVersion": "example.org/v0"}
    assert "no CRD schema" in extensions.errors(manifest)[0]


def test_translation_keeps_explicit_additional_properties() -> None:
    schema = to_strict_json_schema({"type": "object", "additionalProperties": {"type": "string"}})
    assert schema["additionalProperties"] == {"type": "string"}
