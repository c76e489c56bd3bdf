"""Unit tests for ``local.spec``: parsing InferenceService YAML with KServe's defaults and field paths.

Pure: no Ray, no sockets. Each test is named after the KServe behaviour it pins.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.errors import SpecError
from local.logger.events import LoggerMode
from local.spec import (
    EntryPoint,
    InferenceService,
    entrypoint_of,
    load_documents,
    load_inference_services,
    parse_inference_service,
    unhonoured_fields,
)
from tests.conftest import REPO_ROOT

MANIFESTS = REPO_ROOT / "manifests"


def minimal(**spec_overrides: Any) -> dict[str, Any]:
    """The smallest InferenceService the local runtime can serve."""
    document: dict[str, Any] = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "iris"},
        "spec": {
            "predictor": {
                "containers": [
                    {"name": "kserve-container", "command": ["python", "-m", "predictors.sklearn"], "args": ["--x=1"]}
                ]
            }
        },
    }
    document["spec"].update(spec_overrides)
    return document


def with_predictor(**fields: Any) -> dict[str, Any]:
    document = minimal()
    document["spec"]["predictor"].update(fields)
    return document


def dump(*documents: Any) -> str:
    return yaml.safe_dump_all(documents, sort_keys=False)


def spec_error(document: dict[str, Any], source: str = "x.yaml") -> str:
    with pytest.raises(SpecError) as info:
        load_documents(dump(document), source)
    return str(info.value)


# --- the committed manifests -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["iris.yaml", "iris-canary.yaml", "iris-standard.yaml"])
def test_every_committed_inference_service_manifest_parses(name: str) -> None:
    services = load_inference_services(MANIFESTS / name)
    assert len(services) == 1
    service = services[0]
    assert service.namespace == "isvc-kit"
    assert list(service.components()) == ["transformer", "predictor"]
    for where, component in service.components().items():
        entry = entrypoint_of(component, f"spec.{where}")
        assert entry.module in {"transformers.iris", "predictors.sklearn"}
        assert component.logger is not None and component.logger.mode == LoggerMode.ALL


def test_iris_manifest_is_knative_scale_to_zero() -> None:
    (service,) = load_inference_services(MANIFESTS / "iris.yaml")
    assert service.name == "iris"
    assert service.deployment_mode == "Knative"
    predictor = service.spec.predictor
    assert (predictor.minReplicas, predictor.maxReplicas) == (0, 2)
    assert (predictor.scaleMetric, predictor.scaleTarget, predictor.containerConcurrency) == ("concurrency", 8, 32)
    assert predictor.canaryTrafficPercent is None
    assert entrypoint_of(predictor, "spec.predictor") == EntryPoint(
        "predictors.sklearn", ("--model_name=iris", "--model_dir=models/iris/v1")
    )


def test_iris_canary_manifest_differs_from_iris_only_in_the_predictor() -> None:
    (base,) = load_inference_services(MANIFESTS / "iris.yaml")
    (canary,) = load_inference_services(MANIFESTS / "iris-canary.yaml")
    assert canary.name == base.name
    assert canary.spec.predictor.canaryTrafficPercent == 20
    assert canary.spec.transformer == base.spec.transformer
    assert entrypoint_of(canary.spec.predictor, "p").args[-1] == "--model_dir=models/iris/v2"


def test_iris_standard_manifest_is_standard_mode_with_yaml_anchors() -> None:
    (service,) = load_inference_services(MANIFESTS / "iris-standard.yaml")
    assert service.name == "iris-standard"
    assert service.deployment_mode == "Standard"
    assert service.spec.predictor.scaleMetric == "cpu"
    # The predictor's securityContext is a YAML alias of the transformer's.
    assert (
        service.spec.predictor.containers[0].securityContext == service.spec.transformer.containers[0].securityContext
    )


@pytest.mark.parametrize("name", ["namespace.yaml", "rbac.yaml", "sink.yaml", "kustomization.yaml"])
def test_manifests_without_inference_service_are_rejected(name: str) -> None:
    with pytest.raises(SpecError, match=r"no InferenceService found"):
        load_inference_services(MANIFESTS / name)


# --- documents and errors ----------------------------------------------------------------------------


def test_multi_document_yaml_skips_other_kinds() -> None:
    """kubectl-style files mix kinds; only serving.kserve.io/v1beta1 InferenceServices are read."""
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "isvc-kit"}}
    second = minimal()
    second["metadata"]["name"] = "iris-two"
    text = dump(namespace, minimal(), {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}, second)
    services = load_documents(text + "---\n", "multi.yaml")  # an empty trailing document is ignored
    assert [s.name for s in services] == ["iris", "iris-two"]


def test_no_inference_service_found_names_the_file() -> None:
    text = dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    with pytest.raises(SpecError, match=r"^cm\.yaml: no InferenceService found$"):
        load_documents(text, "cm.yaml")


def test_empty_file_has_no_inference_service() -> None:
    with pytest.raises(SpecError, match=r"^e\.yaml: no InferenceService found$"):
        load_documents("", "e.yaml")


def test_invalid_yaml_is_reported_with_the_file_name() -> None:
    with pytest.raises(SpecError, match=r"^bad\.yaml: not valid YAML: "):
        load_documents("kind: InferenceService\nmetadata: {name: [unclosed\n", "bad.yaml")


def test_non_mapping_document_is_rejected() -> None:
    with pytest.raises(SpecError, match=r"^l\.yaml: expected a mapping at the top of each document$"):
        load_documents("- a\n- b\n", "l.yaml")


def test_missing_file_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecError, match=r"nope\.yaml: no such file"):
        load_inference_services(missing)


def test_load_inference_services_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(dump(minimal()))
    (service,) = load_inference_services(path)
    assert service.name == "iris"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            with_predictor(minReplicas=-1),
            "x.yaml: spec.predictor.minReplicas: Input should be greater than or equal to 0",
        ),
        (
            with_predictor(maxReplicas=-2),
            "x.yaml: spec.predictor.maxReplicas: Input should be greater than or equal to 0",
        ),
        (
            with_predictor(canaryTrafficPercent=101),
            "x.yaml: spec.predictor.canaryTrafficPercent: Input should be less than or equal to 100",
        ),
        (
            with_predictor(canaryTrafficPercent=-1),
            "x.yaml: spec.predictor.canaryTrafficPercent: Input should be greater than or equal to 0",
        ),
        (
            with_predictor(scaleTarget=0),
            "x.yaml: spec.predictor.scaleTarget: Input should be greater than or equal to 1",
        ),
        (
            with_predictor(containerConcurrency=-1),
            "x.yaml: spec.predictor.containerConcurrency: Input should be greater than or equal to 0",
        ),
        (with_predictor(scaleMetric="gpu"), "x.yaml: spec.predictor.scaleMetric: "),
        (with_predictor(minReplicas="many"), "x.yaml: spec.predictor.minReplicas: "),
        (with_predictor(batcher={"maxBatchSize": 0}), "x.yaml: spec.predictor.batcher.maxBatchSize: "),
        (with_predictor(containers=[{"command": "python -m x"}]), "x.yaml: spec.predictor.containers.0.command: "),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_invalid_component_field_is_named_with_file_and_full_path(document: dict[str, Any], expected: str) -> None:
    assert spec_error(document).startswith(expected)


def test_empty_logger_mode_is_an_error() -> None:
    """KServe's webhook rejects a logger whose mode is not all, request or response (``validateLogger``)."""
    document = minimal(transformer=copy.deepcopy(minimal()["spec"]["predictor"]))
    document["spec"]["transformer"]["logger"] = {"mode": ""}
    message = spec_error(document)
    assert message.startswith("x.yaml: spec.transformer.logger.mode: ")
    assert "empty" in message


def test_missing_logger_mode_is_an_error_as_kserve_rejects_it() -> None:
    """The CRD gives ``mode`` no default and KServe's webhook answers "invalid logger type" without one."""
    message = spec_error(with_predictor(logger={"url": "http://sink"}))
    assert "spec.predictor.logger.mode: required: one of all, request, response" in message
    service = parse_inference_service(with_predictor(logger={"mode": "all", "url": "http://sink"}))
    assert service.spec.predictor.logger is not None and service.spec.predictor.logger.mode == LoggerMode.ALL


def test_unknown_logger_field_is_an_error() -> None:
    message = spec_error(with_predictor(logger={"mode": "all", "bogus": 1}))
    assert message.startswith("x.yaml: spec.predictor.logger.bogus: ")


def test_several_errors_are_each_reported_on_their_own_line() -> None:
    message = spec_error(with_predictor(minReplicas=-1, canaryTrafficPercent=150))
    lines = message.splitlines()
    assert len(lines) == 2
    assert any(line.startswith("x.yaml: spec.predictor.minReplicas: ") for line in lines)
    assert any(line.startswith("x.yaml: spec.predictor.canaryTrafficPercent: ") for line in lines)


@pytest.mark.parametrize("name", ["Iris", "iris_v1", "1iris", "iris-", "-iris", "", "a" * 64])
def test_metadata_name_must_be_a_dns_label(name: str) -> None:
    """Kubernetes/KServe: the name is a DNS-1035 label (lower case, starts with a letter, <= 63 chars)."""
    document = minimal()
    document["metadata"]["name"] = name
    assert spec_error(document).startswith("x.yaml: metadata.name: ")


@pytest.mark.parametrize("name", ["a", "iris", "iris-v1", "a" * 63])
def test_valid_dns_label_names_parse(name: str) -> None:
    document = minimal()
    document["metadata"]["name"] = name
    assert parse_inference_service(document).name == name


def test_missing_metadata_name_is_an_error() -> None:
    document = minimal()
    del document["metadata"]["name"]
    assert spec_error(document).startswith("x.yaml: metadata.name: Field required")


def test_missing_predictor_is_an_error() -> None:
    """KServe: an InferenceService needs a predictor."""
    document = minimal()
    del document["spec"]["predictor"]
    assert spec_error(document).startswith("x.yaml: spec.predictor: Field required")


def test_wrong_api_version_is_an_error() -> None:
    document = minimal()
    document["apiVersion"] = "serving.kserve.io/v1alpha1"
    assert spec_error(document).startswith("x.yaml: apiVersion: ")


def test_wrong_kind_is_an_error_when_parsed_directly() -> None:
    document = minimal()
    document["kind"] = "InferenceGraph"
    with pytest.raises(SpecError, match=r"^y\.yaml: kind: "):
        parse_inference_service(document, "y.yaml")


def test_wrong_kind_is_skipped_when_loading_documents() -> None:
    document = minimal()
    document["kind"] = "InferenceGraph"
    assert spec_error(document) == "x.yaml: no InferenceService found"


def test_parse_error_source_defaults_to_input() -> None:
    with pytest.raises(SpecError, match=r"^<input>: spec\.predictor\.minReplicas: "):
        parse_inference_service(with_predictor(minReplicas=-1))


# --- defaults ----------------------------------------------------------------------------------------


def test_component_defaults_are_kserve_defaults() -> None:
    """KServe: minReplicas 1, maxReplicas 0 (no limit), containerConcurrency 0 (unlimited), no canary."""
    service = parse_inference_service(minimal())
    predictor = service.spec.predictor
    assert predictor.minReplicas == 1
    assert predictor.maxReplicas == 0
    assert predictor.containerConcurrency == 0
    assert predictor.canaryTrafficPercent is None
    assert predictor.scaleMetric is None and predictor.scaleTarget is None
    assert predictor.logger is None and predictor.batcher is None
    assert service.spec.transformer is None


def test_namespace_defaults_to_default() -> None:
    """Kubernetes: an object without metadata.namespace lands in ``default``."""
    service = parse_inference_service(minimal())
    assert service.namespace == "default"


def test_api_version_and_kind_default_when_parsed_directly() -> None:
    document = minimal()
    del document["apiVersion"]
    del document["kind"]
    service = parse_inference_service(document)
    assert (service.apiVersion, service.kind) == ("serving.kserve.io/v1beta1", "InferenceService")


def test_batcher_defaults_are_kserve_defaults() -> None:
    """KServe batcher defaults (pkg/batcher/handler.go): maxBatchSize 32, maxLatency 5000 ms."""
    service = parse_inference_service(with_predictor(batcher={}))
    assert service.spec.predictor.batcher is not None
    assert (service.spec.predictor.batcher.maxBatchSize, service.spec.predictor.batcher.maxLatency) == (32, 5000)


def test_container_name_defaults_to_kserve_container() -> None:
    service = parse_inference_service(with_predictor(containers=[{"command": ["python", "-m", "m"]}]))
    assert service.spec.predictor.containers[0].name == "kserve-container"


# --- annotations -------------------------------------------------------------------------------------


def with_annotations(**annotations: str) -> InferenceService:
    document = minimal()
    document["metadata"]["annotations"] = annotations
    return parse_inference_service(document)


def deployment_mode(value: str | None) -> str:
    if value is None:
        return parse_inference_service(minimal()).deployment_mode
    return with_annotations(**{"serving.kserve.io/deploymentMode": value}).deployment_mode


def test_deployment_mode_defaults_to_knative() -> None:
    """KServe: without ``serving.kserve.io/deploymentMode`` the mode is the inferenceservice-config's
    ``deploy.defaultDeploymentMode``, shipped as ``Serverless`` (Knative); see ``local.modes``."""
    assert deployment_mode(None) == "Knative"


@pytest.mark.parametrize(
    ("annotation", "mode"),
    [("Knative", "Knative"), ("Serverless", "Knative"), ("Standard", "Standard"), ("RawDeployment", "Standard")],
)
def test_deployment_mode_annotation_accepts_current_and_legacy_names(annotation: str, mode: str) -> None:
    """KServe: ``Serverless`` is the legacy name of Knative mode, ``RawDeployment`` of Standard mode."""
    assert deployment_mode(annotation) == mode


def test_unknown_deployment_mode_is_passed_through() -> None:
    assert deployment_mode("ModelMesh") == "ModelMesh"


@pytest.mark.parametrize(("value", "enabled"), [("true", True), ("True", False), ("false", False), ("yes", False)])
def test_tag_routing_annotation(value: str, enabled: bool) -> None:
    """KServe's ksvc reconciler tags ``latest`` when ``serving.kserve.io/enable-tag-routing`` is exactly "true"."""
    assert with_annotations(**{"serving.kserve.io/enable-tag-routing": value}).tag_routing is enabled


def test_tag_routing_on_a_component_alone() -> None:
    """KServe reads the merged annotations: the component's own turns it on for that component."""
    document = minimal()
    document["spec"]["predictor"]["annotations"] = {"serving.kserve.io/enable-tag-routing": "true"}
    service = parse_inference_service(document)
    assert service.tag_routing_of("predictor") and service.tag_routing


def test_tag_routing_is_off_by_default() -> None:
    assert parse_inference_service(minimal()).tag_routing is False


# --- components and entry points ---------------------------------------------------------------------


def test_components_are_in_request_order_transformer_first() -> None:
    """KServe routes a request to the transformer, which calls the predictor."""
    document = minimal()
    # Even when the YAML lists the predictor first.
    document["spec"] = {"predictor": document["spec"]["predictor"], "transformer": document["spec"]["predictor"]}
    service = parse_inference_service(document)
    assert list(service.components()) == ["transformer", "predictor"]
    assert service.components()["predictor"] is service.spec.predictor


def test_components_without_transformer_is_predictor_only() -> None:
    assert list(parse_inference_service(minimal()).components()) == ["predictor"]


def component_with(*containers: dict[str, Any]) -> Any:
    return parse_inference_service(with_predictor(containers=list(containers))).spec.predictor


def test_entrypoint_is_python_dash_m_module_and_args() -> None:
    component = component_with(
        {"name": "kserve-container", "command": ["python", "-m", "predictors.sklearn"], "args": ["--a=1", "--b"]}
    )
    assert entrypoint_of(component, "spec.predictor") == EntryPoint("predictors.sklearn", ("--a=1", "--b"))


def test_entrypoint_accepts_python3_and_module_in_args() -> None:
    component = component_with({"command": ["python3"], "args": ["-m", "transformers.iris", "--x"]})
    assert entrypoint_of(component, "spec.transformer") == EntryPoint("transformers.iris", ("--x",))


def test_entrypoint_prefers_the_kserve_container() -> None:
    """KServe: the model server is the container named ``kserve-container``; others are sidecars."""
    component = component_with(
        {"name": "sidecar", "command": ["envoy"]},
        {"name": "kserve-container", "command": ["python", "-m", "predictors.sklearn"]},
    )
    assert entrypoint_of(component, "spec.predictor") == EntryPoint("predictors.sklearn", ())


def test_entrypoint_falls_back_to_the_first_container() -> None:
    component = component_with({"name": "model", "command": ["python", "-m", "m"]}, {"name": "other"})
    assert entrypoint_of(component, "spec.predictor").module == "m"


def test_entrypoint_without_containers_is_an_error() -> None:
    component = parse_inference_service(with_predictor(containers=[])).spec.predictor
    with pytest.raises(SpecError, match=r"^spec\.predictor\.containers: the local runtime needs a kserve-container"):
        entrypoint_of(component, "spec.predictor")


@pytest.mark.parametrize(
    "command",
    [["./serve"], ["python", "serve.py"], ["python", "-m"], ["python"], [], ["bash", "-m", "x"]],
)
def test_entrypoint_of_non_python_module_command_is_an_error(command: list[str]) -> None:
    component = component_with({"command": command})
    with pytest.raises(SpecError, match=r"^spec\.predictor\.containers\[0\]\.command: expected \['python', '-m'"):
        entrypoint_of(component, "spec.predictor")


def test_entrypoint_error_names_the_index_of_the_kserve_container() -> None:
    component = component_with(
        {"name": "sidecar", "command": ["envoy"]}, {"name": "kserve-container", "command": ["./x"]}
    )
    with pytest.raises(SpecError, match=r"^spec\.predictor\.containers\[1\]\.command: "):
        entrypoint_of(component, "spec.predictor")


# --- unhonoured fields -------------------------------------------------------------------------------


def test_unhonoured_fields_reports_a_typo_field() -> None:
    """A typo such as ``minReplica`` is not silently dropped: KServe would reject it, locally it is a warning."""
    service = parse_inference_service(with_predictor(minReplica=0))
    assert unhonoured_fields(service) == ["spec.predictor.minReplica"]
    assert service.spec.predictor.minReplicas == 1  # the typo did not set the real field


def test_unhonoured_fields_reports_unknown_fields_at_every_level() -> None:
    document = minimal(transformer=copy.deepcopy(minimal()["spec"]["predictor"]))
    document["status"] = {"url": "http://x"}  # server-owned, never reported
    document["metadata"]["uid"] = "1234"
    document["spec"]["explainer"] = {"containers": []}
    document["spec"]["predictor"]["pytorch"] = {"storageUri": "gs://b/m"}  # a format with no local runtime
    document["spec"]["predictor"]["batcher"] = {"maxBatchSize": 4, "extra": 1}
    document["spec"]["transformer"]["containers"][0]["volumeMounts"] = []
    service = parse_inference_service(document)
    assert unhonoured_fields(service) == [
        "metadata.uid",
        "spec.explainer",
        "spec.predictor.batcher.extra",
        "spec.predictor.pytorch",
        "spec.transformer.containers[0].volumeMounts",
    ]


def test_unhonoured_fields_reports_container_fields_the_local_runtime_ignores() -> None:
    """Images, ports, resources, securityContext and env only matter on a cluster."""
    service = parse_inference_service(
        with_predictor(
            serviceAccountName="sa",
            containers=[
                {"name": "kserve-container", "command": ["python", "-m", "m"], "image": "i", "env": [], "ports": []},
                {"name": "side", "resources": {}, "securityContext": {}},
            ],
        )
    )
    assert unhonoured_fields(service) == [
        "spec.predictor.containers[0].env",
        "spec.predictor.containers[0].image",
        "spec.predictor.containers[0].ports",
        "spec.predictor.containers[1].resources",
        "spec.predictor.containers[1].securityContext",
        "spec.predictor.serviceAccountName",
    ]


@pytest.mark.parametrize("metric", ["cpu", "memory", "rps"])
def test_unhonoured_fields_reports_resource_scale_metrics(metric: str) -> None:
    """KServe's HPA metrics (cpu, memory) and Knative's rps have no local equivalent; concurrency does."""
    service = parse_inference_service(with_predictor(scaleMetric=metric, scaleTarget=70))
    assert unhonoured_fields(service) == ["spec.predictor.scaleMetric"]


def test_unhonoured_fields_does_not_report_honoured_fields() -> None:
    document = with_predictor(
        minReplicas=0,
        maxReplicas=3,
        scaleMetric="concurrency",
        scaleTarget=5,
        containerConcurrency=10,
        canaryTrafficPercent=10,
        timeout=30,  # Knative's revision timeout: honoured (local.limits)
        logger={"mode": "request", "url": "http://sink", "metadataHeaders": ["x"]},
        annotations={"autoscaling.knative.dev/window": "30s"},
    )
    document["metadata"].update(
        namespace="ns",
        annotations={"serving.kserve.io/enable-tag-routing": "true", "isvc-kit.io/placement": "separate"},
    )
    assert unhonoured_fields(parse_inference_service(document)) == []


def test_unhonoured_fields_reports_labels_and_annotations_nothing_reads() -> None:
    """Labels only label pods on a cluster; an annotation the runtime does not read is reported by its key."""
    document = with_predictor(
        labels={"team": "a"},
        annotations={"autoscaling.knative.dev/window": "30s", "autoscaling.knative.dev/metric": "rps", "x/y": "1"},
    )
    document["metadata"].update(labels={"l": "v"}, annotations={"a": "b"})
    assert unhonoured_fields(parse_inference_service(document)) == [
        "metadata.annotations[a]",
        "metadata.labels",
        "spec.predictor.annotations[autoscaling.knative.dev/metric]",
        "spec.predictor.annotations[x/y]",
        "spec.predictor.labels",
    ]


def test_unhonoured_fields_reports_each_path_once_sorted() -> None:
    """Two components with the same unknown field give two paths; one path is never listed twice."""
    transformer = copy.deepcopy(minimal()["spec"]["predictor"])
    transformer["containers"][0]["image"] = "t"
    transformer["foo"] = 1
    document = minimal(transformer=transformer)
    document["spec"]["predictor"]["foo"] = 1
    document["spec"]["predictor"]["containers"][0]["image"] = "p"
    found = unhonoured_fields(parse_inference_service(document))
    assert found == sorted(set(found))
    assert found == [
        "spec.predictor.containers[0].image",
        "spec.predictor.foo",
        "spec.transformer.containers[0].image",
        "spec.transformer.foo",
    ]


def test_unhonoured_fields_of_the_iris_manifest_are_the_cluster_only_container_fields() -> None:
    (service,) = load_inference_services(MANIFESTS / "iris.yaml")
    assert unhonoured_fields(service) == [
        f"spec.{component}.containers[0].{field}"
        for component in ("predictor", "transformer")
        for field in ("image", "ports", "resources", "securityContext")
    ]


def test_unhonoured_fields_reports_an_rps_scale_target_the_planner_ignores() -> None:
    """KServe: ``scaleMetric: rps`` + ``scaleTarget`` is a Knative RPS target; the spec promises no silent drop."""
    from local.autoscaling import autoscaling_for

    service = parse_inference_service(with_predictor(scaleMetric="rps", scaleTarget=5))
    mapped = autoscaling_for(service.spec.predictor, {}, "spec.predictor").target_ongoing_requests == 5.0
    assert mapped or "spec.predictor.scaleMetric" in unhonoured_fields(service)


def test_the_batcher_is_honoured_and_planned_with_its_fields() -> None:
    """KServe's batcher is served locally (local.batching): not reported, and part of the revision."""
    from local.plan import BatchingPlan, plan_service

    service = parse_inference_service(with_predictor(batcher={"maxBatchSize": 4, "maxLatency": 100}))
    assert unhonoured_fields(service) == []
    revision = plan_service(service).components["predictor"].state.latest
    assert revision is not None and revision.batching == BatchingPlan(max_batch_size=4, max_latency_ms=100)
