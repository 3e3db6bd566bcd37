"""Every command reads well at 80 columns: nothing wider, no name cut (…) or broken.

CliRunner is not a terminal: ``TTY_COMPATIBLE=1`` makes rich render as on a terminal of
``COLUMNS`` (80 here); the live training display is rendered on a fixed-width terminal
console. Piped, text lines are not hard-wrapped at all (tests/test_output_polish.py).
"""

from __future__ import annotations

import io
import re
import shutil
import time
from pathlib import Path

import pytest
import torch
from data_support import write_image
from rich.cells import cell_len
from rich.console import Console
from scoring_support import generators_checkpoint, make_run_dir, write_images
from test_data_deepfashion import write_deepfashion
from typer.testing import CliRunner

import translkit
from translkit import get_registry, load_plugins
from translkit.cli import app
from translkit.rundir import RunDir
from translkit.training.logs import RunLog

runner = CliRunner()
WIDTH = 80
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _at_80(args: list[str], code: int = 0) -> str:
    result = runner.invoke(app, args, env={"COLUMNS": str(WIDTH), "TTY_COMPATIBLE": "1"})
    assert result.exit_code == code, result.output
    _fits(result.output)
    return result.output


def _fits(text: str) -> None:
    """No line wider than 80 columns once the test's own long temporary paths are shown as
    a short one (a user path longer than the terminal cannot fit), and nothing cut."""
    short = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/\s]+", "/tmp/t", text)
    for line in ANSI.sub("", short).splitlines():
        assert cell_len(line) <= WIDTH, f"{cell_len(line)} columns: {line!r}"
    assert "…" not in text, text


def test_plugins_keeps_every_plugin_name_whole() -> None:
    out = _at_80(["plugins"])
    lines = [line.rstrip() for line in ANSI.sub("", out).splitlines()]
    for info in load_plugins().plugins:
        assert f"{info.name}  {info.distribution} {info.version}" in lines


def test_list_keeps_every_component_name_and_plugin_whole() -> None:
    out = _at_80(["list"])
    registry = translkit.get_registry()
    for kind, reg in registry.all().items():
        assert kind in out
        for entry in reg.entries():
            # a name may recur in another kind (the leather_denim dataset and model)
            rows = [line for line in out.splitlines() if line.startswith(f" {entry.name} ")]
            assert any(f" {entry.plugin} " in row for row in rows), rows


def test_data_check_tables_fit(tmp_path) -> None:
    root = tmp_path / "a_dataset_with_a_rather_long_folder_name"
    splits = (("trainA", "L"), ("trainB", "RGBA"), ("testA", "CMYK"), ("testB", "P"))
    for i, (split, mode) in enumerate(splits):
        write_image(root / split / "one.png", (70, 50), seed=10 + i)
        two = "two.jpg" if mode == "CMYK" else "two.png"
        write_image(root / split / two, (1200, 30), mode=mode, seed=20 + i)
    shutil.copy(root / "trainA" / "one.png", root / "testA" / "leak.png")
    out = _at_80(["data", "check", str(root), "--crop-size", "256", "--batch-size", "2"])
    for split in ("trainA", "trainB", "testA", "testB"):
        assert f" {split} " in out
    assert "1200x30" in out and "testA/leak.png = trainA/one.png" in out


def test_data_synth_and_deepfashion_fit(tmp_path) -> None:
    _at_80(
        [
            "data",
            "synth",
            str(tmp_path / "synth"),
            "--size",
            "16",
            "--train",
            "2",
            "--test",
            "1",
            "--workers",
            "1",
        ]
    )
    df = write_deepfashion(tmp_path / "df")
    out = _at_80(["data", "deepfashion", "--root", str(df), "--out", str(tmp_path / "dom")])
    assert "train" in out and "test" in out


def test_score_table_fits(tmp_path) -> None:
    fake, truth = tmp_path / "fake", tmp_path / "truth"
    write_images(fake, 2, (16, 16), seed=1)
    write_images(truth, 2, (16, 16), seed=2)
    out = _at_80(
        [
            "score",
            "--fake",
            str(fake),
            "--real",
            str(truth),
            "--truth",
            str(truth),
            "--metrics",
            "psnr,ssim,l1",
        ]
    )
    for key in ("psnr", "ssim", "l1"):
        assert f" {key} " in out


def test_translate_export_import_fit(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # short relative paths: the lines measure the tool, not /tmp
    ckpt = generators_checkpoint(tmp_path / "g.pt", ngf=4)
    write_images(tmp_path / "in", 2, (16, 16))
    (tmp_path / "in" / "notes.txt").write_text("x")
    out = _at_80(
        ["translate", str(ckpt), str(tmp_path / "in"), str(tmp_path / "out"), "--device", "cpu"]
    )
    flat = " ".join(out.split())  # the temporary path may wrap the line at 80 columns
    assert "2 written" in flat and "1 not an image" in flat
    _at_80(["export", str(ckpt), "--format", "safetensors", "-o", "g.safetensors"])
    ref = tmp_path / "latest_net_G_A.pth"
    torch.save(get_registry().generators.create("resnet_6blocks", ngf=4).state_dict(), ref)
    args = ["import", "junyanz", str(ref), "-g", "resnet_6blocks", "--ngf", "4"]
    assert "resnet_6blocks, norm instance, ngf 4" in _at_80([*args, "-o", "i.pt"])
    data = tmp_path / "data"
    for i, split in enumerate(("testA", "testB")):
        write_images(data / split, 2, (12, 12), seed=i)
    run_dir = make_run_dir(tmp_path / "runs" / "r", data)
    assert "report.html" in _at_80(["report", str(run_dir)])


def test_run_dry_run_fits(tmp_path) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text('[generator]\nname = "resnet_6blocks"\n')
    out = _at_80(["run", str(recipe), "--dry-run"])
    assert 'name = "resnet_6blocks"' in out


def test_help_of_every_command_fits() -> None:
    for args in (
        ["--help"],
        ["run", "--help"],
        ["translate", "--help"],
        ["data", "check", "--help"],
        ["score", "--help"],
    ):
        _at_80(args)


def test_live_training_line_keeps_epoch_bar_and_eta_at_80_columns(tmp_path) -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=WIDTH, force_terminal=True, color_system=None)
    log = RunLog(
        RunDir(tmp_path),
        total_steps=400000,
        start_step=0,
        show=True,
        tensorboard=False,
        console=console,
    )
    record = {"step": 123456, "epoch": 37, "images_per_s": 12.3}
    record.update(
        {
            f"loss/{k}": v
            for k, v in {
                "G_total": 9.272,
                "D_A": 0.251,
                "D_B": 0.249,
                "cycle_A": 1.234,
                "cycle_B": 1.222,
            }.items()
        }
    )
    log.step(record)
    time.sleep(0.2)
    log.close(
        {
            "finished": False,
            "interrupted": True,
            "epochs": 37,
            "steps": 123456,
            "run_dir": str(tmp_path / "runs" / "a-long-run-name"),
        }
    )
    text = ANSI.sub("", buf.getvalue().replace("\r", "\n"))
    bars = [line for line in text.splitlines() if line.startswith("epoch 37")]
    assert bars, text
    assert "123456/400000" in bars[-1] and "ETA" in bars[-1] and "━" in bars[-1]
    assert "  G_total=9.272 D_A=0.251 D_B=0.249 cycle_A=1.234 cycle_B=1.222" in text
    assert "interrupted" in text
    _fits(text)


@pytest.mark.parametrize("width", [60, 100])
def test_live_training_line_at_other_widths_keeps_the_numbers(tmp_path, width) -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=True, color_system=None)
    log = RunLog(
        RunDir(tmp_path),
        total_steps=5000,
        start_step=0,
        show=True,
        tensorboard=False,
        console=console,
    )
    log.step({"step": 1234, "epoch": 3, "images_per_s": 4.5, "loss/G_total": 1.0})
    log.close()
    text = buf.getvalue()
    assert "1234/5000" in text and "ETA" in text and "G_total=1.000" in text


def test_plain_progress_lines_are_whole_when_piped(tmp_path) -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=WIDTH)
    log = RunLog(
        RunDir(tmp_path),
        total_steps=10,
        start_step=0,
        show=False,
        tensorboard=False,
        console=console,
    )
    log.step({"step": 10, "epoch": 1, "images_per_s": 2.0, "loss/G_total": 3.0, "loss/D_A": 0.5})
    log.close()
    assert buf.getvalue().splitlines()[0] == "step 10/10 epoch 1 2.0 img/s G_total=3.000 D_A=0.500"


def test_summary_table_fits(tmp_path) -> None:
    buf = io.StringIO()
    log = RunLog(
        RunDir(tmp_path),
        total_steps=1,
        start_step=0,
        show=False,
        tensorboard=False,
        console=Console(file=buf, width=WIDTH),
    )
    log.close(
        {
            "finished": True,
            "epochs": 1,
            "steps": 1,
            "seconds": 1.0,
            "images_per_s": 1.0,
            "device": "cpu",
            "run_dir": str(Path("runs") / ("x" * 90)),
        }
    )
    _fits(buf.getvalue())
    assert "run directory" in buf.getvalue()
