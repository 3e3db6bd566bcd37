"""What the commands print reads cleanly when piped: no empty first line, one line per
note however long, no trailing padding on table lines, the plugin listing at full width,
``--direction`` refused before torch is imported, and the HTML report's summary showing
nested values as small tables and lists rather than raw JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from data_support import make_tree
from scoring_support import generators_checkpoint, write_images
from typer.testing import CliRunner

from translkit.cli import app
from translkit.report import build_report

runner = CliRunner()
PIPED = {"COLUMNS": "80"}  # CliRunner is no terminal: rich renders as it does into a pipe


def test_translate_stderr_is_the_summary_and_one_runtime_line(tmp_path: Path) -> None:
    ckpt = generators_checkpoint(tmp_path / "g.pt", ngf=4)
    write_images(tmp_path / "in", 2)
    result = runner.invoke(
        app, ["translate", str(ckpt), str(tmp_path / "in"), str(tmp_path / "out")], env=PIPED
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("2 written to"), result.stderr  # no empty line before it
    assert len(lines) == 2 and lines[1].startswith("runtime: "), result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["translate", "g.pt", "in", "out", "--direction", "x2y"],
        ["export", "g.pt", "-o", "g.onnx", "--direction", "x2y"],
        ["demo", "g.pt", "--direction", "x2y"],
    ],
    ids=lambda a: a[0],
)
def test_unknown_direction_is_refused_before_torch_is_imported(args: list[str]) -> None:
    code = (
        "import sys\nfrom translkit.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit as e:\n"
        "    print(e.code, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "False"], out
    assert out.stderr.strip() == "error: --direction must be one of a2b, b2a, got 'x2y'"


def _no_trailing_spaces(text: str) -> None:
    padded = [line for line in text.splitlines() if line != line.rstrip()]
    assert not padded, padded


@pytest.mark.parametrize("args", [["list"], ["list", "generators"], ["plugins"]], ids=" ".join)
def test_listings_piped_have_no_trailing_spaces(args: list[str]) -> None:
    result = runner.invoke(app, args, env=PIPED)
    assert result.exit_code == 0, result.output
    _no_trailing_spaces(result.stdout)


def test_data_check_tables_piped_have_no_trailing_spaces(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "d", {"trainA": 2, "trainB": 2, "testA": 1, "testB": 1})
    result = runner.invoke(app, ["data", "check", str(root)], env=PIPED)
    assert "trainA" in result.stdout, result.output
    _no_trailing_spaces(result.stdout)


def test_plugins_listing_uses_the_width_for_what_was_registered() -> None:
    result = runner.invoke(app, ["plugins"], env=PIPED)
    lines = result.stdout.splitlines()
    start = lines.index(next(ln for ln in lines if ln.startswith("translkit.datasets  ")))
    block = lines[start + 1 : lines.index("", start)]
    # 13 dataset names: a few full-width lines, not one narrow column of 11
    assert 1 <= len(block) <= 5 and max(len(ln) for ln in block) > 60, block
    assert all(len(ln) <= 80 for ln in lines)


def test_report_summary_renders_nested_values_readably(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "recipe.resolved.toml").write_text("[run]\n")
    summary = {
        "best": {"epoch": 3, "metric": "objective", "value": 1.25},
        "directions": ["a2b", "b2a"],
        "precision": {"name": "fp32", "reason": "requested"},
        "epochs": 1,
        "steps": 10,
    }
    (run / "summary.json").write_text(json.dumps(summary))
    page = build_report(run)
    section = page[page.index("Summary and timings") :]
    section = section[: section.index("</section>")]
    assert "{" not in section and "[" not in section and "&quot;" not in section, section
    assert '<table class="nested"><tr><td>epoch</td><td class="num">3</td></tr>' in section
    assert "<td>a2b, b2a</td>" in section


def test_a_damaged_summary_leaves_the_rest_of_the_report(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "recipe.resolved.toml").write_text("[run]\n")
    (run / "summary.json").write_text(json.dumps({"steps": 3}))  # no epochs: never a summary
    page = build_report(run)
    section = page[page.index("Summary") :]
    assert "has no &#x27;epochs&#x27;" in section or "has no 'epochs'" in section
    assert "Resolved recipe" in page
