"""atomic_path: a file appears whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from translkit.fileio import atomic_path, write_text_atomic


def test_replaces_target_and_keeps_suffix(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "grid.png"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".png" and tmp.parent == target.parent and not target.exists()
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["grid.png"]


def test_error_leaves_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = write_text_atomic(tmp_path / "summary.json", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_read_jsonl_skips_a_torn_last_line_and_is_strict_when_asked(tmp_path: Path) -> None:
    from translkit.errors import TranslkitError
    from translkit.fileio import read_jsonl

    path = tmp_path / "metrics.jsonl"
    assert read_jsonl(path) == []
    path.write_text('{"step": 1}\n\n{"step": 2}\n{"ste')
    assert read_jsonl(path, strict=True) == [{"step": 1}, {"step": 2}]
    path.write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    assert read_jsonl(path) == [{"step": 1}, {"step": 3}]
    with pytest.raises(TranslkitError, match="line 2 is not valid JSON"):
        read_jsonl(path, strict=True)
    path.write_bytes(b'{"step": 1}\n\xff\n{"step": 4}\n')  # not UTF-8: one line, or skipped
    assert read_jsonl(path) == [{"step": 1}, {"step": 4}]
    with pytest.raises(TranslkitError, match=r"metrics\.jsonl is not UTF-8 text"):
        read_jsonl(path, strict=True)


def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    import subprocess
    import sys

    from translkit.fileio import remove_stale_temporaries, temporary_name

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    (tmp_path / "checkpoints").mkdir()
    torn = tmp_path / "checkpoints" / f".latest.{int(dead.stdout)}.tmp.pt"
    torn.write_bytes(b"half a checkpoint")
    live = temporary_name(tmp_path / "summary.json")  # this process's: being written
    live.write_text("{")
    other = tmp_path / ".notes.txt"
    other.write_text("a user's hidden file")
    assert remove_stale_temporaries(tmp_path) == [torn]
    assert not torn.exists() and live.exists() and other.exists()
