"""Scores on too-small sets: each metric's minimum, one line below it, never `nan`, and no
library warning on the terminal."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from scoring_support import inception_weights, write_images
from typer.testing import CliRunner

from translkit import get_registry
from translkit.cli import app
from translkit.errors import MetricError
from translkit.registry import Registries
from translkit.scoring import score_folders

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
EXPECTED_MIN = {"is": 2, "fid": 2, "kid": 2, "prc": 4, "psnr": 1, "ssim": 1, "l1": 1}


def _folders(tmp_path: Path, n_fake: int, n_real: int) -> tuple[Path, Path]:
    fake, real = tmp_path / "fake", tmp_path / "real"
    write_images(fake, n_fake, (32, 32), seed=1)
    write_images(real, n_real, (32, 32), seed=2, bias=60)
    return fake, real


def _score(fake: Path, real: Path, metric: str):
    return runner.invoke(
        app,
        [
            "score",
            "--fake",
            str(fake),
            "--real",
            str(real),
            "--metrics",
            metric,
            "--inception-weights",
            str(inception_weights()),
        ],
    )


def test_every_builtin_metric_states_its_minimum_and_the_docs_agree() -> None:
    registry = get_registry()
    table = (ROOT / "docs" / "scoring.md").read_text()
    for name, expected in EXPECTED_MIN.items():
        metric = registry.metrics.create(name)
        assert metric.min_images == expected, name
        row = re.search(rf"^\| `{name}` \|.*$", table, re.M)
        assert row and f"| {expected} |" in row.group(0), name


@pytest.mark.parametrize("metric", ["kid", "fid", "is", "prc"])
def test_one_image_is_one_line_not_nan(tmp_path, metric) -> None:
    fake, real = _folders(tmp_path, 1, 5)
    result = _score(fake, real, metric)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    need = EXPECTED_MIN[metric]
    assert f"metric {metric!r} needs at least {need} translated images; {fake} has 1" in lines[0]
    assert "nan" not in result.stdout and "Warning" not in result.stderr


def test_the_real_folder_below_the_minimum_is_named(tmp_path) -> None:
    fake, real = _folders(tmp_path, 3, 1)
    result = _score(fake, real, "kid")
    assert result.exit_code == 1
    assert f"KID needs at least 2 images per folder; the real-image folder {real} has 1" in (
        result.stderr
    )


def test_a_non_finite_result_is_refused(tmp_path) -> None:
    class Degenerate:
        min_images = 1

        def __init__(self) -> None:
            self.goals = {"odd": "min"}
            self.info: dict[str, float] = {}

        def prepare(self, inception_weights) -> None:
            pass

        def __call__(self, inputs):
            warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=1)
            return {"odd": float("nan")}

    registry = Registries()
    registry.metrics.add("odd", Degenerate)
    fake, real = _folders(tmp_path, 2, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(MetricError, match=r"metric 'odd' gave odd = nan on .*too small"):
            score_folders(fake, real, ["odd"], registry)
    assert not caught  # the metric's warning is logged at debug level, not shown


def test_library_warnings_never_reach_the_terminal(tmp_path, monkeypatch) -> None:
    import torch_fidelity

    def noisy(**kwargs):
        warnings.warn("invalid value encountered in multiply", RuntimeWarning, stacklevel=1)
        raise ValueError("Array must not contain infs or NaNs")

    monkeypatch.setattr(torch_fidelity, "calculate_metrics", noisy)
    fake, real = _folders(tmp_path, 2, 2)
    result = _score(fake, real, "fid")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: torch-fidelity failed: Array must not contain infs or NaNs"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["kid", "fid", "is"])
def test_the_minimum_itself_scores_finite_and_quietly(tmp_path, metric) -> None:
    fake, real = _folders(tmp_path, 2, 2)
    result = _score(fake, real, metric)
    assert result.exit_code == 0, result.stderr
    assert "nan" not in result.stdout and "Warning" not in result.stderr
