"""Metrics from a plugin module the user loads are found when scoring generators."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import translkit
from translkit.scoring import score_generators

METRIC_PLUGIN = """
import translkit
from translkit.data import list_images

class CountFakes:
    '''Counts translated images (a recipe-local test metric).'''
    goals = {"count": "max"}
    min_images = 1
    info = {}
    def prepare(self, inception_weights):
        pass
    def __call__(self, inputs):
        return {"count": float(len(list_images(inputs.fake)))}

@translkit.hookimpl
def translkit_register(registry):
    registry.metrics.add("count_fakes", CountFakes)
"""


class Negate(torch.nn.Module):
    size_multiple = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -x


def test_recipe_plugin_metrics_are_scored(tmp_path: Path, make_module) -> None:
    module = make_module("local_metric_plugin", METRIC_PLUGIN)
    rng = np.random.default_rng(0)
    for folder, n in (("testA", 3), ("testB", 2)):
        (tmp_path / folder).mkdir()
        for i in range(n):
            pixels = rng.integers(0, 255, (20, 28, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / folder / f"{i}.png")
    gens = {"a2b": Negate(), "b2a": Negate()}
    data = SimpleNamespace(root=str(tmp_path))
    out = tmp_path / "out"
    with_plugin = translkit.get_registry([module])
    scores = score_generators(gens, data, ["count_fakes"], with_plugin, out_dir=out).values
    assert scores == {"a2b/count": 3.0, "b2a/count": 2.0}
    with pytest.raises(translkit.ComponentError, match="count_fakes"):
        score_generators(gens, data, ["count_fakes"], translkit.get_registry(), out_dir=out)
