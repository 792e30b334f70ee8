"""Atomic file writing: a result file is either complete or absent, never half-written."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

TABLE_SUFFIXES = (".parquet", ".jsonl", ".csv")


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
    """Write `obj` as JSON (UTF-8, non-ASCII kept) to `path` atomically."""
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


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
