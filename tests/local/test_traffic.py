"""local/traffic.py: one traffic model from the planner to the status, the router and the CLI."""

from __future__ import annotations

import random

from local import traffic
from local.traffic import TrafficTarget


def test_an_entry_reads_back_what_it_writes_as_kserve_writes_it() -> None:
    canary = TrafficTarget("iris-predictor-00002", 20, tag="latest", latest_revision=True)
    assert canary.to_status() == {
        "revisionName": "iris-predictor-00002",
        "percent": 20,
        "latestRevision": True,
        "tag": "latest",
    }
    assert TrafficTarget.parse(canary.to_status()) == canary
    routed = {"revisionName": "r1", "percent": 80, "tag": "prev", "latestRevision": False, "url": "http://prev-x"}
    assert TrafficTarget.parse(routed).to_status() == routed  # a cluster's entry, url included


def test_the_router_draws_by_the_split_and_finds_tags() -> None:
    split = (TrafficTarget("r2", 20, "latest", True), TrafficTarget("r1", 80, "prev"))
    rng = random.Random(7)
    drawn = [traffic.pick(split, rng) for _ in range(2000)]
    assert 0.17 < drawn.count("r2") / len(drawn) < 0.23
    assert traffic.tagged(split, "prev") == "r1" and traffic.tagged(split, "nope") is None
    assert traffic.pick((TrafficTarget("r2", 0, "latest", True),), rng) is None


def test_the_canary_is_the_latest_target_beside_prev_tagged_or_not() -> None:
    untagged = (TrafficTarget("r2", 20, None, True), TrafficTarget("r1", 80, "prev"))
    assert traffic.canary(untagged) == untagged[0]  # KServe without tag routing: only prev has a tag
    tagged = (TrafficTarget("r2", 0, "latest", True), TrafficTarget("r1", 100, "prev"))
    assert traffic.canary(tagged) == tagged[0]
    assert traffic.canary((TrafficTarget("r2", 100, "latest", True),)) is None  # rolled out: no split
    assert traffic.canary(()) is None
    # A canary whose revision is not ready: Knative's latestRevision target names the rolled-out one too.
    assert traffic.canary((TrafficTarget("r1", 20, None, True), TrafficTarget("r1", 80, "prev"))) is None
