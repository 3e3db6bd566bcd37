"""benchmarks/compare_methods.py: methods drop in from the registry (or a plugin module),
keep the base recipe's networks and shared losses, and the script runs end to end."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import translkit

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "compare_methods.py"

#: A method plugin: CycleGAN without the identity slot, registered as "noidt".
PLUGIN = """
import translkit
from translkit_plugins.cyclegan import CycleGAN


class NoIdentity(CycleGAN):
    name = "noidt"
    losses = tuple(s for s in CycleGAN.losses if s.name != "identity")

    def setup(self, nets, losses, context):
        super().setup(nets, {**losses, "identity": type("Off", (), {"weight": 0.0})()}, context)


@translkit.hookimpl
def translkit_register(registry):
    registry.methods.add("noidt", NoIdentity)
"""

TINY = """
[run]
name = "tiny"
[data]
dataset = "synthetic_recolor"
root = "data/tiny_recolor"
synthetic_train = 2
synthetic_test = 2
load_size = 32
crop_size = 32
[generator]
name = "unet"
num_downs = 5
ngf = 4
[discriminator]
name = "patchgan"
ndf = 4
n_layers = 2
[loss.identity]
weight = 2.0
[optim]
lr = 0.004
batch_size = 1
epochs = 2
[eval]
num_samples = 1
"""


def _script():
    spec = importlib.util.spec_from_file_location("compare_methods", SCRIPT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "mods"
    folder.mkdir()
    (folder / "noidt_method.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_another_method_keeps_the_networks_and_only_its_own_loss_slots(
    tmp_path: Path, plugin_dir: Path
) -> None:
    compare = _script()
    base = tmp_path / "base.toml"
    base.write_text(TINY)
    registries = translkit.get_registry(["noidt_method"])
    same, origin = compare.method_recipe(base, "cyclegan", ["optim.lr=0.001"], registries)
    assert same.method.name == "cyclegan" and origin == str(base)
    assert same.loss["identity"].options["weight"] == 2.0 and same.optim.lr == 0.001
    other, origin = compare.method_recipe(base, "noidt", [], registries)
    assert other.method.name == "noidt" and origin.endswith("base.toml with method noidt")
    assert set(other.loss) == {"gan", "cycle", "change"}  # identity dropped: not noidt's
    assert other.generator == same.generator and other.train.device == "cpu"
    (tmp_path / "base_noidt.toml").write_text(TINY.replace("ngf = 4", "ngf = 8"))
    own, origin = compare.method_recipe(base, "noidt", [], registries)  # its own recipe wins
    assert origin.endswith("base_noidt.toml") and own.generator.options["ngf"] == 8


@pytest.mark.slow
def test_script_runs_end_to_end_and_skips_unregistered_methods(
    tmp_path: Path, plugin_dir: Path
) -> None:
    (tmp_path / "tiny.toml").write_text(TINY)
    cmd = [sys.executable, str(SCRIPT), "--steps", "2", "--threads", "1",
           "--methods", "cyclegan", "noidt", "nosuch", "--datasets", "synthetic_recolor",
           "--recipe", f"synthetic_recolor={tmp_path / 'tiny.toml'}",
           "--plugin", "noidt_method", "--out", str(tmp_path / "out")]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(plugin_dir), "OMP_NUM_THREADS": "1"}
    env["TRANSLKIT_CACHE"] = str(tmp_path / "cache")
    res = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "skipping nosuch: not a registered method" in out
    assert "CPU: " in out and "flags: " in out and "budget: 2 steps per run" in out
    table = out[out.index("dataset ") :].splitlines()
    rows = {line.split()[1]: line.split() for line in table[1:]}
    assert set(rows) == {"identity", "cyclegan", "noidt"}
    assert rows["cyclegan"][2] == rows["noidt"][2] == "2"  # steps done
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    for method in ("cyclegan", "noidt"):
        r = results[f"synthetic_recolor/{method}"]
        assert r["steps"] == 2 and r["peak_mb"] > 0 and 0 < r["scores"]["a2b/psnr"] <= 100
        assert (tmp_path / "out" / f"synthetic_recolor_{method}.png").is_file()
    identity = results["synthetic_recolor/identity"]["scores"]["a2b/psnr"]
    assert 15 < identity < 27  # copying the input: about 21 dB on this benchmark
