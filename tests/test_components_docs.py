"""docs/components.md stays true: every built-in component and option documented; examples run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import translkit

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "components.md"


def builtin(kind: str) -> list:
    return [
        e
        for e in translkit.get_registry().kind(kind).entries()
        if e.plugin.startswith("translkit.")
    ]


def section(text: str, name: str) -> str:
    """The text under the ``###`` heading that names ``name`` (up to the next heading)."""
    match = re.search(rf"^### .*`{re.escape(name)}`.*$", text, re.M)
    assert match, f"no heading for {name} in {DOC.name}"
    rest = text[match.end() :]
    end = re.search(r"^#{2,3} ", rest, re.M)
    return rest[: end.start() if end else None]


@pytest.mark.parametrize("kind", ["generators", "discriminators"])
def test_every_network_and_option_documented(kind):
    text = DOC.read_text()
    entries = builtin(kind)
    assert entries
    for entry in entries:
        body = section(text, entry.name)
        for option in entry.parameters():
            assert f"`{option}`" in body, f"{entry.name}: option {option} not documented"


def test_every_loss_and_option_documented():
    text = DOC.read_text()
    for entry in builtin("losses"):
        rows = [line for line in text.splitlines() if line.startswith(f"| `{entry.name}` |")]
        assert rows, f"loss {entry.name} has no row"
        for option in entry.parameters():
            assert f"`{option}`" in rows[0], f"{entry.name}: option {option} not documented"


def test_documented_defaults_match_the_code():
    text = DOC.read_text()
    for kind in ("generators", "discriminators"):
        for entry in builtin(kind):
            body = section(text, entry.name)
            for option, param in entry.parameters().items():
                row = next((r for r in body.splitlines() if r.startswith(f"| `{option}`")), None)
                if row is None:  # shared options documented in a combined row
                    continue
                default = param.default
                shown = str(default).lower() if isinstance(default, bool) else default
                shown = '""' if shown == "" else shown
                assert f"`{shown}`" in row, f"{entry.name}.{option}: default {shown} not in {row}"


@pytest.mark.slow
def test_examples_run(tmp_path):
    blocks = re.findall(r"<!-- run -->\n```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 3
    for code in blocks:
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "imported.pt").is_file()
