"""The traffic split of a component: one typed model for the planner, the router, the status and the CLI.

A ``TrafficTarget`` is one entry of KServe's ``status.components.<c>.traffic[]`` (Knative's route
status: ``revisionName``, ``percent``, ``tag``, ``latestRevision``, ``url``). The planner makes them
(``local.plan.route_traffic``), the gateway draws a revision from them (``pick``, ``tagged``), the
CLI finds the canary of a split (``canary``), the
status renders them (``to_status``) and the cluster client reads a cluster's back (``parse``): the same
objects throughout, so a split means one thing everywhere. Pure: no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrafficTarget:
    revision: str
    percent: int
    tag: str | None = None
    latest_revision: bool = False
    url: str | None = None  # a cluster's route gives one per tagged target; the local status gives none

    def to_status(self) -> dict[str, Any]:
        """The entry as KServe writes it in ``status.components.<c>.traffic``."""
        entry: dict[str, Any] = {"revisionName": self.revision, "percent": self.percent}
        entry["latestRevision"] = self.latest_revision
        if self.tag:
            entry["tag"] = self.tag
        if self.url:
            entry["url"] = self.url
        return entry

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> TrafficTarget:
        """An entry of a status read back (a cluster's, or the local runtime's)."""
        return cls(
            revision=str(raw.get("revisionName") or ""),
            percent=int(raw.get("percent") or 0),
            tag=raw.get("tag") or None,
            latest_revision=bool(raw.get("latestRevision", False)),
            url=raw.get("url"),
        )


def canary(targets: Sequence[TrafficTarget]) -> TrafficTarget | None:
    """The canary of a split in progress: the ``latestRevision`` target beside a ``prev`` one of another
    revision (KServe tags ``prev`` always, ``latest`` only with tag routing), or None when one revision
    takes everything."""
    if not any(t.tag == "prev" for t in targets) or len({t.revision for t in targets}) < 2:
        return None  # no split, or one whose new revision is not ready: every target names the same one
    return next((t for t in targets if t.latest_revision), None)


def revisions(targets: Sequence[TrafficTarget]) -> tuple[str, ...]:
    """Each revision a split names, once, in order (a split may name one twice: ``canary``)."""
    return tuple(dict.fromkeys(t.revision for t in targets))


def tagged(targets: Sequence[TrafficTarget], tag: str) -> str | None:
    """The revision that carries ``tag`` (``latest``, ``prev``), if any."""
    return next((t.revision for t in targets if t.tag == tag), None)


def pick(targets: Sequence[TrafficTarget], rng: random.Random) -> str | None:
    """A revision drawn with the split's percentages (None when no revision has any)."""
    weighted = [(t.revision, t.percent) for t in targets if t.percent > 0]
    if not weighted:
        return None
    if len(weighted) == 1:
        return weighted[0][0]
    revisions, weights = zip(*weighted, strict=True)
    return rng.choices(revisions, weights=weights)[0]
