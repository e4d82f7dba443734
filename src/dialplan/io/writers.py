"""Write a plan directory atomically (contract 4).

The plan directory ``PLAN`` is a symbolic link to one complete version of the plan kept in
``.PLAN.versions/`` next to it. A run writes every file into a temporary directory inside
``.PLAN.versions/``, flushes and fsyncs each file and the directory, renames it to its final
version name, and only then switches ``PLAN`` to it by creating a new link and renaming it
over the old one (``rename(2)`` replaces a link atomically). A dialer that opens
``PLAN/plan.csv`` therefore sees either the previous complete plan or the new complete plan,
whatever moment the run is killed at; a kill leaves at most a temporary directory or link,
which the next run removes. The version that was replaced is kept until the next run
(a reader still inside it is not pulled from under its feet); older ones are deleted.

A lock (``.PLAN.lock``, ``flock``) stops two runs writing the same plan directory: the second
fails at once with a one-line error. The kernel drops the lock when its holder dies, so a
killed run never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ..errors import LockError, PlanError

CSV_OPTS = dict(index=False, lineterminator="\n", float_format="%.12g")
_VERSION = re.compile(r"^v(\d{6,})$")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_path(path: Path) -> None:
    """Flush a file or directory to disk."""
    _fsync_dir(path)


def new_stage(out: Path) -> Path:
    """A fresh, empty staging directory beside ``out`` (same file system, so ``publish`` can
    move it into place), for outputs staged outside the plan's versions directory (fit,
    export). Raises OSError."""
    out = Path(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    out.parent.mkdir(parents=True, exist_ok=True)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        frame.to_csv(fh, **CSV_OPTS)
        fh.flush()
        os.fsync(fh.fileno())


def versions_dir(out: Path) -> Path:
    """Where the complete versions of plan directory ``out`` live."""
    out = Path(out)
    return out.parent / f".{out.name}.versions"


def lock_path(out: Path) -> Path:
    out = Path(out)
    return out.parent / f".{out.name}.lock"


@contextmanager
def plan_lock(out: Path):
    """Hold the lock of plan directory ``out`` for the body; raise LockError (exit 2) at once
    when another run holds it. The lock file is removed on release."""
    out = Path(out)
    if out.name in ("", ".", ".."):
        raise PlanError(f"{out}: name a plan directory (e.g. --out plan), not '{out}'")
    path = lock_path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = ""
                try:
                    pid = path.read_text().strip()
                    holder = f" (pid {int(pid)})" if pid.isdigit() else ""
                except (OSError, ValueError):
                    pass
                raise LockError(f"{out}: another dialplan run is writing this plan directory{holder}; "
                                f"wait for it to finish (lock {path.name})") from None
            # the file we locked may have been unlinked by its previous holder in between
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    except OSError as exc:
        raise PlanError(f"{out}: cannot lock plan directory ({exc.strerror or exc.__class__.__name__})") from None
    try:
        yield path
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def _current_target(out: Path) -> Path | None:
    """The version directory ``out`` links to (None when ``out`` is not a link)."""
    if not out.is_symlink():
        return None
    return (out.parent / os.readlink(out)).resolve()


def recover(out: Path) -> None:
    """Remove what a killed run left behind: temporary directories and links. Call under the lock."""
    out = Path(out)
    vdir = versions_dir(out)
    if vdir.is_dir():
        for entry in vdir.iterdir():
            if entry.name.startswith(".tmp-"):
                shutil.rmtree(entry, ignore_errors=True)
    for entry in out.parent.glob(f".{out.name}.link-*"):
        try:
            entry.unlink()
        except OSError:
            pass
    for entry in out.parent.glob(f".{out.name}.tmp-*"):  # staging directories of older releases
        shutil.rmtree(entry, ignore_errors=True)


def stage_plan_dir(out: Path, tables: dict[str, pd.DataFrame], queues: dict[str, pd.DataFrame], summary: dict) -> Path:
    """Write the plan into a temporary directory next to ``out`` and return its path; nothing a
    dialer reads has changed yet. Call under ``plan_lock(out)``."""
    out = Path(out)
    try:
        recover(out)
        vdir = versions_dir(out)
        vdir.mkdir(parents=True, exist_ok=True)
        tmp = vdir / f".tmp-{os.getpid()}"
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


def publish(tmp: Path, out: Path) -> Path:
    """Switch ``out`` to the staged plan ``tmp`` in one atomic step; return the version directory.

    Call under ``plan_lock(out)``. ``tmp`` must be on the same file system as ``out`` (the
    plan's staging directory, or a sibling of ``out`` as ``dialplan fit`` and ``export`` use). A plain directory at ``out`` (a plan written by an older
    release, or by hand) is first moved into the versions directory, then replaced by the
    link: only this one-time migration has a moment with no ``out`` at all."""
    out = Path(out)
    vdir = versions_dir(out)
    try:
        vdir.mkdir(exist_ok=True)  # callers that staged elsewhere (fit, export) have none yet
        numbers = [int(m.group(1)) for p in vdir.iterdir() if (m := _VERSION.match(p.name))]
        version = vdir / f"v{max(numbers, default=0) + 1:06d}"
        os.replace(tmp, version)
        _fsync_dir(vdir)
        previous = _current_target(out)
        if out.exists() and not out.is_symlink():
            if not out.is_dir():
                raise PlanError(f"{out}: exists and is not a plan directory; move it away")
            legacy = vdir / f"v{max(numbers, default=0):06d}-legacy"
            os.replace(out, legacy)
            previous = legacy
        link = out.parent / f".{out.name}.link-{os.getpid()}"
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(os.path.relpath(version, out.parent), link)
        os.replace(link, out)
        _fsync_dir(out.parent)
        # keep the version just replaced for readers still inside it; drop older ones
        keep = {version.resolve(), previous.resolve() if previous is not None else None}
        for entry in vdir.iterdir():
            if entry.resolve() not in keep and not entry.name.startswith(".tmp-"):
                shutil.rmtree(entry, ignore_errors=True)
    except OSError as exc:
        raise PlanError(f"{out}: cannot publish plan ({exc.strerror or exc.__class__.__name__})") from None
    return version


def discard(tmp: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    parent = Path(tmp).parent
    try:
        parent.rmdir()  # the versions directory of a first run that published nothing
    except OSError:
        pass
