"""docs/data.md stays true: its Python example runs, its commands and options exist."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from translkit.cli import app

DOC = Path(__file__).resolve().parents[1] / "docs" / "data.md"


@pytest.mark.slow
def test_data_doc_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"<!-- run -->\n```python\n(.*?)```", DOC.read_text(), re.S)
    assert blocks
    for code in blocks:
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
    assert "3 torch.Size([2, 3, 32, 32]) True" in out.stdout
    assert (tmp_path / "tiny" / "testA_truth").is_dir()


def test_documented_options_exist_and_picture_is_there() -> None:
    text = DOC.read_text()
    assert (DOC.parent / "images" / "synthetic_samples.png").is_file()
    for cmd in ("download", "info", "synth", "deepfashion", "check"):
        line = next(x for x in text.splitlines() if x.startswith(f"translkit data {cmd} "))
        options = set(re.findall(r"--[a-z-]+", line))
        help_text = CliRunner().invoke(app, ["data", cmd, "--help"], terminal_width=200).output
        for opt in options:
            assert opt in help_text, f"{opt} of `data {cmd}` is documented but not in --help"
