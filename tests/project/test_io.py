"""Atomic writes keep the old file on failure, JSON is strict, a run's folder is replaced whole."""

from __future__ import annotations

import json
import os
import shutil
import stat

import pandas as pd
import pytest

from qa_utils.project import io
from qa_utils.project.io import (
    atomic_dir,
    atomic_write_json,
    atomic_write_table,
    check_output_dir,
    read_table,
    recover_dir,
)


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


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_json_is_strict_and_a_non_finite_number_keeps_the_old_file(tmp_path, value):
    target = atomic_write_json(tmp_path / "run.json", {"final_loss": 0.5})
    with pytest.raises(ValueError, match=r"run.json: not written: .*NaN and infinities"):
        atomic_write_json(target, {"final_loss": value, "nested": [1.0]})
    assert json.loads(target.read_text()) == {"final_loss": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


# --- atomic_dir: one run's files are replaced together or not at all ----------------------------

NAMES = ("predictions.json", "nbest.json", "records.parquet", "metrics.json")


def write_set(target, tag: str, before_each=lambda: None) -> None:
    """A run's result set through `atomic_dir`: every file holds `tag`."""
    with atomic_dir(target) as out:
        for name in NAMES:
            before_each()
            (out / name).write_text(tag)


def tags(target) -> set[str]:
    """The tags of the files in `target` (one tag: a complete set of one run)."""
    found = {p.name: p.read_text() for p in target.iterdir()}
    assert set(found) == set(NAMES), found
    return set(found.values())


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_atomic_dir_replaces_the_whole_set_and_a_failed_run_changes_nothing(tmp_path):
    target = tmp_path / "eval"
    write_set(target, "old")
    (target / "stale.txt").write_text("from an older version")

    calls = iter(range(len(NAMES)))

    def fail_at_third() -> None:
        if next(calls) == 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_set(target, "new", fail_at_third)
    assert {p.name for p in target.iterdir()} == {*NAMES, "stale.txt"}
    assert leftovers(tmp_path) == []
    (target / "stale.txt").unlink()
    write_set(target, "new")
    assert tags(target) == {"new"} and leftovers(tmp_path) == []


STATES = ("old", "missing", "new")


def killed_writer(target, kill_at: int, exchange_works: bool) -> int:
    """Fork a process that writes the "new" set and dies (no cleanup) at its step `kill_at`."""
    pid = os.fork()
    if pid:
        return os.waitpid(pid, 0)[1]
    calls = [0]

    def step(real):
        def wrapped(*args, **kwargs):
            calls[0] += 1
            if calls[0] == kill_at:
                os._exit(9)  # like SIGKILL: no finally block, no cleanup
            return real(*args, **kwargs) if real else False

        return wrapped

    io.os.rename = step(os.rename)
    io.shutil.rmtree = step(shutil.rmtree)
    io.exchange = step(io.exchange if exchange_works else None)
    try:
        write_set(target, "new", step(lambda: None))
    finally:
        os._exit(0)


@pytest.mark.parametrize("exchange_works", [True, False], ids=["renameat2", "two-renames"])
def test_a_kill_at_any_step_leaves_one_complete_set_and_no_leftovers(tmp_path, exchange_works):
    seen = []
    for kill_at in range(1, 12):
        target = tmp_path / f"kill{kill_at}" / "eval"
        write_set(target, "old")
        status = killed_writer(target, kill_at, exchange_works)
        seen.append(tags(target).pop() if target.exists() else "missing")
        recover_dir(target)  # what the next writer does first
        assert tags(target) in ({"old"}, {"new"}) and leftovers(target.parent) == []
        if os.WEXITSTATUS(status) == 0:  # kill_at beyond the last step: it finished
            break
    # killed while writing: the old set; after the switch: the new one, never a mix; only the
    # two-rename fallback has a moment without the folder, which `recover_dir` repairs
    assert seen[-1] == "new" and seen[0] == "old" and seen == sorted(seen, key=STATES.index)
    assert ("missing" in seen) == (not exchange_works)


def test_leftovers_of_a_writer_still_running_are_left_alone(tmp_path):
    target = tmp_path / "eval"
    write_set(target, "old")
    busy = tmp_path / f".eval.staging-{os.getppid()}-abc"  # the parent process is alive
    busy.mkdir()
    recover_dir(target)
    assert busy.is_dir()


def test_output_folders_are_checked_before_any_work(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.md").write_text("keep me")
    with pytest.raises(ValueError, match="--output is empty"):
        check_output_dir("", "--output")
    with pytest.raises(ValueError, match="file.txt is a file, not a folder"):
        check_output_dir(tmp_path / "file.txt")
    with pytest.raises(ValueError, match=r"cannot write in .*file.txt"):
        check_output_dir(tmp_path / "file.txt" / "sub")
    with pytest.raises(ValueError, match=r"holds files that are not results .*\(notes.md\)"):
        check_output_dir(tmp_path / "mine", owned=NAMES)
    assert check_output_dir(tmp_path / "new" / "eval", owned=NAMES) == tmp_path / "new" / "eval"
