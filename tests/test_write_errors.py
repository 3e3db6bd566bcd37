"""Disk full, permission denied, output path is a directory: one line naming the path and
the cause, from every command that writes (translkit.fileio is where it happens)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from scoring_support import generators_checkpoint, make_run_dir, write_images
from test_data_deepfashion import write_deepfashion
from typer.testing import CliRunner

import translkit.fileio as fileio
from translkit import get_registry
from translkit.cli import app
from translkit.errors import OutputError

runner = CliRunner()


def _one_line(args: list[str], *expected: str) -> str:
    """Run the CLI; expect exit 1 and exactly one stderr line holding ``expected``."""
    result = runner.invoke(app, args, env={"COLUMNS": "300"})
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in result.output + result.stderr
    return lines[0]


def _make_readonly(folder: Path):
    """Make ``folder`` unwritable (immutable for root, mode 0555 for others); return the
    undo function, or skip the test where that cannot be done."""
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if not chattr or subprocess.run([chattr, "+i", str(folder)], check=False).returncode:
            pytest.skip("running as root without chattr +i: cannot make a read-only folder")

        def undo() -> None:
            subprocess.run([chattr, "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)

        def undo() -> None:
            folder.chmod(0o755)

    try:
        (folder / "probe").touch()
    except OSError:
        return undo
    undo()
    pytest.skip("this file system lets us write into a read-only folder")


@pytest.fixture
def readonly(tmp_path: Path):
    """A folder nobody can write into."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    undo = _make_readonly(folder)
    yield folder
    undo()


@pytest.fixture
def disk_full(monkeypatch, tmp_path):
    """Every atomic write lands on /dev/full, where the kernel answers ENOSPC."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")

    def to_dev_full(path: Path) -> Path:
        link = path.with_name(f".{path.stem}.{os.getpid()}.full{path.suffix}")
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/full")
        return link

    monkeypatch.setattr(fileio, "temporary_name", to_dev_full)


NO_SPACE = "no space left on the device"
DENIED = ("permission denied", "operation not permitted")


def _denied(line: str) -> None:
    assert any(cause in line for cause in DENIED), line


# -- the mechanism ---------------------------------------------------------------------
def test_output_error_names_the_path_and_the_cause(tmp_path) -> None:
    err = fileio.output_error(tmp_path / "x.png", OSError(errno.ENOSPC, "No space left"))
    assert (
        isinstance(err, OutputError)
        and str(err)
        == f"cannot write {tmp_path / 'x.png'}: {NO_SPACE}; free some space or write elsewhere"
    )
    with pytest.raises(OutputError, match="it is a directory"):
        fileio.write_text_atomic(tmp_path, "x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        fileio.write_text_atomic(tmp_path / "file" / "below.txt", "x")


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(
    tmp_path, disk_full
) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("before")
    with pytest.raises(OutputError, match=NO_SPACE):
        fileio.write_text_atomic(target, "after")
    assert target.read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_torch_save_on_a_full_disk_is_one_line_not_unexpected_pos(tmp_path, disk_full) -> None:
    from translkit.artifacts import save_checkpoint

    with pytest.raises(OutputError, match=f"cannot write .*c.pt: {NO_SPACE}"):
        save_checkpoint({"w": torch.zeros(100, 100)}, tmp_path / "c.pt")


# -- translate -------------------------------------------------------------------------
@pytest.fixture
def ckpt(tmp_path) -> Path:
    return generators_checkpoint(tmp_path / "g.pt", ngf=4)


def test_translate(tmp_path, ckpt, readonly) -> None:
    write_images(tmp_path / "in", 2, (12, 12))
    base = ["translate", str(ckpt), str(tmp_path / "in"), "--device", "cpu"]
    _denied(
        _one_line([*base[:3], str(readonly / "out"), *base[3:]], f"cannot write {readonly / 'out'}")
    )
    _denied(
        _one_line([*base[:3], str(readonly), *base[3:]], f"cannot write {readonly / '000.png'}")
    )
    (tmp_path / "o" / "000.png").mkdir(parents=True)  # a folder where an output goes
    result = runner.invoke(app, [*base[:3], str(tmp_path / "o"), *base[3:]], env={"COLUMNS": "300"})
    assert result.exit_code == 1 and "1 written" in result.output
    assert f"cannot write {tmp_path / 'o' / '000.png'}: it is a directory" in result.output


def test_translate_on_a_full_disk_fails_each_file_in_one_line(tmp_path, ckpt, disk_full) -> None:
    write_images(tmp_path / "in", 2, (12, 12))
    result = runner.invoke(
        app,
        ["translate", str(ckpt), str(tmp_path / "in"), str(tmp_path / "out"), "--device", "cpu"],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("failed")]
    assert len(failed) == 2 and all(NO_SPACE in line for line in failed)
    assert "0 written" in result.output and "Traceback" not in result.output


# -- export, import, report ------------------------------------------------------------
def test_export(tmp_path, ckpt, readonly, monkeypatch) -> None:
    base = ["export", str(ckpt), "--format", "safetensors", "-o"]
    _denied(
        _one_line(
            [*base, str(readonly / "g.safetensors")], f"cannot write {readonly / 'g.safetensors'}"
        )
    )
    _one_line([*base, str(tmp_path)], f"cannot write {tmp_path}: it is a directory")


def test_export_on_a_full_disk(tmp_path, ckpt, disk_full) -> None:
    for fmt in ("safetensors", "torchscript"):
        out = tmp_path / f"g.{fmt}"
        _one_line(
            ["export", str(ckpt), "--format", fmt, "-o", str(out)],
            f"cannot write {out}: {NO_SPACE}",
        )
        assert not out.exists()


@pytest.fixture
def reference_pth(tmp_path) -> Path:
    path = tmp_path / "latest_net_G_A.pth"
    torch.save(get_registry().generators.create("resnet_6blocks", ngf=4).state_dict(), path)
    return path


def test_import_junyanz(tmp_path, reference_pth, readonly) -> None:
    base = ["import", "junyanz", str(reference_pth), "-g", "resnet_6blocks", "--ngf", "4", "-o"]
    _denied(_one_line([*base, str(readonly / "g.pt")], f"cannot write {readonly / 'g.pt'}"))
    _one_line([*base, str(tmp_path), "--overwrite"], f"cannot write {tmp_path}: it is a directory")


def test_import_junyanz_on_a_full_disk(tmp_path, reference_pth, disk_full) -> None:
    out = tmp_path / "g.pt"
    _one_line(
        [
            "import",
            "junyanz",
            str(reference_pth),
            "-g",
            "resnet_6blocks",
            "--ngf",
            "4",
            "-o",
            str(out),
        ],
        f"cannot write {out}: {NO_SPACE}",
    )


@pytest.fixture
def run_dir(tmp_path) -> Path:
    data = tmp_path / "data"
    for i, split in enumerate(("testA", "testB", "testA_truth", "testB_truth")):
        write_images(data / split, 2, (12, 12), seed=i)
    return make_run_dir(tmp_path / "runs" / "r", data)


def test_report(tmp_path, run_dir, readonly, disk_full) -> None:
    _denied(
        _one_line(
            ["report", str(run_dir), "-o", str(readonly / "r.html")],
            f"cannot write {readonly / 'r.html'}",
        )
    )
    _one_line(
        ["report", str(run_dir), "-o", str(tmp_path)], f"cannot write {tmp_path}: it is a directory"
    )
    _one_line(["report", str(run_dir)], f"cannot write {run_dir / 'report.html'}: {NO_SPACE}")


def test_score_writes_scores_json_or_says_why_not(run_dir, disk_full) -> None:
    args = ["score", str(run_dir), "--metrics", "l1", "--device", "cpu"]
    assert NO_SPACE in _one_line(args, "cannot write ")  # the translations, or scores.json
    os.chmod(run_dir, 0o755)
    (run_dir / "scores.json").mkdir()
    _one_line(args, f"cannot write {run_dir / 'scores.json'}: it is a directory")


def test_score_in_a_read_only_run_directory(run_dir) -> None:
    undo = _make_readonly(run_dir)
    try:
        line = _one_line(["score", str(run_dir), "--metrics", "l1"], f"cannot write {run_dir}")
    finally:
        undo()
    _denied(line)
    assert "scores.json" in line


# -- data synth and deepfashion --------------------------------------------------------
def test_data_synth(readonly, tmp_path, monkeypatch) -> None:
    args = ["data", "synth", "--size", "16", "--train", "2", "--test", "1", "--workers", "1"]
    _denied(
        _one_line([*args[:2], str(readonly / "ds"), *args[2:]], f"cannot write {readonly / 'ds'}")
    )

    def full(arr, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("translkit.data.synthetic._save", full)
    _one_line(
        [*args[:2], str(tmp_path / "ds"), *args[2:]], f"cannot write {tmp_path / 'ds'}: {NO_SPACE}"
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".ds")) == []


def test_data_deepfashion(readonly, tmp_path, monkeypatch) -> None:
    root = write_deepfashion(tmp_path / "df")
    base = ["data", "deepfashion", "--root", str(root), "--out"]
    _denied(_one_line([*base, str(readonly / "dom")], f"cannot write {readonly / 'dom'}"))
    real_write = Path.write_bytes

    def full(self, data):
        if ".tmp" in str(self):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    _one_line([*base, str(tmp_path / "dom")], f"cannot write {tmp_path / 'dom'}: {NO_SPACE}")
