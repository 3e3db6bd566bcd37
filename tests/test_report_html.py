"""``translkit report``: a self-contained HTML page of a hand-built run directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from browser_support import CHROMIUM, screenshot
from PIL import Image
from scoring_support import write_jsonl
from typer.testing import CliRunner

from translkit.cli import app
from translkit.errors import TranslkitError
from translkit.report import MAX_SAMPLE_GRIDS, build_report, write_report

runner = CliRunner()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "demo"
    (run / "samples").mkdir(parents=True)
    (run / "plots").mkdir()
    (run / "recipe.resolved.toml").write_text('[run]\nname = "<script>alert(1)</script>"\n')
    (run / "environment.json").write_text(
        json.dumps(
            {
                "python": "3.11.9",
                "device": "cpu",
                "packages": {"torch": "2.14.1", "timm": None},
                "plugins": [
                    {"name": "translkit.metrics", "distribution": "translkit", "version": "0.1"}
                ],
            }
        )
    )
    losses = ("G_AB_gan", "G_BA_gan", "cycle_A", "cycle_B", "G_total", "D_A", "D_B")
    write_jsonl(
        run / "metrics.jsonl",
        [
            {
                "step": s,
                "epoch": 1 + s // 50,
                "time": s * 0.1,
                "images_per_s": 3.0,
                **{f"loss/{k}": 1.0 / (1 + s) for k in losses},
            }
            for s in range(10, 110, 10)
        ],
    )
    write_jsonl(
        run / "eval.jsonl",
        [
            {
                "epoch": e,
                "step": 50 * e,
                "objective": 4.0 - e,
                "objective/cycle_A": 1.0 / e,
                "a2b/fid": 90.0 - e,
            }
            for e in (1, 2)
        ],
    )
    rng = np.random.default_rng(0)
    for step in range(100, 1300, 100):  # 12 grids: more than are shown
        arr = rng.integers(0, 255, (48, 96, 3), dtype=np.uint8)
        Image.fromarray(arr).save(run / "samples" / f"step_{step:07d}.png")
    Image.new("RGB", (64, 48), (200, 30, 30)).save(run / "plots" / "generator.png")
    (run / "summary.json").write_text(
        json.dumps(
            {
                "epochs": 2,
                "steps": 100,
                "seconds": 12.5,
                "images_per_s": 8.0,
                "finished": True,
            }
        )
    )
    (run / "scores.json").write_text(
        json.dumps(
            {
                "checkpoint": "best.pt",
                "scores": {"a2b/fid": 87.5, "b2a/fid": 91.0},
                "goals": {"a2b/fid": "min", "b2a/fid": "min"},
                "info": {},
            }
        )
    )
    return run


def test_report_holds_every_section_with_embedded_images(run_dir: Path) -> None:
    page = build_report(run_dir)
    for title in (
        "Summary and timings",
        "Scores",
        "Loss curves",
        "Evaluation over epochs",
        "Samples over time",
        "Resolved recipe",
        "Environment",
    ):
        assert f"<h2>{title}</h2>" in page, title
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert len(re.findall(r'alt="step_\d+"', page)) == MAX_SAMPLE_GRIDS
    assert 'alt="step_0000100"' in page and 'alt="step_0001200"' in page  # first and last
    assert "87.5" in page and "12.5" in page and "2.14.1" in page
    assert 'alt="training throughput (images/s)"' in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page  # recipe text escaped


def test_missing_optional_files_are_skipped(tmp_path: Path) -> None:
    run = tmp_path / "bare"
    run.mkdir()
    (run / "recipe.resolved.toml").write_text("[run]\n")
    page = build_report(run)
    assert "no summary.json" in page and "Loss curves" not in page
    with pytest.raises(TranslkitError, match="not a run directory"):
        build_report(tmp_path / "nothing")


def test_torn_last_line_is_tolerated_but_bad_middle_line_is_not(run_dir: Path) -> None:
    with open(run_dir / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 200, "loss/D_A"')  # the trainer is mid-write
    assert "Loss curves" in build_report(run_dir)
    lines = (run_dir / "eval.jsonl").read_text().splitlines()
    (run_dir / "eval.jsonl").write_text("\n".join(["{oops", *lines]) + "\n")
    with pytest.raises(TranslkitError, match="line 1 is not valid JSON"):
        build_report(run_dir)


def test_cli_writes_the_report(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert (run_dir / "report.html").is_file()
    out = tmp_path / "elsewhere" / "r.html"
    assert runner.invoke(app, ["report", str(run_dir), "-o", str(out)]).exit_code == 0
    assert out.read_text().startswith("<!DOCTYPE html>")
    missing = runner.invoke(app, ["report", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "not a run directory" in missing.output


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_report_renders_in_headless_chromium(run_dir: Path, tmp_path: Path) -> None:
    page = write_report(run_dir, tmp_path / "report.html")
    pixels = screenshot(page, tmp_path)
    assert pixels.shape[:2] == (1400, 1000)
    assert pixels.std() > 20  # not a blank page
    header = pixels[:40].reshape(-1, 3).mean(axis=0)
    assert header[2] > header[0] and header.mean() < 120  # the dark blue title bar is drawn
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 200  # text, tables, plots
