"""One-directional runs from the command line: a tiny CUT run through every command that
reads a run (translate, export, score, report, demo), plus ``translkit list methods``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from test_methods_cut import cut_recipe
from typer.testing import CliRunner

from translkit.cli import app
from translkit.training import train

runner = CliRunner()


@pytest.fixture(scope="module")
def cut_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cut_run")
    recipe = cut_recipe(tmp, optim={"epochs": 1}, train={"sample_every": 1})
    return train(recipe, progress=False).run_dir


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().startswith("error:") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    text = " ".join(result.stderr.split())
    for needle in needles:
        assert needle in text, text


def _data(run: Path) -> Path:
    return run.parents[1] / "data"


def test_list_methods_shows_all_three():
    result = runner.invoke(app, ["list", "methods"])
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    names = {row[0] for row in rows if len(row) > 1 and row[1] == "translkit.methods"}
    assert names == {"cyclegan", "cut", "fastcut"}


def test_translate(cut_run: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["translate", str(cut_run), str(_data(cut_run) / "testA"), str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("*.png"))) == 2
    wrong = tmp_path / "wrong"
    result = runner.invoke(
        app,
        ["translate", str(cut_run), str(_data(cut_run) / "testB"), str(wrong), "-d", "b2a"],
    )
    _one_line_error(result, "translates only a2b, not b2a")
    assert not wrong.exists()


def test_export(cut_run: Path, tmp_path: Path):
    target = tmp_path / "g.safetensors"
    args = ["export", str(cut_run), "-f", "safetensors", "-o", str(target)]
    result = runner.invoke(app, [*args, "-d", "b2a"])
    _one_line_error(result, "translates only a2b, not b2a")
    assert not target.exists()
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and target.is_file()


def test_score_has_only_the_a2b_column(cut_run: Path):
    result = runner.invoke(app, ["score", str(cut_run), "-m", "psnr,l1", "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)["scores"]
    assert "a2b/psnr" in scores and not any(k.startswith("b2a/") for k in scores)


def test_report_says_which_directions_exist(cut_run: Path, tmp_path: Path):
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(cut_run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "cut translates A → B only." in html
    assert "loss: PatchNCE" in html  # the NCE terms get their own curve group


def test_demo_refuses_a_missing_direction(cut_run: Path, tmp_path: Path):
    app_dir = tmp_path / "app"
    result = runner.invoke(
        app, ["demo", str(cut_run), "--direction", "b2a", "--export", str(app_dir)]
    )
    _one_line_error(result, "translates only a2b, not b2a")
    assert not app_dir.exists()
    result = runner.invoke(app, ["demo", str(cut_run), "--export", str(app_dir)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in app_dir.glob("*.safetensors")) == ["a2b.safetensors"]


def test_sample_grid_has_input_and_output_rows_only(cut_run: Path):
    grid = Image.open(sorted((cut_run / "samples").glob("*.png"))[-1])
    assert grid.size == (2 * 32, 2 * 32)  # 2 test images; rows: input, translated
