"""Plugin loading: entry points, named modules, blocking, autoload switch, failures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import translkit
from translkit.errors import PluginError
from translkit.plugin_manager import ENV_BLOCK, ENV_DISABLE_AUTOLOAD, load_plugins

PLUGIN = """
import translkit

class Gen:
    '''A test generator.'''
    def __init__(self, width: int = 2):
        self.width = width

@translkit.hookimpl
def translkit_register(registry):
    registry.generators.add("{name}", Gen)
"""


def test_entry_point_plugin_is_loaded_with_its_distribution(make_distribution) -> None:
    make_distribution("acme-gans", "1.2.3", "acme", "acme_gans_ep", PLUGIN.format(name="acme_gen"))
    loaded = load_plugins()
    info = {p.name: p for p in loaded.plugins}["acme"]
    assert (info.distribution, info.version, info.source) == ("acme-gans", "1.2.3", "entry point")
    assert loaded.registries.generators.get("acme_gen").plugin == "acme"
    assert loaded.registries.generators.get("acme_gen").module == "acme_gans_ep"
    assert loaded.registered_by("acme") == {"generators": ["acme_gen"]}
    assert loaded.registries.generators.create("acme_gen", width=5).width == 5


def test_builtins_load_through_the_same_entry_point_group() -> None:
    loaded = load_plugins()
    builtin = [p for p in loaded.plugins if p.builtin]
    assert {p.name for p in builtin} >= {
        "translkit.generators",
        "translkit.discriminators",
        "translkit.losses",
        "translkit.metrics",
        "translkit.methods",
        "translkit.importers",
    }
    assert all(p.source == "entry point" for p in builtin)
    assert all(p.module.startswith("translkit_plugins.") for p in builtin)


def test_disable_autoload_skips_third_party_but_keeps_builtins(
    make_distribution, monkeypatch
) -> None:
    make_distribution("acme-off", "1.0", "acme_off", "acme_off_ep", PLUGIN.format(name="off_gen"))
    monkeypatch.setenv(ENV_DISABLE_AUTOLOAD, "1")
    loaded = load_plugins()
    names = {p.name for p in loaded.plugins}
    assert "acme_off" not in names and "off_gen" not in loaded.registries.generators
    assert "translkit.generators" in names


def test_blocked_plugin_is_not_loaded(make_distribution, monkeypatch) -> None:
    make_distribution("acme-blk", "1.0", "acme_blk", "acme_blk_ep", PLUGIN.format(name="blk_gen"))
    monkeypatch.setenv(ENV_BLOCK, "acme_blk, something_else")
    loaded = load_plugins()
    assert "blk_gen" not in loaded.registries.generators
    assert loaded.blocked == ["acme_blk", "something_else"]


def test_recipe_named_module_is_registered(make_module) -> None:
    name = make_module("my_project_plugin", PLUGIN.format(name="one_off"))
    loaded = load_plugins([name])
    assert loaded.registries.generators.get("one_off").plugin == name
    assert {p.name: p.source for p in loaded.plugins}[name] == "named"


def test_recipe_named_module_can_be_blocked(make_module, monkeypatch) -> None:
    name = make_module("blocked_module", PLUGIN.format(name="blocked_gen"))
    monkeypatch.setenv(ENV_BLOCK, name)
    assert "blocked_gen" not in load_plugins([name]).registries.generators


def test_missing_recipe_module_is_a_plugin_error() -> None:
    with pytest.raises(PluginError, match="'no_such_plugin_module' .named in a recipe or --plugin"):
        load_plugins(["no_such_plugin_module"])


def test_plugin_failing_at_import_names_plugin_and_distribution(make_distribution) -> None:
    make_distribution("broken-dist", "0.9", "broken", "broken_ep", "raise RuntimeError('boom')\n")
    with pytest.raises(PluginError) as err:
        load_plugins()
    msg = str(err.value)
    assert "'broken'" in msg and "broken-dist 0.9" in msg and "boom" in msg


def test_plugin_failing_to_register_names_plugin_and_distribution(make_distribution) -> None:
    source = """
import translkit

@translkit.hookimpl
def translkit_register(registry):
    raise KeyError("no such thing")
"""
    make_distribution("faulty-dist", "2.0", "faulty", "faulty_ep", source)
    with pytest.raises(PluginError) as err:
        load_plugins()
    msg = str(err.value)
    assert "'faulty'" in msg and "faulty-dist" in msg and "KeyError" in msg


def test_duplicate_component_across_plugins_names_both(make_distribution, make_module) -> None:
    make_distribution("dup-a", "1.0", "dup_a", "dup_a_ep", PLUGIN.format(name="same_name"))
    other = make_module("dup_b_module", PLUGIN.format(name="same_name"))
    with pytest.raises(PluginError) as err:
        load_plugins([other])
    assert "dup_a" in str(err.value) and "dup_b_module" in str(err.value)


def test_misspelled_hook_fails_loudly(make_module) -> None:
    source = """
import translkit

@translkit.hookimpl
def translkit_regster(registry):
    pass
"""
    name = make_module("typo_plugin", source)
    with pytest.raises(PluginError, match="typo_plugin.*unknown hook"):
        load_plugins([name])


def test_hook_may_take_a_subset_of_arguments(make_module) -> None:
    source = """
import translkit
CALLED = []

@translkit.hookimpl
def translkit_register():
    CALLED.append(True)
"""
    name = make_module("no_args_plugin", source)
    load_plugins([name])
    import no_args_plugin

    assert no_args_plugin.CALLED == [True]


def test_each_load_builds_fresh_registries(make_module) -> None:
    """Nothing is cached between loads: a module named in one load is absent from the next."""
    name = make_module("fresh_plugin", PLUGIN.format(name="fresh_gen"))
    assert "fresh_gen" in load_plugins([name]).registries.generators
    assert "fresh_gen" not in translkit.get_registry().generators
    assert translkit.get_registry() is not translkit.get_registry()


def test_each_plugin_registers_through_its_own_view(make_module) -> None:
    """Ownership comes from the view a plugin's hook receives, not from shared state."""
    a = make_module("view_a", PLUGIN.format(name="gen_a"))
    b = make_module("view_b", PLUGIN.format(name="gen_b"))
    reg = load_plugins([a, b]).registries
    assert (reg.generators.get("gen_a").plugin, reg.generators.get("gen_b").plugin) == (a, b)
    assert reg.generators.owner == "<direct>"  # the shared tables record direct additions


def test_example_third_party_plugin_is_installed_and_works() -> None:
    """docs/examples/translkit-tiny, installed by CI, found through its entry point."""
    from importlib import metadata

    try:
        metadata.version("translkit-tiny")
    except metadata.PackageNotFoundError:
        if os.environ.get("CI"):
            pytest.fail("CI must install docs/examples/translkit-tiny (see .ci/run)")
        pytest.skip("pip install -e docs/examples/translkit-tiny to run this test")
    loaded = load_plugins()
    info = {p.name: p for p in loaded.plugins}["tiny"]
    assert info.distribution == "translkit-tiny"
    assert loaded.registered_by("tiny") == {
        "generators": ["tiny"],
        "discriminators": ["tiny_d"],
        "losses": ["softplus_gan"],
        "datasets": ["tiny_swatches"],
        "models": ["tiny_warm_cool"],
    }
    import torch

    from translkit.contracts import GANLoss, satisfies

    gen = loaded.registries.generators.create("tiny", width=4)
    x = torch.rand(2, 3, 16, 20) * 2 - 1
    assert gen(x).shape == x.shape
    assert satisfies(loaded.registries.losses.create("softplus_gan"), GANLoss)


def test_example_plugin_dataset_downloads_from_a_local_server(tmp_path: Path) -> None:
    """translkit-tiny's dataset, its URLs pointed at a server on 127.0.0.1, verified."""
    tiny = pytest.importorskip("translkit_tiny")
    from http_support import FileServer

    from translkit.data.install import create_source, install

    folder = Path(tiny.__file__).parent / "swatches"
    served = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.png")}
    assert len(served) == 8
    with FileServer(served) as srv:
        source = create_source(translkit.get_registry(), "tiny_swatches", {"base_url": srv.base})
        root = install(source, tmp_path / "data" / "tiny_swatches")
    assert sorted(r.path for r in srv.requests) == sorted(served)
    assert {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*.png")} == served


def test_example_plugin_model_translates_by_name(tmp_path: Path) -> None:
    """translkit-tiny's packaged model: verified, loaded by name, swaps red and blue."""
    pytest.importorskip("translkit_tiny")
    import numpy as np
    from PIL import Image

    from translkit.data.io import load_rgb
    from translkit.pretrained import create_model, load_generators

    registries = translkit.get_registry()
    model = create_model(registries, "tiny_warm_cool")
    assert (model.directions, model.generator, model.weights[0].where) == (
        ("a2b", "b2a"),
        "tiny",
        "package",
    )
    assert sorted(load_generators("tiny_warm_cool", registries).nets) == ["a2b", "b2a"]
    rgb = np.zeros((16, 20, 3), np.uint8)
    rgb[..., 0], rgb[..., 2] = 230, 40  # warm: much red, little blue
    (tmp_path / "in").mkdir()
    Image.fromarray(rgb).save(tmp_path / "in" / "warm.png")
    from typer.testing import CliRunner

    from translkit.cli import app

    args = ["translate", "tiny_warm_cool", str(tmp_path / "in"), str(tmp_path / "out")]
    result = CliRunner().invoke(app, [*args, "--precision", "fp32", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    r, _, b = np.asarray(load_rgb(tmp_path / "out" / "warm.png"), np.float32).mean((0, 1))
    assert b > 150 > 80 > r  # cool now: blue high, red low
