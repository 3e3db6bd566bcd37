"""The Metric contract's optional parts, read as typed attributes (``MetricBase``), and the
one adapter for metrics written against the older contract (``prepare(inception_weights)``,
``baselines = True``, ``<key>@real`` / ``<key>_untrusted`` info keys); the old names of the
metrics' weights setting; each metric built once; data preparation as a step of training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from scoring_support import make_run_dir, write_images
from training_support import make_data
from translkit_plugins._domain import distances
from typer.testing import CliRunner

import translkit
from translkit.cli import app
from translkit.contracts import MetricBase, MetricInputs, MetricSetup
from translkit.errors import RecipeError
from translkit.recipe import recipe_from_dict, resolve_recipe
from translkit.registry import Registries
from translkit.scoring import score_folders, score_run

runner = CliRunner()

OLD_METRIC = """
import translkit

class OldStyle:
    '''Written against the older contract: prepare(inception_weights), info conventions.'''
    goals = {"odd": "min"}
    min_images = 1
    baselines = True
    def __init__(self):
        self.info = {}
        self.seen = []
    def prepare(self, inception_weights):
        self.seen.append(inception_weights)
    def __call__(self, inputs):
        self.info = {"odd@real": 0.5, "odd_untrusted": 1.0, "odd_images": 2.0}
        return {"odd": 1.0}

@translkit.hookimpl
def translkit_register(registry):
    registry.metrics.add("old_style", OldStyle)
"""


class Typed(MetricBase):
    """Declares its parts: a reference value, a trust mark, baselines shown by default."""

    show_baselines = True
    built = 0

    def __init__(self) -> None:
        Typed.built += 1
        self.goals = {"score": "max"}
        self.info: dict[str, float] = {}
        self.setups: list[MetricSetup] = []

    def preflight(self, setup: MetricSetup) -> None:
        self.setups.append(setup)

    def __call__(self, inputs: MetricInputs) -> dict[str, float]:
        self.info = {"typed_images": 2.0}
        self.reference = {"score": 0.9, "accuracy": 0.8}
        self.untrusted = {"typed_untrusted": "its classifier is unsure; do not trust it"}
        return {"score": 0.25}


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    write_images(tmp_path / "fake", 2, (24, 24), seed=1)
    write_images(tmp_path / "real", 2, (24, 24), seed=2)
    return tmp_path / "fake", tmp_path / "real"


def test_typed_parts_reach_the_result_and_the_table(tmp_path: Path, monkeypatch) -> None:
    registries = Registries()
    registries.metrics.add("typed", Typed)
    fake, real = _folders(tmp_path)
    result = score_folders(fake, real, ["typed"], registries)
    assert result.values == {"score": 0.25} and result.info == {"typed_images": 2.0}
    assert result.reference == {"score": 0.9, "accuracy": 0.8}
    assert result.untrusted == {"typed_untrusted": "its classifier is unsure; do not trust it"}
    monkeypatch.setattr("translkit.plugin_manager.load_plugins", lambda _: _Set(registries))
    shown = runner.invoke(app, ["score", "--fake", str(fake), "--real", str(real), "-m", "typed"])
    assert shown.exit_code == 0, shown.output
    assert "real" in shown.output and "accuracy" in shown.output and "0.9" in shown.output
    assert "typed_untrusted: its classifier is unsure; do not trust it" in shown.output
    assert "typed_images = 2" in shown.output


class _Set:
    def __init__(self, registries: Registries) -> None:
        self.registries = registries


def test_an_old_contract_metric_is_adapted_in_one_place(tmp_path: Path, make_module) -> None:
    registries = translkit.get_registry([make_module("old_metric_plugin", OLD_METRIC)])
    fake, real = _folders(tmp_path)
    result = score_folders(
        fake, real, ["old_style"], registries, skip_unavailable=True, metric_weights="w.pth"
    )
    assert result.values == {"odd": 1.0} and result.info == {"odd_images": 2.0}
    assert result.reference == {"odd": 0.5}
    assert set(result.untrusted) == {"odd_untrusted"}
    from translkit.metric_adapter import build_metrics

    (adapted,) = build_metrics(["old_style"], registries).values()
    assert adapted.show_baselines and not adapted.prepares_data and not adapted.typed
    adapted.preflight(MetricSetup(weights=Path("w.pth")))
    assert adapted.metric.seen == [Path("w.pth")]  # prepare(inception_weights) got the file


def test_old_names_of_the_weights_setting_still_work(tmp_path: Path) -> None:
    raw = {"data": {"root": str(tmp_path)}, "eval": {"inception_weights": "w.pth"}}
    assert recipe_from_dict(raw).eval.metric_weights == "w.pth"
    same = {"data": {"root": str(tmp_path)}, "eval": {"inception_weights": "w.pth"}}
    same["eval"]["metric_weights"] = "w.pth"
    assert recipe_from_dict(same).eval.metric_weights == "w.pth"
    both = {"eval": {"inception_weights": "a.pth", "metric_weights": "b.pth"}}
    with pytest.raises(RecipeError, match="eval.inception_weights .* and eval.metric_weights"):
        recipe_from_dict(both)
    seen: list[MetricInputs] = []

    class Spy(MetricBase):
        def __init__(self) -> None:
            self.goals = {"n": "max"}

        def __call__(self, inputs: MetricInputs) -> dict[str, float]:
            seen.append(inputs)
            return {"n": 1.0}

    registries = Registries()
    registries.metrics.add("spy", Spy)
    fake, real = _folders(tmp_path)
    score_folders(fake, real, ["spy"], registries, inception_weights="old.pth")  # old keyword
    assert seen[0].weights == Path("old.pth") and seen[0].inception_weights == Path("old.pth")
    with pytest.raises(TypeError, match="both inception_weights= and metric_weights="):
        score_folders(fake, real, ["spy"], registries, inception_weights="a", metric_weights="b")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = seen[0].nope


def test_score_run_builds_each_metric_once(tmp_path: Path) -> None:
    """The model, both directions and both baselines: one metric object, one preflight."""
    root = tmp_path / "data"
    for i, split in enumerate(("testA", "testB", "trainA", "trainB")):
        write_images(root / split, 2, (24, 24), seed=i)
    registries = translkit.get_registry()
    registries.metrics.add("typed", Typed)
    run = make_run_dir(tmp_path / "runs" / "r", root)
    Typed.built = 0
    out = score_run(run, registries, metrics=["typed"])  # show_baselines: they are scored
    assert Typed.built == 1
    assert set(out["baselines"]) == {"copy_input"}  # it offers no baseline of its own
    assert out["reference"] == {
        f"{d}/{k}": v for d in ("a2b", "b2a") for k, v in (("score", 0.9), ("accuracy", 0.8))
    }
    saved = json.loads((run / "scores.json").read_text())
    assert saved["reference"]["a2b/accuracy"] == 0.8
    assert saved["untrusted"]["b2a/typed_untrusted"].startswith("its classifier")


def test_domain_distances_match_the_maths_they_replaced() -> None:
    """FD through torch-fidelity's statistics, KID through its polynomial kernel: the numbers
    of the eigenvalue FD and the hand-written kernel translkit had before."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 6)), rng.normal(0.3, 1.2, size=(33, 6))

    def old_fd(a: np.ndarray, b: np.ndarray) -> float:
        ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        vals, vecs = np.linalg.eigh(ca)
        root = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
        middle = np.sqrt(np.clip(np.linalg.eigvalsh(root @ cb @ root), 0, None)).sum()
        mean = ((a.mean(0) - b.mean(0)) ** 2).sum()
        return float(max(mean + np.trace(ca) + np.trace(cb) - 2 * middle, 0.0))

    def old_kid(a: np.ndarray, b: np.ndarray) -> float:
        d, m, n = a.shape[1], len(a), len(b)
        kxx, kyy, kxy = ((p @ q.T / d + 1) ** 3 for p, q in ((a, a), (b, b), (a, b)))
        xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        return float(xx + yy - 2 * kxy.mean())

    assert distances.frechet_distance(x, y) == pytest.approx(old_fd(x, y), rel=1e-9)
    assert distances.kernel_distance(x, y) == pytest.approx(old_kid(x, y), rel=1e-9)
    assert distances.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)


class Preparing(MetricBase):
    """Records when its data is prepared."""

    prepares_data = True
    calls: ClassVar[list[Path]] = []

    def __init__(self) -> None:
        self.goals = {"n": "max"}

    def prepare_data(self, data_root: Path, cache_dir: Path, progress: bool = False) -> None:
        Preparing.calls.append(Path(data_root))

    def __call__(self, inputs: MetricInputs) -> dict[str, float]:
        return {"n": 1.0}


def test_training_prepares_metric_data_as_a_step_not_at_set_up(tmp_path: Path, monkeypatch) -> None:
    from translkit.training import train
    from translkit.training.trainer import Trainer

    registries = translkit.get_registry()
    registries.metrics.add("preparing", Preparing)
    raw = {
        "run": {"name": "p", "output_dir": str(tmp_path / "runs"), "seed": 1},
        "data": {"root": str(make_data(tmp_path / "data")), "load_size": 32, "crop_size": 32},
        "generator": {"name": "resnet", "n_blocks": 1, "ngf": 4},
        "discriminator": {"name": "patchgan", "ndf": 4, "n_layers": 2},
        "optim": {"epochs": 1, "batch_size": 2},
        "train": {"device": "cpu", "sample_every": 0, "tensorboard": False},
        "eval": {"every": 1, "num_samples": 0, "metrics": ["preparing"]},
    }
    recipe = resolve_recipe(recipe_from_dict(raw), registries)
    at_set_up: list[int] = []
    original = Trainer.__init__

    def constructed(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        at_set_up.append(len(Preparing.calls))

    monkeypatch.setattr(Trainer, "__init__", constructed)
    Preparing.calls = []
    result = train(recipe, registries=registries, progress=False)
    assert at_set_up == [0]  # the constructor only checked
    assert Preparing.calls == [Path(recipe.data.root).expanduser()]  # then one named step
    assert "a2b/n" in json.loads((result.run_dir / "eval.jsonl").read_text().splitlines()[-1])
