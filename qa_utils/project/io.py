"""Atomic file writing: a result file is either complete or absent, never half-written.

`atomic_dir` does the same for a folder of result files: a run's files are replaced together
or not at all. JSON is always strict (no NaN or Infinity, which other parsers reject).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

TABLE_SUFFIXES = (".parquet", ".jsonl", ".csv")

STAGING, READY, OLD = "staging", "ready", "old"
"""States of a hidden sibling of an `atomic_dir` target: being written, complete, replaced."""


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    # Created like any new file (mode 0o666 less the umask), unlike mkstemp's owner-only 0o600.
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_json(path: str | Path, obj: Any, indent: int | None = 2) -> Path:
    """Write `obj` as strict JSON (UTF-8, non-ASCII kept) to `path` atomically.

    Raises:
        ValueError: `obj` holds NaN or an infinity (not JSON; other parsers reject it).
    """
    try:
        text = json.dumps(obj, ensure_ascii=False, indent=indent, allow_nan=False)
    except ValueError as err:
        raise ValueError(f"{path}: not written: {err} (NaN and infinities are not JSON)") from None
    return atomic_write_text(path, text + "\n")


def atomic_write_table(path: str | Path, table: pd.DataFrame) -> Path:
    """Write a DataFrame as Parquet, JSON Lines or CSV (chosen by suffix) atomically."""
    suffix = Path(path).suffix
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(
            f"{path}: unsupported table format {suffix!r}; use one of {TABLE_SUFFIXES}"
        )
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        elif suffix == ".jsonl":
            table.to_json(tmp, orient="records", lines=True, force_ascii=False)
        else:
            table.to_csv(tmp, index=False)
    return Path(path)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by `atomic_write_table`."""
    suffix = Path(path).suffix
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".jsonl":
        return pd.read_json(path, orient="records", lines=True, dtype=False, convert_dates=False)
    if suffix == ".csv":
        return pd.read_csv(path)
    raise ValueError(f"{path}: unsupported table format {suffix!r}; use one of {TABLE_SUFFIXES}")


def _sibling(target: Path, state: str) -> Path:
    """A fresh hidden name beside `target` for one `atomic_dir` state, owned by this process."""
    return target.with_name(f".{target.name}.{state}-{os.getpid()}-{uuid.uuid4().hex}")


def _owner_alive(path: Path) -> bool:
    """Whether the process that named this sibling is still running (then it is not a leftover)."""
    pid = int(path.name.rsplit("-", 2)[-2])  # .NAME.STATE-PID-HEX
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _siblings(target: Path, state: str) -> list[Path]:
    """The hidden siblings of `target` in `state` left by processes that died, newest first."""
    prefix = f".{target.name}.{state}-"
    found = [
        p
        for p in target.parent.iterdir()
        if p.name.startswith(prefix)
        and p.name[len(prefix) :].partition("-")[0].isdigit()
        and not _owner_alive(p)
    ]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux renameat2); False where that is unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # old kernel or file system
        return False
    raise OSError(code, os.strerror(code), str(b))


def switch_dir(ready: Path, target: Path) -> None:
    """Put the complete folder `ready` at `target` and drop the old one (atomically if possible)."""
    if not target.exists():
        os.rename(ready, target)
    elif exchange(ready, target):
        shutil.rmtree(ready)  # it holds the old folder now
    else:
        # Two renames: a kill between them leaves `target` missing, which `recover_dir` repairs.
        old = _sibling(target, OLD)
        os.rename(target, old)
        os.rename(ready, target)
        shutil.rmtree(old)


def recover_dir(target: str | Path) -> None:
    """Finish or undo an `atomic_dir` switch that a kill interrupted, and drop its leftovers.

    A missing `target` with a complete new folder beside it gets that folder, else the old one
    back; unfinished and replaced folders are removed. Folders of a writer that is still
    running are left alone.
    """
    target = Path(target)
    ready, old = _siblings(target, READY), _siblings(target, OLD)
    if not target.exists() and (ready or old):
        os.rename((ready or old)[0], target)
    for leftover in [*_siblings(target, STAGING), *_siblings(target, READY), *old]:
        if leftover.exists():
            shutil.rmtree(leftover)


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a fresh hidden folder beside `path`; if the block succeeds it replaces `path` whole.

    Readers see the old folder or the new one, never a mix of two runs; a failed block leaves
    the old folder untouched. Whatever a kill leaves behind, the next call repairs or removes.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(target)
    staging = _sibling(target, STAGING)
    staging.mkdir()
    try:
        yield staging
        ready = _sibling(target, READY)
        os.rename(staging, ready)  # marks the set complete before the old one is touched
        switch_dir(ready, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def foreign_files(folder: str | Path, owned: Iterable[str]) -> list[str]:
    """Names in `folder` other than `owned` ones: what replacing the folder would destroy."""
    folder, owned = Path(folder), set(owned)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name not in owned)


def check_output_dir(path: str | Path, what: str = "--output", owned: Iterable[str] = ()) -> Path:
    """Check that a folder can receive results, before any work is done.

    Args:
        path: the folder (it may not exist yet).
        what: how the user named it, for the message.
        owned: when given, the folder will be replaced as a whole: it may only hold these names.

    Raises:
        ValueError: the name is empty, names a file, holds other files, or cannot be written.
    """
    if not str(path).strip():
        raise ValueError(f"{what} is empty; name a folder for the results")
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} {folder} is a file, not a folder")
    others = foreign_files(folder, owned) if owned else []
    if others:
        shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
        raise ValueError(
            f"{what} {folder} holds files that are not results of this command ({shown}); "
            "it is replaced as a whole, so give an empty or new folder"
        )
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {folder}: cannot write in {existing}")
    return folder
