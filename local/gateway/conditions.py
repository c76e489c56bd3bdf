"""The InferenceService's status conditions, named and computed as KServe and Knative compute them.

Pure: from each component's plan (its revisions, which failed and why, its traffic), the revisions that
are ready and the deployment mode, to the list of conditions in ``status.conditions``.

Per component (``pkg/apis/serving/v1beta1/inference_service_status.go``):

* **Knative mode** (``PropagateStatus``): ``<C>Ready`` is the Knative Service's Ready, the conjunction of
  ``<C>ConfigurationReady`` and ``<C>RouteReady``. The configuration is True once its latest created
  revision is ready and False, reason ``RevisionFailed``, message ``Revision "<name>" failed with message:
  <why>.`` once that revision failed (knative/serving ``pkg/apis/serving/v1/configuration_lifecycle.go``:
  ``MarkLatestCreatedFailed``); it turns True again only when a *later* revision is ready
  (``SetLatestReadyRevisionName``), so a failure belongs to its revision and clears after it. The route
  is True while it has traffic, else False, reason ``RevisionMissing``, ``Configuration "<name>" does not
  have any ready Revision.`` (``route_lifecycle.go``: ``MarkConfigurationFailed``). The Service reconciler
  propagates the configuration, then the route; the last False one gives Ready its reason and message
  (knative.dev/pkg ``ConditionManager.MarkFalse``). ``LatestDeploymentReady`` and ``RoutesReady`` gather
  the components (``PropagateCrossComponentStatus``: reason ``<C>ConfigurationReady not ready``).
* **Standard mode** (``PropagateRawStatus``): from the Deployment's conditions: True
  ``NewReplicaSetAvailable``; an update that never became ready, ``ProgressDeadlineExceeded``; no replica
  ready at all, ``MinimumReplicasUnavailable`` (Kubernetes' own reasons and messages; locally the
  revision's failure is appended, since the local runtime knows it).

``IngressReady``, as KServe sets it, depends on the ingress path
(``pkg/controller/v1beta1/inferenceservice/reconcilers/ingress``):

* Knative mode with Istio (``ingress_reconciler.go``: ``reconcileVirtualService`` calls ``createIngress``):
  while ``PredictorReady`` (then ``TransformerReady``) is not True, ``IngressReady`` takes its status (False,
  or Unknown while it is Unknown), reason ``Predictor ingress not created`` / ``Transformer ingress not
  created``. ``Reconcile`` then sets it True in the same pass once the component has a URL, which
  ``PropagateStatus`` gives it the first time its Knative Service is Ready and never takes away: from the
  first ready revision on it is True, a failed canary included.
* Knative mode without Istio's VirtualService CRD (Kourier): ``createIngress`` is never called, so the
  condition stays Unknown with no reason (``InitializeConditions``) until the component has a URL, then True.
* Standard mode with a Kubernetes Ingress (``kube_ingress_reconciler.go``: ``createRawIngress``): False,
  ``Predictor ingress not created``, in every pass in which ``PredictorReady`` is not True, a failed update
  whose old replicas still serve included; True at once for a cluster-local service or with ingress creation
  disabled.

``Ready`` is KServe's living condition set over ``PredictorReady`` and ``IngressReady``
(``inference_service_status.go``: ``conditionSet``). knative.dev/pkg's ``MarkFalse`` (``apis/condition_set.go``;
``MarkUnknown`` too while no dependent is False) gives Ready the reason and message of the dependent it
marks, so within a reconcile the dependent marked *last* wins; ``IngressReady`` is set after
``PredictorReady``, so where KServe sets it not True (Istio before the first URL, Standard mode whenever the
predictor is not ready) Ready says ``Predictor ingress not created``, with no message. ``MarkTrue`` (Istio,
once there is a URL) recomputes Ready from the False dependent that changed most recently: the predictor's
own reason again.

Locally, where the gateway is the one ingress and routes a component as soon as it has traffic, one rule
serves both modes: ``IngressReady`` is False, ``<C> ingress not created``, until each component has traffic,
then True, as on the Istio path once a URL exists. It differs from KServe in that it is never Unknown (Istio
before a ready revision, Kourier), and that a Standard-mode update that failed while the old replicas serve
keeps it True. ``Ready`` takes the reason and message of the first of ``PredictorReady``, ``TransformerReady``
and ``IngressReady`` that is not True, so it always names the component's failure (what ``isvc apply``
prints) rather than ``... ingress not created``; ``TransformerReady`` counts (KServe's set leaves it out), so
a failed transformer revision is never reported Ready. Conditions are sorted by type, as Knative keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

from local.plan import ComponentPlan

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""

    @property
    def is_true(self) -> bool:
        return self.status == TRUE

    def as_dict(self) -> dict[str, Any]:
        return (
            {"type": self.type, "status": self.status}
            | ({"reason": self.reason} if self.reason else {})
            | ({"message": self.message} if self.message else {})
        )


def _title(component: str) -> str:
    return component[:1].upper() + component[1:]


def _latest_failure(plan: ComponentPlan) -> tuple[str, str] | None:
    """(revision, why) when the component's latest created revision failed; later revisions clear it."""
    latest = plan.state.latest
    if latest is None or latest.name not in plan.state.failed:
        return None
    return latest.name, plan.state.failed[latest.name]


def knative_component(service: str, component: str, plan: ComponentPlan, ready: Set[str]) -> list[Condition]:
    """``<C>ConfigurationReady``, ``<C>RouteReady`` and ``<C>Ready`` of one component in Knative mode."""
    title, configuration = _title(component), f"{service}-{component}"
    latest = plan.state.latest
    failure = _latest_failure(plan)
    if failure is not None:
        revision, why = failure
        config = Condition(
            f"{title}ConfigurationReady", FALSE, "RevisionFailed", f'Revision "{revision}" failed with message: {why}.'
        )
    elif latest is not None and latest.name in ready:
        config = Condition(f"{title}ConfigurationReady", TRUE)
    else:
        config = Condition(f"{title}ConfigurationReady", UNKNOWN)
    if plan.traffic:
        route = Condition(f"{title}RouteReady", TRUE)
    elif failure is not None:
        message = f'Configuration "{configuration}" does not have any ready Revision.'
        route = Condition(f"{title}RouteReady", FALSE, "RevisionMissing", message)
    else:
        message = f'Configuration "{configuration}" is waiting for a Revision to become ready.'
        route = Condition(f"{title}RouteReady", UNKNOWN, "RevisionMissing", message)
    if config.is_true and route.is_true:
        overall = Condition(f"{title}Ready", TRUE)
    else:
        # The route is propagated after the configuration: a False route's reason wins.
        cause = route if route.status == FALSE or (config.status != FALSE and route.status == UNKNOWN) else config
        status = FALSE if FALSE in (config.status, route.status) else UNKNOWN
        overall = Condition(f"{title}Ready", status, cause.reason, cause.message)
    return [config, route, overall]


def standard_component(component: str, plan: ComponentPlan, ready: Set[str]) -> list[Condition]:
    """``<C>Ready`` of one component in Standard mode, from what its Deployment's conditions would say."""
    title = _title(component)
    latest = plan.state.latest
    failure = _latest_failure(plan)
    if failure is not None:
        revision, why = failure
        if plan.traffic:
            message = f'ReplicaSet "{revision}" has timed out progressing: {why}'
            return [Condition(f"{title}Ready", FALSE, "ProgressDeadlineExceeded", message)]
        message = f"Deployment does not have minimum availability: {why}"
        return [Condition(f"{title}Ready", FALSE, "MinimumReplicasUnavailable", message)]
    if latest is not None and latest.name in ready and plan.traffic:
        message = f'ReplicaSet "{latest.name}" has successfully progressed.'
        return [Condition(f"{title}Ready", TRUE, "NewReplicaSetAvailable", message)]
    return [Condition(f"{title}Ready", UNKNOWN, "ReplicaSetUpdated")]


def _cross_component(kind: str, conditions: Mapping[str, Condition], components: list[str]) -> Condition:
    """``PropagateCrossComponentStatus``: the last component not ready gives the reason."""
    result = Condition(kind, TRUE)
    suffix = "ConfigurationReady" if kind == "LatestDeploymentReady" else "RouteReady"
    for component in components:
        own = conditions[f"{_title(component)}{suffix}"]
        if not own.is_true:
            result = Condition(kind, UNKNOWN if own.status == UNKNOWN else FALSE, f"{own.type} not ready")
    return result


def service_conditions(
    service: str, plans: Mapping[str, ComponentPlan], ready: Set[str], standard: bool
) -> list[Condition]:
    """Every condition of ``status.conditions``, sorted by type."""
    order = [c for c in ("predictor", "transformer") if c in plans]
    found: dict[str, Condition] = {}
    for component in order:
        own = (
            standard_component(component, plans[component], ready)
            if standard
            else knative_component(service, component, plans[component], ready)
        )
        found.update({condition.type: condition for condition in own})
    if not standard:
        for kind in ("LatestDeploymentReady", "RoutesReady"):
            found[kind] = _cross_component(kind, found, order)
    missing = next((c for c in order if not plans[c].traffic), None)
    if missing is None:
        found["IngressReady"] = Condition("IngressReady", TRUE)
    else:
        found["IngressReady"] = Condition("IngressReady", FALSE, f"{_title(missing)} ingress not created")
    gating = [found[f"{_title(c)}Ready"] for c in order] + [found["IngressReady"]]
    blocking = next((c for c in gating if not c.is_true), None)
    if blocking is None:
        found["Ready"] = Condition("Ready", TRUE)
    else:
        found["Ready"] = Condition("Ready", blocking.status, blocking.reason, blocking.message)
    return [found[kind] for kind in sorted(found)]


def is_ready(conditions: list[Condition]) -> bool:
    return any(c.type == "Ready" and c.is_true for c in conditions)
