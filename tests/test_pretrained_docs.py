"""docs/models.md stays true: its worked example (a plugin package shipping a model, its
release step, its use by name) runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS_MD = ROOT / "docs" / "models.md"


@pytest.mark.slow
def test_models_guide_example_runs(tmp_path: Path) -> None:
    text = MODELS_MD.read_text()
    files = re.findall(r"<!-- file: (\S+) -->\n```python\n(.*?)```", text, re.S)
    runs = re.findall(r"<!-- run -->\n```python\n(.*?)```", text, re.S)
    assert files and len(runs) == 2
    for name, code in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(code)
    for code in runs:
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
        )
        assert out.returncode == 0, out.stderr
    assert (tmp_path / "out.png").is_file()


def test_the_guide_documents_every_contract_field() -> None:
    from dataclasses import fields

    from translkit.contracts import ModelWeights, PretrainedModel

    text = MODELS_MD.read_text()
    for cls in (PretrainedModel, ModelWeights):
        for f in fields(cls):
            assert f"`{f.name}`" in text, (
                f"docs/models.md does not document {cls.__name__}.{f.name}"
            )
