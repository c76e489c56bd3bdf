"""Memory as PSS (proportional set size): pages shared between processes counted once in the sum.

RSS summed over Ray's processes counts every shared library and copy-on-write page once per process;
PSS divides each page by the number of processes mapping it, so the sum over a runtime is what it
costs (Linux ``/proc/PID/smaps_rollup``, psutil ``memory_full_info().pss``). ``breakdown`` names each
process by its title (Ray sets ``ray::ServeReplica:APP:DEPLOYMENT``, ``ray::ServeController`` ...) so
the report can say what each one costs. When the runtime offers ``local.ray_layer.head.runtime_pss``
(a psutil walk of a process tree, no Ray import), its total is recorded beside the bench's own as a
cross-check; the bench's figure also counts session members that left the tree.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

MIB = 2**20


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    label: str
    pss_mib: float
    rss_mib: float


def label_of(cmdline: Sequence[str], name: str) -> str:
    """A short, stable name for a process from its command line (pure, unit-tested)."""
    if not cmdline:
        return name
    first = cmdline[0]
    if first.startswith("ray::"):
        return first.split()[0]
    program = Path(first).name
    if "-m" in cmdline[:-1]:
        module = cmdline[cmdline.index("-m") + 1]
        rest = [arg for arg in cmdline[cmdline.index("-m") + 2 :] if not arg.startswith("-")][:1]
        return " ".join(["python -m", module, *rest])
    for arg in cmdline[1:]:
        if arg.endswith(".py"):
            return Path(arg).name
    if program.startswith("python") and len(cmdline) > 1 and not cmdline[1].startswith("-"):
        return " ".join([Path(cmdline[1]).name, *cmdline[2:3]])  # a console script: `isvc up`
    return program


def breakdown(procs: Sequence[psutil.Process]) -> list[ProcessMemory]:
    rows = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            info = proc.memory_full_info()
            label = label_of(proc.cmdline(), proc.name())
            rows.append(ProcessMemory(proc.pid, label, info.pss / MIB, info.rss / MIB))
    return sorted(rows, key=lambda row: -row.pss_mib)


def summary(procs: Sequence[psutil.Process]) -> dict[str, Any]:
    rows = breakdown(procs)
    return {
        "pss_mib": sum(row.pss_mib for row in rows),
        "rss_mib": sum(row.rss_mib for row in rows),
        "processes": len(rows),
        "by_process": [{"pid": r.pid, "label": r.label, "pss_mib": r.pss_mib, "rss_mib": r.rss_mib} for r in rows],
    }


def runtime_pss_mib(root_pids: Sequence[int]) -> float | None:
    """The runtime's own PSS total (``local.ray_layer.head.runtime_pss``), None where it is not offered."""
    with contextlib.suppress(ImportError, AttributeError):
        function = importlib.import_module("local.ray_layer.head").runtime_pss
        return float(sum(row.pss_mib for row in function(list(root_pids))))
    return None
