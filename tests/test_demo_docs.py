"""docs/demo.md stays true: its options exist, its screenshot is there and small, and the
README lists the command and the page."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from translkit.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "demo.md"


def test_every_documented_option_is_in_the_help() -> None:
    documented = set(re.findall(r"^\| `(--[a-z-]+)[` ]", DOC.read_text(), re.M))
    assert {"--host", "--port", "--max-pixels", "--export", "--overwrite"} <= documented
    help_text = CliRunner().invoke(app, ["demo", "--help"], terminal_width=200).output
    for option in documented:
        assert option in help_text, f"{option} is documented but not in `translkit demo --help`"


def test_the_screenshot_is_committed_small_and_linked() -> None:
    shot = ROOT / "docs" / "images" / "demo.png"
    assert "(images/demo.png)" in DOC.read_text()
    assert shot.stat().st_size < 150_000
    with Image.open(shot) as img:
        assert img.width >= 800 and img.height >= 400


def test_readme_lists_the_command_and_the_doc() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "translkit demo runs/" in readme and "`docs/demo.md`" in readme
