"""Canary rollouts on a real KServe cluster (``isvc rollout ... --cluster``), and the pure rollout model
shared with the local runtime.

The rollout model is pure (no I/O), in three modules: ``local.cluster.patches`` validates and builds the
JSON merge patches, ``local.cluster.status`` parses rollout status (and holds the wait predicates),
``local.cluster.history`` builds history rows. ``local.cluster.rollout`` re-exports all of their public
names (import from there). ``local.cluster.client`` talks to the cluster through the ``kubernetes`` client.
KServe routing semantics (from its controller): see the ``status`` module docstring. Promotion *removes*
``canaryTrafficPercent`` (merge patch ``null``), as KServe's canary docs do; roll back is ``0`` (see
``patches``).

Public API (all re-exported by ``local.cluster.rollout``)
---------------------------------------------------------

``local.cluster.patches``::

    COMPONENTS = ("predictor", "transformer", "explainer")
    validate_percent(percent: int | str) -> int            # SpecError unless an integer 0..100
    validate_component(component: str) -> str             # SpecError unless one of COMPONENTS
    canary_patch(component, percent) -> {"spec": {component: {"canaryTrafficPercent": P}}}
    promote_patch(component)         -> {"spec": {component: {"canaryTrafficPercent": None}}}   # removes it
    rollback_patch(component)        -> {"spec": {component: {"canaryTrafficPercent": 0}}}
    require_component(resource: dict, component) -> None  # NotFoundError if spec has no such component

``local.cluster.status``::

    RolloutStatus.parse(obj) -> RolloutStatus   # a whole InferenceService dict (cluster, or the local
                                                # runtime's as_resource()) or a bare status dict (status())
      .name .namespace .url .conditions: tuple[Condition] .generation .observed_generation
      .components: Mapping[str, ComponentRollout]   # predictor, transformer, explainer order
      .ready -> bool | None      .up_to_date -> bool (observedGeneration >= generation)
      .component(name) -> ComponentRollout        # NotFoundError if absent
      .condition(type) -> Condition | None
    ComponentRollout: .component .latest_created .latest_ready .latest_rolled_out .previous_rolled_out
      .traffic: tuple[TrafficEntry(revision, percent, tag, latest_revision, url)] .url
      .canary_traffic_percent (spec; None if unset/unknown) .ready (<Component>Ready) .message
      .phase -> "stable" | "canary" | "rolled-back" | "progressing" | "failed" | "pending"
      .percent_of(revision) -> int   .tags_of(revision) -> tuple[str]
      .latest_percent -> int | None  .stable_percent -> int   .canary_revision -> str | None
    Condition(type, status, reason, message, last_transition_time).is_true

    STATUS_HEADERS; status_rows(status) -> list[tuple]         # for local.cli._output.table

    # predicates over RolloutStatus, for ClusterClient.wait_for (or polling the local runtime)
    canary_applied(component, percent) / promoted(component) / rolled_back(component) / ready()

``local.cluster.history``::

    HISTORY_HEADERS; RevisionInfo.row() -> tuple               # COMPONENT REVISION CREATED READY TRAFFIC TAG ROLE
    RevisionInfo(name, component, created, ready, traffic_percent, tags, roles, generation, reason)
      .role -> "latest,rolled-out" ...   roles from ROLE_LATEST / ROLE_ROLLED_OUT / ROLE_PREVIOUS / ROLE_FAILED
    revision_history(revision_list: dict | list[dict], status) -> list[RevisionInfo]   # Knative RevisionList
    history_from_status(status) -> list[RevisionInfo]          # local runtime: revisions named by the status

``local.cluster.client``::

    ClusterClient(namespace: str, context: str | None = None, *, api=None, sleep=time.sleep,
                  clock=time.monotonic)     # api=None: CustomObjectsApi from load_kube_config(context=...)
      .get_isvc(name) -> dict                     # the InferenceService object
      .status(name) -> RolloutStatus
      .patch_isvc(name, body) -> dict             # Content-Type application/merge-patch+json
      .apply_isvc(manifest) -> dict               # create, or merge-patch spec/labels/annotations if it exists
      .delete_isvc(name) -> None
      .has_kserve() -> bool                       # the InferenceService CRD is served
      .list_revisions(name) -> dict               # serving.knative.dev/v1 RevisionList, label
                                                  #   serving.kserve.io/inferenceservice=<name>
      .wait_for(name, predicate, timeout, interval=2.0) -> RolloutStatus   # IsvcError on timeout
    load_api(context=None) -> CustomObjectsApi    # IsvcError "no kubeconfig: ... --cluster needs ..."

Errors are ``local.errors``: NotFoundError (404), ConflictError (409), SpecError (400/422 and bad
percent/component), IsvcError otherwise (403, 5xx, unreachable, timeout, no kubeconfig).

A CLI sketch (``isvc rollout canary NAME --percent P --cluster``)::

    cluster = ClusterClient(namespace, context)
    require_component(cluster.get_isvc(name), component)
    cluster.patch_isvc(name, canary_patch(component, percent))
    status = cluster.wait_for(name, canary_applied(component, percent), timeout=300)
    print(table(STATUS_HEADERS, status_rows(status)))
    # history: revision_history(cluster.list_revisions(name), cluster.status(name))
"""
