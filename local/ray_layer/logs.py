"""What a unit's replicas wrote: the files behind `isvc logs`, read from the Ray session's log directory.

Replicas run with ``log_to_driver`` off, so a ``print`` in a predictor, a line of its ``logging`` and a
traceback of its ``load()`` land in files of the Ray session (``<session>/logs``):
``worker-<id>-<job>-<pid>.out|.err`` (the process's stdout and stderr) and
``serve/replica_<app>_<deployment>_<replica>.log`` (Serve's replica logger). Which pids are a unit's
replicas comes from the Serve controller's own log ("Replica(id=..., app='<app>') started successfully
... (PID: <pid>)"), replicas that stopped included, as ``kubectl logs --previous`` would show them.

``read_lines`` returns the lines appended since a cursor (file -> offset), so a follower asks again with
the cursor it got. Pure file reading; the Ray layer supplies the session directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

STARTED = re.compile(r"Replica\(id='([^']+)', deployment='[^']+', app='([^']+)'\) started successfully.*\(PID: (\d+)\)")
MAX_BYTES_PER_READ = 1 << 20


def replicas_of(logs_dir: Path, apps: Iterable[str]) -> list[tuple[str, str, int]]:
    """(app, replica id, pid) of every replica the controller started for ``apps``, oldest first."""
    wanted = set(apps)
    found = []
    for controller_log in sorted((logs_dir / "serve").glob("controller_*.log")):
        with controller_log.open(errors="replace") as handle:
            for line in handle:
                match = STARTED.search(line)
                if match and match.group(2) in wanted:
                    found.append((match.group(2), match.group(1), int(match.group(3))))
    return found


def log_files(logs_dir: Path, apps: Iterable[str]) -> list[Path]:
    """The stdout, stderr and Serve log files of the replicas of ``apps``."""
    files: list[Path] = []
    for app, replica, pid in replicas_of(logs_dir, apps):
        files += sorted(logs_dir.glob(f"worker-*-{pid}.out")) + sorted(logs_dir.glob(f"worker-*-{pid}.err"))
        files += sorted((logs_dir / "serve").glob(f"replica_{glob_escape(app)}_*_{replica}.log"))
    return files


def glob_escape(text: str) -> str:
    return re.sub(r"([\[\]*?])", r"[\1]", text)


def read_lines(files: Iterable[Path], cursor: dict[str, int]) -> tuple[list[str], dict[str, int]]:
    """Lines appended to ``files`` since ``cursor``, prefixed with their process; and the new cursor."""
    lines: list[str] = []
    after = dict(cursor)
    for path in files:
        key = str(path)
        offset = after.get(key, 0)
        try:
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read(MAX_BYTES_PER_READ)
        except OSError:
            continue
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line still being written waits for the next read
        after[key] = offset + len(complete)
        label = _label(path)
        lines += [f"[{label}] {line}" for line in complete.decode(errors="replace").splitlines() if line.strip()]
    return lines, after


def _label(path: Path) -> str:
    if path.suffix in (".out", ".err"):
        return f"pid {path.stem.rsplit('-', 1)[-1]} {path.suffix[1:]}"
    return f"serve {path.stem.rsplit('_', 1)[-1]}"
