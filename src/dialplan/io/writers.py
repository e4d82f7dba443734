"""Write a plan directory atomically (contract 4).

Everything is written into a temporary sibling directory, each file flushed and fsynced, and
only then moved into place, so a dialer never imports a half-written plan.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd

from ..errors import PlanError

CSV_OPTS = dict(index=False, lineterminator="\n", float_format="%.12g")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, **CSV_OPTS)
        fh.flush()
        os.fsync(fh.fileno())


def stage_plan_dir(out: Path, tables: dict[str, pd.DataFrame], queues: dict[str, pd.DataFrame], summary: dict) -> Path:
    """Write the plan into a temporary sibling of ``out`` and return its path; nothing a
    dialer reads has changed yet."""
    out = Path(out)
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = parent / f".{out.name}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        (tmp / "queues").mkdir(parents=True)
        for name, frame in tables.items():
            _write_csv(frame, tmp / name)
        for seat, frame in queues.items():
            _write_csv(frame, tmp / "queues" / f"{seat}.csv")
        with (tmp / "summary.json").open("w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp / "queues")
        _fsync_dir(tmp)
    except OSError as exc:
        raise PlanError(f"{out}: cannot write plan ({exc.strerror or exc.__class__.__name__})") from None
    return tmp


def publish(tmp: Path, out: Path) -> None:
    """Move a staged plan into place, replacing the previous one only once it is complete."""
    out = Path(out)
    parent = out.parent
    try:
        old = None
        if out.exists():
            old = parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        _fsync_dir(parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise PlanError(f"{out}: cannot publish plan ({exc.strerror or exc.__class__.__name__})") from None


def discard(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
