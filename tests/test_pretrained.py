"""Pretrained models by name: a test plugin registers a model shipped as package data and
one downloaded from a local HTTP server; translate, export and the demo take their names;
a local path wins; bad weights, unknown names and being offline are one line each."""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from demo_support import tiny_checkpoint, tiny_run_dir
from http_support import FileServer, refused_url
from scoring_support import write_images
from typer.testing import CliRunner

from translkit import get_registry, load_generators
from translkit.artifacts import TrainingSnapshot
from translkit.artifacts import read_generators as load_file
from translkit.cli import app
from translkit.contracts import ModelWeights, PretrainedModel
from translkit.data import download
from translkit.data.io import load_rgb
from translkit.demo.model import load_demo_model
from translkit.errors import ComponentError, TranslkitError
from translkit.inference.export import export_generator
from translkit.pretrained import cached_path, check_model, create_model
from translkit.registry import Registries

runner = CliRunner()

PLUGIN = '''
"""A test plugin: two tiny pretrained models, one packaged, one at a URL."""
import os
from importlib import resources

import translkit
from translkit.contracts import ModelWeights, PretrainedModel

PINS = {pins!r}
HERE = resources.files(__package__) / "weights"


def packaged():
    """Tiny ResNet-6 pair, shipped inside this package."""
    return PretrainedModel(
        name="tiny_pkg",
        summary="Tiny ResNet-6 pair shipped as package data",
        method="cyclegan",
        generator="resnet_6blocks",
        weights=tuple(
            ModelWeights(d, sha, size, resource=HERE / f"tiny_{{d}}.safetensors")
            for d, (size, sha) in PINS.items()
        ),
        terms="CC0 (test weights)",
        citation="The translkit test suite",
        recipe=HERE / "recipe.toml",
        card="metrics: none (random weights)",
    )


def remote():
    """Tiny ResNet-6 pair, downloaded on first use."""
    base = os.environ.get("TINY_MODEL_URL", "http://127.0.0.1:9/")
    return PretrainedModel(
        name="tiny_url",
        summary="Tiny ResNet-6 pair at a URL",
        method="cyclegan",
        generator="resnet_6blocks",
        weights=tuple(
            ModelWeights(d, sha, size, url=f"{{base}}tiny_{{d}}.safetensors")
            for d, (size, sha) in PINS.items()
        ),
        terms="CC0 (test weights)",
        recipe="[generator]\\nname = 'resnet_6blocks'\\n",
    )


@translkit.hookimpl
def translkit_register(registry):
    registry.models.add("tiny_pkg", packaged)
    registry.models.add("tiny_url", remote)
'''


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """direction -> bytes of a translkit safetensors export of a tiny generator pair."""
    folder = tmp_path_factory.mktemp("weights")
    ckpt = tiny_checkpoint(folder)
    out = {}
    for d in ("a2b", "b2a"):
        path = export_generator(
            ckpt, folder / f"{d}.safetensors", get_registry(), format="safetensors", direction=d
        )
        out[d] = path.read_bytes()
    return out


def _pins(weights: dict[str, bytes]) -> dict[str, tuple[int, str]]:
    return {d: (len(b), hashlib.sha256(b).hexdigest()) for d, b in weights.items()}


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weights) -> Path:
    """An installed-looking distribution ``tinymodels`` (package data and an entry point);
    returns its weights folder."""
    root = tmp_path / "site"
    package = root / "tinymodels"
    (package / "weights").mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PLUGIN.format(pins=_pins(weights))))
    for d, data in weights.items():
        (package / "weights" / f"tiny_{d}.safetensors").write_bytes(data)
    (package / "weights" / "recipe.toml").write_text("[generator]\nname = 'resnet_6blocks'\n")
    info = root / "tinymodels-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinymodels\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[translkit]\ntinymodels = tinymodels\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, "tinymodels", raising=False)  # this test's copy
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "BACKOFF_SECONDS", 0.0)
    monkeypatch.chdir(tmp_path)
    return package / "weights"


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    write_images(tmp_path / "photos", 2, (40, 32), seed=3)
    return tmp_path / "photos"


def _same_images(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir())
    assert names and names == sorted(p.name for p in b.iterdir())
    return all(load_rgb(a / n).tobytes() == load_rgb(b / n).tobytes() for n in names)


def _one_line_error(result) -> str:
    """The error line (the last; a download announces itself on the line before)."""
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error:") and "Traceback" not in result.output, result.output
    assert sum(line.startswith("error:") for line in lines) == 1
    return lines[-1]


# -- listing and the card ------------------------------------------------------------------
def test_list_models_shows_directions_size_and_source(plugin: Path, weights) -> None:
    result = runner.invoke(app, ["list", "models", "tiny*", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)["models"]}
    size = sum(len(b) for b in weights.values())
    assert rows["tiny_pkg"]["directions"] == ["a2b", "b2a"]
    assert (rows["tiny_pkg"]["size"], rows["tiny_pkg"]["source"]) == (size, "package")
    assert (rows["tiny_url"]["plugin"], rows["tiny_url"]["source"]) == ("tinymodels", "url")
    table = runner.invoke(app, ["models", "list"])
    assert table.exit_code == 0 and "tiny_pkg" in table.output and "package" in table.output
    same = json.loads(runner.invoke(app, ["models", "list", "tiny*", "--json"]).output)
    assert same["models"] == list(rows.values())


def test_models_info_shows_the_card_and_the_recipe(plugin: Path, weights) -> None:
    result = runner.invoke(app, ["models", "info", "tiny_pkg"])
    assert result.exit_code == 0, result.output
    for text in ("CC0 (test weights)", "The translkit test suite", "resnet_6blocks", "cyclegan"):
        assert text in result.output
    assert _pins(weights)["b2a"][1] in result.output
    recipe = runner.invoke(app, ["models", "info", "tiny_url", "--recipe"])
    assert recipe.output.strip() == "[generator]\nname = 'resnet_6blocks'"
    assert "recipe.toml" not in recipe.output


# -- using a model by name -------------------------------------------------------------------
def test_translate_by_name_equals_translating_its_weights_file(
    plugin: Path, photos: Path, tmp_path: Path
) -> None:
    args = ["--direction", "b2a", "--precision", "fp32", "--device", "cpu"]
    by_name = runner.invoke(app, ["translate", "tiny_pkg", str(photos), "out", *args])
    assert by_name.exit_code == 0, by_name.output
    by_file = runner.invoke(
        app, ["translate", str(plugin / "tiny_b2a.safetensors"), str(photos), "ref", *args]
    )
    assert by_file.exit_code == 0, by_file.output
    assert _same_images(tmp_path / "out", tmp_path / "ref")


def test_translate_by_name_resolves_the_source_once(
    plugin: Path, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``translkit translate NAME photos/ out/``: the name is looked up and the model built
    once; its card gives the default size."""
    from translkit import pretrained

    lookups: list[str] = []
    real = pretrained.create_model
    monkeypatch.setattr(
        pretrained, "create_model", lambda reg, name: lookups.append(name) or real(reg, name)
    )
    result = runner.invoke(app, ["translate", "tiny_pkg", str(photos), "out", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert lookups == ["tiny_pkg"]
    card = load_generators("tiny_pkg", get_registry()).card
    assert (card.name, card.directions, card.method) == ("tiny_pkg", ("a2b", "b2a"), "cyclegan")


def test_export_by_name_writes_the_same_weights(plugin: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "tiny_pkg", "-f", "safetensors", "-d", "a2b", "-o", "g.safetensors"]
    )
    assert result.exit_code == 0, result.output
    exported = load_file(tmp_path / "g.safetensors", get_registry()).nets["a2b"]
    original = load_file(plugin / "tiny_a2b.safetensors", get_registry()).nets["a2b"]
    for key, value in original.state_dict().items():
        assert torch.equal(exported.state_dict()[key], value), key


def test_demo_loads_a_model_by_name(plugin: Path, tmp_path: Path) -> None:
    translators, info = load_demo_model("tiny_pkg", get_registry(), device="cpu")
    assert list(translators) == ["a2b", "b2a"]
    assert (info["name"], info["method"], info["weights"]) == (
        "tiny_pkg",
        "cyclegan",
        "pretrained model tiny_pkg",
    )
    x = torch.rand(1, 3, 24, 36) * 2 - 1
    assert translators["b2a"](x).shape == x.shape
    one, _ = load_demo_model("tiny_pkg", get_registry(), device="cpu", directions=["b2a"])
    assert list(one) == ["b2a"]
    result = runner.invoke(app, ["demo", "tiny_pkg", "--export", "app"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "app").iterdir()} >= {"a2b.safetensors", "b2a.safetensors"}
    assert "## Terms of use\n\nCC0 (test weights)" in (tmp_path / "app" / "README.md").read_text()


def test_a_local_path_named_like_a_model_wins(plugin: Path, photos: Path, tmp_path: Path) -> None:
    run = tiny_run_dir(tmp_path / "elsewhere")
    run.rename(tmp_path / "tiny_pkg")  # a run directory in cwd, called like the model
    loaded = load_generators("tiny_pkg", get_registry())
    assert loaded.source == Path("tiny_pkg/checkpoints/latest.pt")
    assert loaded.info["format"] == TrainingSnapshot.FORMAT
    args = ["--direction", "b2a", "--precision", "fp32", "--device", "cpu"]
    assert runner.invoke(app, ["translate", "tiny_pkg", str(photos), "o1", *args]).exit_code == 0
    ref = runner.invoke(app, ["translate", str(tmp_path / "tiny_pkg"), str(photos), "o2", *args])
    assert ref.exit_code == 0
    assert _same_images(tmp_path / "o1", tmp_path / "o2")
    model = runner.invoke(
        app, ["translate", str(plugin / "tiny_b2a.safetensors"), str(photos), "o3", *args]
    )
    assert model.exit_code == 0
    assert not _same_images(tmp_path / "o1", tmp_path / "o3")


def test_an_unknown_name_is_one_line_with_close_matches(plugin: Path, photos: Path) -> None:
    line = _one_line_error(runner.invoke(app, ["translate", "tiny_pgk", str(photos), "out"]))
    assert "tiny_pgk is no file or folder and no registered model" in line
    assert "did you mean 'tiny_pkg'" in line and "`translkit list models`" in line
    line = _one_line_error(runner.invoke(app, ["demo", "tiny_ulr", "--export", "app"]))
    assert "did you mean 'tiny_url'" in line
    missing = _one_line_error(runner.invoke(app, ["translate", "runs/x/best.pt", "a", "b"]))
    assert "does not exist" in missing  # a path keeps the checkpoint loader's message


def test_a_direction_the_model_lacks_is_named(plugin: Path, photos: Path) -> None:
    with pytest.raises(TranslkitError, match="direction must be one of"):
        load_generators("tiny_pkg", get_registry(), directions=["x2y"])


def test_score_a_model_by_name_on_a_dataset(plugin: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    for i, split in enumerate(("testA", "testB", "testA_truth", "testB_truth")):
        write_images(data / split, 2, (32, 32), seed=i % 2)
    result = runner.invoke(app, ["score", "tiny_pkg", "--data-root", str(data), "-m", "l1"])
    assert result.exit_code == 0, result.output
    assert "scores.json" not in result.output  # a model has no run directory to write to
    as_json = runner.invoke(
        app, ["score", "tiny_pkg", "--data-root", str(data), "-m", "l1", "--json"]
    )
    out = json.loads(as_json.output)
    assert out["model"] == "tiny_pkg" and set(out["scores"]) >= {"a2b/l1", "b2a/l1"}
    assert all(v > 0 for v in out["scores"].values())
    line = _one_line_error(runner.invoke(app, ["score", "tiny_pkg", "-m", "l1"]))
    assert "needs --data-root DIR" in line
    # the baselines beside a model scored by name, as beside a run directory
    for split in ("trainA", "trainB"):
        write_images(data / split, 2, (32, 32), seed=5)
    args = ["score", "tiny_pkg", "--data-root", str(data), "-m", "l1", "--baselines"]
    with_baselines = runner.invoke(app, [*args, "--json"])
    assert with_baselines.exit_code == 0, with_baselines.output
    saved = json.loads(with_baselines.output)["baselines"]
    assert set(saved) == {"copy_input", "colour_transfer"}
    assert {"a2b/l1", "b2a/l1"} <= set(saved["copy_input"]["scores"])
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and "copy input" in table.output and "a2b" in table.output


# -- verification ----------------------------------------------------------------------------
def test_a_corrupted_packaged_file_is_refused_at_load(plugin: Path, photos: Path) -> None:
    path = plugin / "tiny_a2b.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, different bytes
    path.write_bytes(bytes(data))
    line = _one_line_error(runner.invoke(app, ["translate", "tiny_pkg", str(photos), "out"]))
    assert "model tiny_pkg" in line and "is corrupt or was changed" in line
    assert "reinstall the plugin" in line
    assert not Path("out").exists()
    with pytest.raises(TranslkitError, match="expected"):
        load_demo_model("tiny_pkg", get_registry())


def test_a_url_model_is_downloaded_once_verified_and_cached(
    plugin: Path, photos: Path, weights, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = {f"tiny_{d}.safetensors": b for d, b in weights.items()}
    with FileServer(files) as srv:
        monkeypatch.setenv("TINY_MODEL_URL", srv.base)
        args = ["--direction", "b2a", "--precision", "fp32", "--device", "cpu"]
        first = runner.invoke(app, ["translate", "tiny_url", str(photos), "out", *args])
        assert first.exit_code == 0, first.output
        assert [r.path for r in srv.requests] == ["tiny_b2a.safetensors"]  # b2a only
        model = create_model(get_registry(), "tiny_url")
        cached = cached_path(model, model.weights_for("b2a"))
        assert cached.read_bytes() == weights["b2a"]
        assert cached.is_relative_to(tmp_path / "cache" / "models" / "tiny_url")
        again = runner.invoke(app, ["translate", "tiny_url", str(photos), "out2", *args])
        assert again.exit_code == 0 and len(srv.requests) == 1  # from the cache
    ref = runner.invoke(
        app, ["translate", str(plugin / "tiny_b2a.safetensors"), str(photos), "ref", *args]
    )
    assert ref.exit_code == 0 and _same_images(tmp_path / "out", tmp_path / "ref")
    cached.write_bytes(cached.read_bytes()[:-1])  # damaged in the cache: refused, named
    line = _one_line_error(runner.invoke(app, ["translate", "tiny_url", str(photos), "o3", *args]))
    assert "in translkit's cache" in line and f"delete {cached}" in line


def test_an_interrupted_download_resumes(
    plugin: Path, weights, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"tiny_{d}.safetensors": b for d, b in weights.items()}
    with FileServer(files) as srv:
        monkeypatch.setenv("TINY_MODEL_URL", srv.base)
        model = create_model(get_registry(), "tiny_url")
        path = cached_path(model, model.weights_for("a2b"))
        path.parent.mkdir(parents=True)
        half = len(weights["a2b"]) // 2
        path.with_name(path.name + ".part").write_bytes(weights["a2b"][:half])
        load_generators("tiny_url", get_registry(), directions=["a2b"])
        (request,) = srv.requests
        assert request.range == f"bytes={half}-" and request.sent == len(weights["a2b"]) - half
    assert path.read_bytes() == weights["a2b"]


def test_a_download_with_the_wrong_sha256_is_one_line_and_caches_nothing(
    plugin: Path, photos: Path, weights, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    files = {f"tiny_{d}.safetensors": b for d, b in weights.items()}
    with FileServer(files, corrupt={"tiny_a2b.safetensors"}) as srv:
        monkeypatch.setenv("TINY_MODEL_URL", srv.base)
        line = _one_line_error(runner.invoke(app, ["translate", "tiny_url", str(photos), "out"]))
    assert "has sha256" in line and "nothing was cached" in line
    cached = [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert cached == [] and not Path("out").exists()


def test_offline_is_one_line_naming_where_to_put_the_file(
    plugin: Path, photos: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TINY_MODEL_URL", refused_url("").rstrip("/") + "/")
    line = _one_line_error(runner.invoke(app, ["translate", "tiny_url", str(photos), "out"]))
    assert "model tiny_url: cannot download" in line and "connection refused" in line
    assert "save it as" in line and str(tmp_path / "cache" / "models" / "tiny_url") in line
    assert not any(p.suffix == ".safetensors" for p in (tmp_path / "cache").rglob("*"))


def test_models_download_fetches_every_direction(
    plugin: Path, weights, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {f"tiny_{d}.safetensors": b for d, b in weights.items()}
    with FileServer(files) as srv:
        monkeypatch.setenv("TINY_MODEL_URL", srv.base)
        result = runner.invoke(app, ["models", "download", "tiny_url"])
        assert result.exit_code == 0, result.output
        assert sorted(r.path for r in srv.requests) == [
            "tiny_a2b.safetensors",
            "tiny_b2a.safetensors",
        ]
    assert result.output.count("(verified)") == 2


def test_weights_for_another_generator_than_declared_are_refused(plugin: Path) -> None:
    import tinymodels

    wrong = PretrainedModel(**{**tinymodels.packaged().__dict__, "name": "tiny_wrong"})
    wrong = PretrainedModel(**{**wrong.__dict__, "generator": "unet_128"})
    registries = get_registry()
    registries.models.add("tiny_wrong", lambda: wrong)
    with pytest.raises(TranslkitError, match="not the a2b 'unet_128' its plugin declares"):
        load_generators("tiny_wrong", registries)


# -- the built-in model -----------------------------------------------------------------------
def test_builtin_leather_denim_is_registered_only_with_its_weights(
    weights, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from translkit_plugins import generators
    from translkit_plugins import pretrained as builtin

    registries = Registries()
    assert builtin.register_builtin(registries, tmp_path) == []  # no files: not registered
    assert "leather_denim" not in registries.models
    shipped = builtin.WEIGHTS
    if not all((shipped / f"leather_denim_{d}.safetensors").is_file() for d in ("a2b", "b2a")):
        assert "leather_denim" not in get_registry().models  # nothing half-works
    for d, data in weights.items():
        (tmp_path / f"leather_denim_{d}.safetensors").write_bytes(data)
    monkeypatch.setattr(builtin, "LEATHER_DENIM_WEIGHTS", _pins(weights))
    monkeypatch.setattr(builtin, "LEATHER_DENIM_GENERATOR", "resnet_6blocks")
    registries = Registries()  # the built-in generators, no models yet
    generators.translkit_register(registries)
    assert builtin.register_builtin(registries, tmp_path) == ["leather_denim"]
    loaded = load_generators("leather_denim", registries)
    assert sorted(loaded.nets) == ["a2b", "b2a"]
    assert "research use" in create_model(registries, "leather_denim").terms
    path = tmp_path / "leather_denim_b2a.safetensors"
    path.write_bytes(weights["b2a"][:-1] + bytes([weights["b2a"][-1] ^ 1]))
    with pytest.raises(TranslkitError, match="is corrupt or was changed") as err:
        load_generators("leather_denim", registries, directions=["b2a"])
    assert "\n" not in str(err.value)


def test_shipped_models_fit_the_size_limit_and_verify() -> None:
    """Every model translkit ships is ≤ 10 MB and loads."""
    registries = get_registry()
    for entry in registries.models.entries():
        if entry.module.startswith("translkit_plugins"):
            model = create_model(registries, entry.name)
            assert model.size <= 10_000_000, entry.name
            assert sorted(load_generators(entry.name, registries).nets) == ["a2b", "b2a"]


def test_builtin_leather_denim_works_right_after_install(photos: Path, tmp_path: Path) -> None:
    """The shipped model: listed, its card and recipe shown, both directions translate
    photos at their own size from the command line, and its recipe is a valid recipe."""
    from translkit_plugins import pretrained as builtin

    from translkit.recipe import load_recipe

    runner = CliRunner()
    listed = runner.invoke(app, ["list", "models", "--json"])
    assert listed.exit_code == 0, listed.output
    [entry] = [m for m in json.loads(listed.stdout)["models"] if m["name"] == "leather_denim"]
    assert sorted(entry["directions"]) == ["a2b", "b2a"]
    info = runner.invoke(app, ["models", "info", "leather_denim"])
    assert info.exit_code == 0 and "research use" in info.output
    assert f"shorter side of {builtin.LEATHER_DENIM_INPUT_SIZE} px" in info.output
    recipe = runner.invoke(app, ["models", "info", "leather_denim", "--recipe"])
    assert recipe.exit_code == 0 and 'name = "resnet"' in recipe.stdout
    shipped = builtin.WEIGHTS / "leather_denim_fast.toml"
    assert load_recipe(Path(str(shipped))).generator.name == builtin.LEATHER_DENIM_GENERATOR
    for direction in ("a2b", "b2a"):
        out = tmp_path / direction
        result = runner.invoke(
            app, ["translate", "leather_denim", str(photos), str(out), "-d", direction]
        )
        assert result.exit_code == 0, result.output
        for photo in sorted(photos.iterdir()):
            translated = load_rgb(out / photo.with_suffix(".png").name)
            assert translated.size == load_rgb(photo).size
            assert len(set(translated.getdata())) > 16  # an image, not a flat fill


def test_builtin_leather_denim_scales_large_photos_to_its_input_size(tmp_path: Path) -> None:
    """A phone photo is translated at the scale the model learned garments at (shorter
    side of its input size, 256 px), unless --resize says otherwise."""
    from translkit_plugins import pretrained as builtin

    size = builtin.LEATHER_DENIM_INPUT_SIZE
    write_images(tmp_path / "big", 1, (4 * size, 2 * size), seed=1)
    runner = CliRunner()
    for extra, expected in (([], (2 * size, size)), (["--resize", "0"], (4 * size, 2 * size))):
        out = tmp_path / f"out{len(extra)}"
        result = runner.invoke(
            app, ["translate", "leather_denim", str(tmp_path / "big"), str(out), *extra]
        )
        assert result.exit_code == 0, result.output
        assert load_rgb(out / "000.png").size == expected, extra


# -- the contract ----------------------------------------------------------------------------
def _model(**changes) -> PretrainedModel:
    w = ModelWeights("a2b", "0" * 64, 10, url="https://example.org/a.safetensors")
    fields = {
        "name": "m",
        "summary": "s",
        "method": "cyclegan",
        "generator": "resnet",
        "weights": (w,),
        "terms": "t",
    }
    return PretrainedModel(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "other"}, "says its name is 'other'"),
        ({"weights": ()}, "no weights"),
        ({"weights": (ModelWeights("a2b", "ABC", 10, url="u"),)}, "lower-case hex sha256"),
        ({"weights": (ModelWeights("a2b", "0" * 64, 10),)}, "exactly one of resource and url"),
        ({"weights": (ModelWeights("a2b", "0" * 64, 1, Path("g.pt")),)}, "must be a .safetensors"),
        ({"weights": (ModelWeights("sideways", "0" * 64, 10, url="u"),)}, "must be one of"),
        ({"weights": (ModelWeights("a2b", "0" * 64, 1, url="u"),) * 2}, "same direction"),
        ({"input_size": -1}, "input_size must be a whole number of pixels ≥ 0, got -1"),
        ({"input_size": True}, "input_size must be a whole number of pixels ≥ 0, got True"),
    ],
)
def test_the_contract_is_checked_naming_the_plugin(changes, message) -> None:
    assert check_model(_model(), "m").directions == ("a2b",)
    with pytest.raises(ComponentError, match=rf"model 'm' from plugin 'acme': .*{message}"):
        check_model(_model(**changes), "m", "acme")
    with pytest.raises(ComponentError, match="not a PretrainedModel"):
        check_model({"name": "m"}, "m", "acme")


def test_half_precision_weights_are_half_the_size_and_load_as_fp32(
    plugin: Path, tmp_path: Path
) -> None:
    """What a shipped model may use to stay small (``translkit export --half``)."""
    result = runner.invoke(
        app,
        ["export", "tiny_pkg", "-f", "safetensors", "-d", "a2b", "--half", "-o", "h.safetensors"],
    )
    assert result.exit_code == 0, result.output
    full = plugin / "tiny_a2b.safetensors"
    assert (tmp_path / "h.safetensors").stat().st_size < 0.6 * full.stat().st_size
    half = load_file(tmp_path / "h.safetensors", get_registry()).nets["a2b"]
    ref = load_file(full, get_registry()).nets["a2b"]
    assert all(p.dtype == torch.float32 for p in half.parameters())
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert (half(x) - ref(x)).abs().max() < 1e-2
    line = _one_line_error(
        runner.invoke(app, ["export", "tiny_pkg", "-f", "onnx", "--half", "-o", "h.onnx"])
    )
    assert "--half applies to --format safetensors only" in line


@pytest.mark.slow
def test_translkit_demo_serves_a_model_by_name() -> None:
    """`translkit demo tiny_warm_cool` (translkit-tiny's packaged model) translates uploads."""
    pytest.importorskip("translkit_tiny")
    pytest.importorskip("starlette")
    import io

    import numpy as np
    from demo_support import decode, http, start_demo, stop_process
    from PIL import Image

    proc, url = start_demo("tiny_warm_cool", "--device", "cpu", "--precision", "fp32")
    try:
        info = json.loads(http(url + "api/info")[2])["model"]
        assert (info["name"], info["directions"]) == ("tiny_warm_cool", ["a2b", "b2a"])
        warm = np.zeros((21, 33, 3), np.uint8)
        warm[..., 0], warm[..., 2] = 230, 40
        buf = io.BytesIO()
        Image.fromarray(warm).save(buf, "PNG")
        status, _, body = http(url + "api/translate/a2b", buf.getvalue())
        assert status == 200
        r, _, b = np.asarray(decode(body), np.float32).mean((0, 1))
        assert decode(body).size == (33, 21) and b > 150 > 80 > r  # turned cool
    finally:
        code, _, err = stop_process(proc)
    assert code == 0 and "Traceback" not in err, err
