"""Deployment modes: which of KServe's two modes a service runs in, and what Standard mode does to scaling.

Which mode, as KServe decides it (``pkg/controller/v1beta1/inferenceservice/utils/utils.go``:
``GetDeploymentMode``): the mode already recorded in ``status.deploymentMode``, else the annotation
``serving.kserve.io/deploymentMode`` (``Standard`` or ``Knative``; the legacy names ``RawDeployment`` and
``Serverless`` are normalised to them inline in ``GetDeploymentMode`` itself), else the
``inferenceservice-config`` ConfigMap's ``deploy.defaultDeploymentMode`` (its legacy names normalised when
the ConfigMap is read, ``pkg/apis/serving/v1beta1/configmap.go``: ``NewDeployConfig``). Only the recorded
``status.deploymentMode`` goes through ``pkg/constants/constants.go``: ``ParseDeploymentMode``, which
normalises the legacy names there too. The release ships the ConfigMap value as
``"Serverless"`` (``config/configmap/inferenceservice.yaml``; the Helm chart's
``kserve.controller.deploymentMode: Knative``), so a service without the annotation runs in **Knative**
mode on a default install. ``constants.DefaultDeployment = Standard`` is only what ``ParseDeploymentMode``
answers for an empty string (which ``GetDeploymentMode`` never passes it); it is not the install's
default. (Read at kserve/kserve ``v0.20.0`` and at the later master ``aaac4e2``, the same on every point
here; the pinned Python package is 0.21.)

Standard mode is a Kubernetes Deployment with an HPA (``reconcilers/hpa/hpa_reconciler.go``:
``createHPA``, ``getHPAMetrics``), and locally:

* no revisions and no canary: a spec change is a rolling update of the one Deployment, so
  ``canaryTrafficPercent`` is ignored. KServe says nothing about it: neither its webhook nor its
  controller warns, the field is read only by the Knative-mode ``reconcilers/knative/ksvc_reconciler.go``,
  so a Standard-mode service silently drops it; the kit warns (``local.unhonoured``);
* ``minReplicas`` below 1 becomes 1 (``constants.DefaultMinReplicas``: an HPA cannot scale to zero), and
  ``maxReplicas`` below ``minReplicas`` (0 included, the default) becomes ``minReplicas``: no scaling;
* the metric is CPU utilisation, target ``scaleTarget`` % (default 80, ``constants.DefaultCPUUtilization``),
  or memory. Ray Serve scales on requests in flight only, so CPU is *approximated*: a replica that serves
  one request at a time and is busy U % of the time has, by Little's law, U/100 requests in flight on
  average, so ``target_ongoing_requests = scaleTarget / 100`` (80 % -> 0.8: one saturating client asks for
  ceil(1 / 0.8) = 2 replicas, as the HPA's ceil(1 x 100 / 80) does). Memory, and ``concurrency``/``rps``
  (which ``getHPAMetrics`` turns into no metric, so the HPA falls back to 80 % CPU), are scaled as that
  default and reported;
* scale-down waits the HPA's default stabilisation window (300 s, kube-controller-manager's
  ``--horizontal-pod-autoscaler-downscale-stabilization``); Knative's ``autoscaling.knative.dev/*``
  annotations do not apply and are reported.

Pure: depends on ``local.spec`` only; the planner (``local.plan``) and the warnings (``local.unhonoured``)
read these rules from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from local.spec import ComponentSpec, InferenceService

KNATIVE = "Knative"
STANDARD = "Standard"
HPA_DEFAULT_CPU_UTILIZATION = 80  # constants.DefaultCPUUtilization
HPA_MIN_REPLICAS = 1  # constants.DefaultMinReplicas
HPA_DOWNSCALE_STABILIZATION_S = 300.0


def is_standard(service: InferenceService) -> bool:
    """Standard (raw Deployment) mode; any other mode is served with Knative's semantics."""
    return service.deployment_mode == STANDARD


@dataclass(frozen=True)
class HpaScaling:
    """A Standard-mode component's replicas and target, as its HPA would have them, in Ray's terms."""

    min_replicas: int
    max_replicas: int
    target_ongoing_requests: float
    approximated: str
    """How the metric was mapped, for the warnings ("" when the default CPU target applies unasked)."""


def hpa_scaling(component: ComponentSpec) -> HpaScaling:
    """``createHPA``'s replica bounds and ``getHPAMetrics``'s target, mapped onto Ray Serve's autoscaling."""
    min_replicas = max(component.minReplicas, HPA_MIN_REPLICAS)
    max_replicas = max(component.maxReplicas, min_replicas)
    metric = component.scaleMetric
    if metric in (None, "cpu"):
        utilization = component.scaleTarget or HPA_DEFAULT_CPU_UTILIZATION
        note = "" if metric is None else f"CPU {utilization}% approximated as {utilization / 100:g} requests in flight"
        return HpaScaling(min_replicas, max_replicas, utilization / 100, note)
    default = HPA_DEFAULT_CPU_UTILIZATION / 100
    note = f"{metric} has no Ray Serve equivalent in Standard mode: scaled as CPU 80% ({default:g} requests in flight)"
    return HpaScaling(min_replicas, max_replicas, default, note)
