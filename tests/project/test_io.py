"""Atomic writes keep the old file on failure; tables round-trip; unknown formats are refused."""

from __future__ import annotations

import json
import os
import stat

import pandas as pd
import pytest

from qa_utils.project.io import atomic_write_json, atomic_write_table, read_table


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.json"
    atomic_write_json(target, {"f1": 1.0})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"f1": object()})
    assert json.loads(target.read_text()) == {"f1": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left behind


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_tables_round_trip(tmp_path, suffix):
    table = pd.DataFrame({"id": ["a", "b"], "f1": [100.0, 50.0]})
    path = atomic_write_table(tmp_path / f"records{suffix}", table)
    pd.testing.assert_frame_equal(read_table(path), table)


def test_unknown_table_format_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unsupported table format '.xlsx'"):
        atomic_write_table(tmp_path / "t.xlsx", pd.DataFrame({"a": [1]}))


def test_atomic_files_get_the_usual_permissions_not_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_json(tmp_path / "metrics.json", {"f1": 1.0})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
