"""Offline, ``translkit score`` scores what it can: a default metric that cannot run here
(FID/KID/IS without Inception weights, any metric whose ``prepare`` raises
``MetricUnavailable``) is skipped with one line; one the user named is the error (issue 21,
finding 4). Training's ``[eval] metrics`` stay a preflight error: they were configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from scoring_support import make_run_dir, write_images
from training_support import tiny_recipe
from translkit_plugins import inception
from typer.testing import CliRunner

import translkit
from translkit.cli import app
from translkit.errors import MetricUnavailable
from translkit.scoring import check_metrics, score_run

runner = CliRunner()

UNAVAILABLE_PLUGIN = """
import translkit
from translkit_plugins import inception
from translkit.errors import MetricUnavailable

class NeedsAClassifier:
    '''A metric whose classifier weights are not on this machine.'''
    goals = {"acc": "max"}
    min_images = 1
    info = {}
    def prepare(self, inception_weights):
        raise MetricUnavailable("its classifier weights are not here; pass them with X")
    def __call__(self, inputs):
        raise AssertionError("never called: prepare said it cannot run")

@translkit.hookimpl
def translkit_register(registry):
    registry.metrics.add("needs_classifier", NeedsAClassifier)
"""


@pytest.fixture(autouse=True)
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No Inception weights given, cached or downloadable; caches in tmp_path."""
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(inception.ENV_INCEPTION_WEIGHTS, raising=False)
    monkeypatch.setattr(inception, "hub_checkpoint_dir", lambda: tmp_path / "hub")
    monkeypatch.setattr(inception, "is_online", lambda url, timeout=3.0: False)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i, split in enumerate(("testA", "testB", "testA_truth", "testB_truth")):
        write_images(root / split, 2, (24, 24), seed=i)
    return make_run_dir(tmp_path / "runs" / "r", root)


def _not_scored(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("not scored")]


def test_default_metrics_that_cannot_run_are_skipped_in_one_line(run_dir: Path) -> None:
    result = runner.invoke(app, ["score", str(run_dir), "--json"])  # defaults: fid, kid, is
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"a2b/psnr", "b2a/ssim", "a2b/l1"} <= set(out["scores"])  # the truth metrics
    assert set(out["skipped"]) == {"fid", "kid", "is"}
    (line,) = _not_scored(result.stderr)
    assert line.startswith("not scored: fid, kid, is — ") and "--metric-weights" in line
    saved = json.loads((run_dir / "scores.json").read_text())
    assert set(saved["skipped"]) == {"fid", "kid", "is"}
    table = runner.invoke(app, ["score", str(run_dir)])  # the table, same one line
    assert table.exit_code == 0 and len(_not_scored(table.stderr)) == 1


def test_a_named_metric_that_cannot_run_is_the_error(run_dir: Path) -> None:
    for names in ("fid", "psnr,kid"):
        result = runner.invoke(app, ["score", str(run_dir), "-m", names])
        assert result.exit_code == 1, result.output
        (line,) = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
        assert "offline" in line and "--metric-weights" in line
    named = runner.invoke(app, ["score", str(run_dir), "-m", "psnr"])
    assert named.exit_code == 0, named.output


def test_nothing_scorable_is_one_error_line(run_dir: Path, tmp_path: Path) -> None:
    for split in ("testA_truth", "testB_truth"):
        for p in (tmp_path / "data" / split).iterdir():
            p.unlink()
        (tmp_path / "data" / split).rmdir()
    result = runner.invoke(app, ["score", str(run_dir)])
    assert result.exit_code == 1
    (line,) = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert "nothing could be scored" in line and "fid, kid, is" in line
    write_images(tmp_path / "real", 2, (24, 24))
    write_images(tmp_path / "fake", 2, (24, 24), seed=1)
    folders = runner.invoke(app, ["score", "--real", "real", "--fake", "fake"])
    assert folders.exit_code == 1 and "nothing could be scored" in folders.output


def test_any_metric_plugin_gets_the_skip_through_prepare(run_dir: Path, make_module) -> None:
    module = make_module("unavailable_metric_plugin", UNAVAILABLE_PLUGIN)
    registries = translkit.get_registry([module])
    runnable, skipped = check_metrics(["needs_classifier", "psnr"], registries)
    assert runnable == ["psnr"] and "classifier weights" in skipped["needs_classifier"]
    recipe = run_dir / "recipe.resolved.toml"
    recipe.write_text(recipe.read_text().replace("metrics = []", 'metrics = ["needs_classifier"]'))
    out = score_run(run_dir, registries)  # the recipe's metrics: skipped, truth scored
    assert "needs_classifier" in out["skipped"] and "a2b/psnr" in out["scores"]
    with pytest.raises(MetricUnavailable, match="'needs_classifier' cannot run"):
        score_run(run_dir, registries, metrics=["needs_classifier"])


def test_eval_metrics_that_cannot_run_stop_training_before_it_starts(tmp_path: Path) -> None:
    recipe = tiny_recipe(tmp_path, optim={"epochs": 1}, eval={"metrics": ["fid"]})
    with pytest.raises(MetricUnavailable, match=r"\[eval\] metrics: metric 'fid' cannot run"):
        translkit.train(recipe, progress=False)
    assert not (recipe.run_dir / "checkpoints").exists()
