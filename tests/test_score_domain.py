"""The offline ``domain`` metric: classifiers trained on the training split, cached, two views,
baselines beside the model in ``translkit score``.

Two procedural domains stand in for leather and denim: A is horizontal stripes in warm
colours, B is dots in cool colours, so colour alone and texture alone each tell them apart;
a colour transfer of A (warm stripes turned cool) must fool the colour view only.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scoring_support import make_run_dir
from translkit_plugins import _domain
from translkit_plugins._baselines import colour_transfer
from translkit_plugins._domain.metric import UNTRUSTED_WHY as UNTRUSTED
from typer.testing import CliRunner

from translkit import get_registry
from translkit.cli import app
from translkit.errors import MetricError
from translkit.scoring import score_folders

runner = CliRunner()
SIZE = 32
FAST = {
    "size": SIZE,
    "width": 8,
    "epochs": 12,
    "texture_size": SIZE,
    "texture_epochs": 12,
    "patch": SIZE // 2,
}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))  # never ~/.cache


def _texture(kind: str, rng: np.random.Generator, side: int = 40) -> np.ndarray:
    yy, xx = np.mgrid[0:side, 0:side]
    if kind == "stripes":
        period = rng.uniform(5, 8)
        mask = np.sin(2 * np.pi * (yy + rng.uniform(0, 8)) / period) > 0
    else:
        step = int(rng.integers(7, 10))
        oy, ox = rng.integers(0, step, 2)
        mask = ((yy + oy) % step - step / 2) ** 2 + ((xx + ox) % step - step / 2) ** 2 < 5
    return mask


def write_domain(folder: Path, n: int, kind: str, warm: bool, seed: int) -> None:
    """``n`` 40×40 images of stripes or dots; warm (red/orange) or cool (blue/cyan) colours."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        mask = _texture(kind, rng)
        fg = rng.uniform(160, 250, 3)
        bg = rng.uniform(20, 90, 3)
        if warm:
            fg[2], bg[2] = fg[2] * 0.3, bg[2] * 0.3
        else:
            fg[0], bg[0] = fg[0] * 0.3, bg[0] * 0.3
        if rng.random() < 0.5:
            fg, bg = bg, fg  # light-on-dark and dark-on-light in both domains
        img = np.where(mask[..., None], fg, bg) + rng.normal(0, 6, (40, 40, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i:03d}.png")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("domains")
    for split, n, seed in (("train", 48, 0), ("test", 16, 1)):
        write_domain(root / f"{split}A", n, "stripes", warm=True, seed=seed)
        write_domain(root / f"{split}B", n, "dots", warm=False, seed=seed + 10)
    return root


@pytest.fixture(scope="module")
def recoloured(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """testA colour-transferred to trainB's statistics: fools the colour view only."""
    out = tmp_path_factory.mktemp("recoloured")
    colour_transfer(data_root / "testA", out, sorted((data_root / "trainB").iterdir()))
    return out


def _fast_defaults(metrics, monkeypatch: pytest.MonkeyPatch) -> None:
    """`-m domain` with small, fast classifiers: FAST as the factory's defaults."""
    params = inspect.signature(metrics.domain).parameters
    values = {**{n: p.default for n, p in params.items()}, **FAST}
    monkeypatch.setattr(metrics.domain, "__defaults__", tuple(values[n] for n in params))


def _metric_values(root: Path, fake: Path, direction: str = "a2b", **options) -> tuple:
    real = root / ("testB" if direction == "a2b" else "testA")
    result = score_folders(
        fake,
        real,
        ["domain"],
        get_registry(),
        data_root=root,
        direction=direction,
        options={"domain": {**FAST, **options}},
    )
    return result.values, result


def test_views_separate_colour_from_texture(data_root: Path, recoloured: Path) -> None:
    """Real test images are told apart in both views; a colour transfer of A towards B's
    statistics fools the colour view, not the texture view; copying the input fools none."""
    copy, scored = _metric_values(data_root, data_root / "testA")
    assert scored.reference["domain_colour_accuracy"] >= 0.95
    assert scored.reference["domain_texture_accuracy"] >= 0.9
    assert (
        scored.reference["domain_texture_rate"] >= 0.9
        and scored.reference["domain_colour_rate"] >= 0.9
    )
    assert not scored.untrusted
    assert copy["domain_colour_rate"] <= 0.1 and copy["domain_texture_rate"] <= 0.1
    fooled, _ = _metric_values(data_root, recoloured)
    assert fooled["domain_colour_rate"] >= 0.8  # warm stripes turned cool read as B by colour
    assert fooled["domain_texture_rate"] <= 0.2  # ... but they are still stripes
    # distances: real-vs-real floor < copy input; in the texture view the colour transfer
    # stays about as far as copying the input
    assert scored.reference["domain_texture_fd"] < copy["domain_texture_fd"]
    assert scored.reference["domain_colour_kid"] < copy["domain_colour_kid"]
    assert fooled["domain_texture_fd"] > 0.5 * copy["domain_texture_fd"]
    # the real target images themselves: rate as on real, FD 0
    real, _ = _metric_values(data_root, data_root / "testB")
    assert real["domain_colour_rate"] == scored.reference["domain_colour_rate"]
    assert real["domain_texture_fd"] == pytest.approx(0, abs=1e-6)
    # b2a: the rate counts images assigned to A
    back, back_scored = _metric_values(data_root, data_root / "testA", direction="b2a")
    assert back["domain_colour_rate"] == back_scored.reference["domain_colour_rate"] >= 0.9


def test_both_rate_counts_only_images_that_fool_every_view(
    data_root: Path, recoloured: Path, tmp_path: Path
) -> None:
    """``domain_both_rate``: a recolouring fools the colour view only, warm dots (B's texture
    in A's colours) the texture view only; neither counts, real target images do."""
    warm_dots = tmp_path / "warm_dots"
    write_domain(warm_dots, 16, "dots", warm=True, seed=7)
    real, scored = _metric_values(data_root, data_root / "testB")
    assert real["domain_both_rate"] == scored.reference["domain_both_rate"] >= 0.9
    for fooled_view, folder in (("colour", recoloured), ("texture", warm_dots)):
        values, _ = _metric_values(data_root, folder)
        assert values[f"domain_{fooled_view}_rate"] >= 0.8, fooled_view
        assert values["domain_both_rate"] <= 0.2, fooled_view
        assert values["domain_both_rate"] <= min(
            values["domain_colour_rate"], values["domain_texture_rate"]
        )


def test_structure_tells_a_kept_picture_from_a_replaced_one(
    data_root: Path, recoloured: Path, tmp_path: Path
) -> None:
    """``domain_structure``: a copy keeps every edge (1), a recolouring nearly all, real
    target images standing in for the inputs (same names) few — as low as the ``real``
    column's floor of unrelated pairs. Translations not named after their inputs get none."""
    replaced = tmp_path / "replaced"  # testB's dots under testA's names
    replaced.mkdir()
    for src, tgt in zip(
        sorted((data_root / "testA").iterdir()),
        sorted((data_root / "testB").iterdir()),
        strict=True,
    ):
        (replaced / src.name).write_bytes(tgt.read_bytes())
    copy, scored = _metric_values(data_root, data_root / "testA")
    assert copy["domain_structure"] == pytest.approx(1.0)
    assert scored.info["domain_structure_pairs"] == 16
    assert _metric_values(data_root, recoloured)[0]["domain_structure"] >= 0.9
    fooled, _ = _metric_values(data_root, replaced)
    assert fooled["domain_colour_rate"] >= 0.9 and fooled["domain_texture_rate"] >= 0.9
    assert fooled["domain_structure"] <= 0.3
    assert scored.reference["domain_structure"] <= 0.3
    unnamed = tmp_path / "unnamed"
    unnamed.mkdir()
    for src in sorted((data_root / "testB").iterdir()):
        (unnamed / f"out_{src.name}").write_bytes(src.read_bytes())
    values, scored = _metric_values(data_root, unnamed)
    assert "domain_structure" not in values and scored.info["domain_structure_pairs"] == 0


def test_classifier_is_cached_by_training_content_and_settings(tmp_path: Path, data_root) -> None:
    root = tmp_path / "data"
    for split in ("trainA", "trainB"):
        (root / split).mkdir(parents=True)
        for p in sorted((data_root / split).iterdir())[:10]:
            (root / split / p.name).write_bytes(p.read_bytes())
    settings = _domain.ClassifierSettings(view="texture", size=SIZE, width=4, epochs=1)
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return _domain.training.train_classifier(*args, **kwargs)

    cache = tmp_path / "c"
    _, path = _domain.ensure_classifier(root, settings, cache, trainer=counting)
    mtime = path.stat().st_mtime_ns
    _, again = _domain.ensure_classifier(root, settings, cache, trainer=counting)
    assert again == path and len(calls) == 1 and path.stat().st_mtime_ns == mtime  # a hit
    other = _domain.ClassifierSettings(view="texture", size=SIZE, width=4, epochs=2)
    _, path2 = _domain.ensure_classifier(root, other, cache, trainer=counting)
    assert path2 != path and len(calls) == 2  # settings are part of the key
    first = sorted((root / "trainB").iterdir())[0]
    Image.new("RGB", (40, 40), (1, 2, 3)).save(first)  # one training image changes
    _, path3 = _domain.ensure_classifier(root, settings, cache, trainer=counting)
    assert path3 not in (path, path2) and len(calls) == 3
    path3.write_bytes(b"not safetensors")  # a damaged cache file is retrained, not fatal
    _domain.ensure_classifier(root, settings, cache, trainer=counting)
    assert len(calls) == 4


def test_training_never_reads_the_test_split(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    for split in ("trainA", "trainB", "testA", "testB"):
        (root / split).mkdir(parents=True)
        for p in sorted((data_root / split).iterdir())[:10]:
            (root / split / p.name).write_bytes(p.read_bytes())
    opened: list[Path] = []
    real_load = _domain.classifier.load_rgb

    def spy(path, *args, **kwargs):
        opened.append(Path(path))
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(_domain.classifier, "load_rgb", spy)
    settings = _domain.ClassifierSettings(view="colour", size=SIZE, width=4, epochs=1)
    _domain.ensure_classifier(root, settings, tmp_path / "c")
    assert opened and {p.parent.name for p in opened} == {"trainA", "trainB"}


def test_spectral_numbers_catch_a_grid_the_classifiers_accept(
    data_root: Path, tmp_path: Path
) -> None:
    """Real target images with a faint period-4 grid over them still fool both classifiers,
    but their spectrum moves far from the real images' (beyond the real-vs-real floor).
    (These synthetic dots are periodic themselves, so their peak score is already high:
    tests/test_spectral.py shows the peak score on photo-like images.)"""
    gridded = tmp_path / "gridded"
    gridded.mkdir()
    for path in sorted((data_root / "testB").iterdir()):
        img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
        yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
        grid = (((yy % 4) < 2) ^ ((xx % 4) < 2))[..., None] - 0.5
        Image.fromarray(np.clip(img + 50 * grid, 0, 255).astype(np.uint8)).save(gridded / path.name)
    clean, scored = _metric_values(data_root, data_root / "testB")
    grid, _ = _metric_values(data_root, gridded)
    assert grid["domain_colour_rate"] >= 0.9 and grid["domain_texture_rate"] >= 0.8
    assert clean["domain_spectral_peak"] == pytest.approx(scored.reference["domain_spectral_peak"])
    assert grid["domain_spectral_peak"] >= clean["domain_spectral_peak"]
    assert grid["domain_spectral_distance"] >= 1.5 * scored.reference["domain_spectral_distance"]
    assert clean["domain_spectral_distance"] == pytest.approx(0.0, abs=1e-9)


def test_cli_prints_model_baselines_and_real_columns(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from translkit_plugins import metrics

    _fast_defaults(metrics, monkeypatch)
    monkeypatch.setitem(_domain.metric.TRUST, "texture", 1.01)  # no classifier is that good
    run = make_run_dir(tmp_path / "runs" / "d", data_root, metrics=["domain"])
    result = runner.invoke(app, ["score", str(run)])  # metrics from the recipe's eval.metrics
    assert result.exit_code == 0, result.output
    assert not result.output.startswith("\n")  # piped: no bars, no blank lines they leave
    assert "a2b/domain_texture_untrusted: the classifier's accuracy" in result.output
    assert "domain_colour_untrusted" not in result.output
    # (rich may wrap "colour transfer" over two header lines in 80 columns)
    for text in ("a2b (testA → testB)", "b2a", "copy input", "colour", "transfer", "real"):
        assert text in result.output
    for key in ("domain_colour_rate", "domain_texture_fd", "domain_texture_accuracy"):
        assert key in result.output
    assert "domain_both_rate ↑" in result.output
    saved = json.loads((run / "scores.json").read_text())
    assert set(saved["baselines"]) == {"copy_input", "colour_transfer"}
    copy = saved["baselines"]["copy_input"]["scores"]
    assert copy["a2b/domain_colour_rate"] <= 0.1
    assert saved["baselines"]["colour_transfer"]["scores"]["a2b/domain_both_rate"] <= 0.2
    assert saved["baselines"]["colour_transfer"]["scores"]["a2b/domain_colour_rate"] >= 0.8
    assert "a2b/domain_texture_fd" in saved["reference"]
    assert saved["untrusted"] == {
        "a2b/domain_texture_untrusted": UNTRUSTED,
        "b2a/domain_texture_untrusted": UNTRUSTED,
    }
    # classifiers are cached: a second score does not train again
    cached = sorted((tmp_path / "cache" / "metrics" / "domain").iterdir())
    assert len(cached) == 2
    stamps = [p.stat().st_mtime_ns for p in cached]
    plain = runner.invoke(app, ["score", str(run), "--no-baselines", "--json"])
    assert plain.exit_code == 0, plain.output
    assert "baselines" not in json.loads(plain.output)
    assert [p.stat().st_mtime_ns for p in cached] == stamps
    folders = [
        "score",
        "--fake",
        str(data_root / "testA"),
        "--real",
        str(data_root / "testB"),
        "-m",
        "domain",
        "--data-root",
        str(data_root),
        "--direction",
        "a2b",
    ]
    two = runner.invoke(app, [*folders, "--json"])
    assert two.exit_code == 0, two.output
    assert json.loads(two.output)["scores"]["domain_colour_rate"] <= 0.1  # copies of A
    table = runner.invoke(app, folders)  # folders scored: one table, model beside real
    assert table.exit_code == 0, table.output
    for text in ("domain_colour_rate ↑", "domain_spectral_peak ↓", "model", "real"):
        assert text in table.output
    refused = runner.invoke(app, [*folders, "--baselines"])
    assert refused.exit_code == 1 and "RUN_DIR" in refused.output


def test_bad_inputs_are_one_line(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from translkit_plugins import metrics

    _fast_defaults(metrics, monkeypatch)
    few = tmp_path / "few"
    few.mkdir()
    for p in sorted((data_root / "testA").iterdir())[:3]:
        (few / p.name).write_bytes(p.read_bytes())
    with pytest.raises(MetricError, match="at least 10 translated"):
        _metric_values(data_root, few)
    with pytest.raises(MetricError, match="--data-root DIR --direction"):
        score_folders(data_root / "testA", data_root / "testB", ["domain"], get_registry())
    bare = tmp_path / "bare"  # a dataset without its training split
    for split in ("testA", "testB"):
        (bare / split).mkdir(parents=True)
        for p in sorted((data_root / split).iterdir()):
            (bare / split / p.name).write_bytes(p.read_bytes())
    result = runner.invoke(
        app,
        [
            "score",
            "--fake",
            str(bare / "testA"),
            "--real",
            str(bare / "testB"),
            "-m",
            "domain",
            "--data-root",
            str(bare),
            "--direction",
            "a2b",
        ],
    )
    assert result.exit_code == 1 and "trainA" in result.output
    assert len(result.output.strip().splitlines()) == 1
    wrong = runner.invoke(app, ["score", "--fake", "x", "--real", "y", "--direction", "up"])
    assert wrong.exit_code == 1 and "must be one of a2b, b2a" in wrong.output


def test_each_view_takes_its_own_size_and_training_length() -> None:
    """`size`/`epochs` are the colour view's, `texture_size`/`texture_epochs`/`patch` the
    texture view's; the factory `-m domain` calls and the class agree on the defaults."""
    from translkit_plugins import metrics

    default = metrics.domain().settings
    assert default == _domain.DomainMetric().settings
    assert (default["colour"].epochs, default["colour"].patch) == (24, 0)
    assert (default["texture"].epochs, default["texture"].patch) == (48, 64)
    custom = metrics.domain(epochs=3, texture_epochs=5, patch=32, texture_size=96).settings
    assert (custom["colour"].epochs, custom["colour"].size) == (3, 96)
    assert (custom["texture"].epochs, custom["texture"].size, custom["texture"].patch) == (
        5,
        96,
        32,
    )
    assert custom["texture"].key() != default["texture"].key()  # a new cache entry
    with pytest.raises(ValueError, match="patch must be in"):
        _domain.DomainMetric(texture_size=48, patch=64)


def test_distances_against_their_definitions() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    assert _domain.frechet_distance(x, x) == pytest.approx(0, abs=1e-9)
    # same covariance, shifted mean: FD is the squared shift
    assert _domain.frechet_distance(x, x + np.array([1, 0, 2, 0])) == pytest.approx(5, rel=1e-9)
    # diagonal covariances: FD = sum (sx - sy)^2
    a, b = x, x * np.array([2, 1, 1, 1])
    expected = (
        np.trace(np.cov(a.T))
        + np.trace(np.cov(b.T))
        - 2 * np.trace(np.sqrt(np.diag(np.diag(np.cov(a.T)) * np.diag(np.cov(b.T)))))
    )
    assert _domain.frechet_distance(a, b) == pytest.approx(expected, rel=1e-2)
    y = rng.normal(size=(5, 4)) + 1
    naive_xy = np.mean([(xi @ yj / 4 + 1) ** 3 for xi in x[:6] for yj in y])
    naive_xx = np.mean([(x[i] @ x[j] / 4 + 1) ** 3 for i in range(6) for j in range(6) if i != j])
    naive_yy = np.mean([(y[i] @ y[j] / 4 + 1) ** 3 for i in range(5) for j in range(5) if i != j])
    assert _domain.kernel_distance(x[:6], y) == pytest.approx(
        naive_xx + naive_yy - 2 * naive_xy, rel=1e-9
    )


def test_training_trains_the_classifiers_first_and_evaluates_with_them(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training_support import tiny_recipe
    from translkit_plugins import metrics

    from translkit.training import train

    _fast_defaults(metrics, monkeypatch)
    trained: list[str] = []
    real_train = _domain.training.train_classifier

    def recording(images_a, images_b, settings, **kw):
        trained.append(settings.view)
        return real_train(images_a, images_b, settings, **kw)

    monkeypatch.setattr(_domain.training, "train_classifier", recording)
    recipe = tiny_recipe(
        tmp_path,
        data={"root": str(data_root)},
        optim={"epochs": 1, "batch_size": 8},
        train={"sample_every": 0},
        eval={"metrics": ["domain"], "select": "a2b/domain_texture_fd"},
    )
    result = train(recipe, progress=False)
    assert trained == ["colour", "texture"]  # once each, before step 1, then from the cache
    evals = (result.run_dir / "eval.jsonl").read_text().splitlines()
    last = json.loads(evals[-1])
    assert {"a2b/domain_texture_fd", "b2a/domain_colour_rate"} <= set(last)


def test_texture_classifier_cannot_tell_an_image_from_its_negative() -> None:
    """The texture view is polarity-blind by construction (features of x and -x averaged),
    in training (batch-norm statistics) and at test time; the colour view is not."""
    import torch

    torch.manual_seed(0)
    x = torch.randn(4, 1, 32, 32)
    texture = _domain.new_net(_domain.ClassifierSettings(view="texture", width=8))
    for mode in (texture.train(), texture.eval()):
        with torch.no_grad():
            assert torch.allclose(mode.features(x), mode.features(-x), atol=1e-5)
    colour = _domain.new_net(_domain.ClassifierSettings(view="colour", width=8)).eval()
    y = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        a, b = colour.features(y), colour.features(-y)
    assert (a - b).abs().max() > 0.1 * a.abs().max()


def test_test_time_features_are_mirror_averaged() -> None:
    """``embed`` gives an image and its mirror image the same features and probability."""
    import torch

    settings = _domain.ClassifierSettings(view="colour", size=32, width=8)
    net = _domain.new_net(settings).eval()
    images = torch.randint(0, 256, (3, 3, 36, 36), dtype=torch.uint8)
    a = _domain.embed(net, images, settings)
    b = _domain.embed(net, images.flip(-1), settings)
    assert np.allclose(a.features, b.features, atol=1e-5)
    assert np.allclose(a.prob_b, b.prob_b, atol=1e-6)


def test_a_kid_below_zero_reads_as_an_estimate_of_zero() -> None:
    from translkit.cli.score_cmd import _cell

    assert _cell("min", -0.000112) == "≈0 (-0.0001)"  # a KID: lower is better
    assert _cell("min", 0.0012634) == "0.001263"
    assert _cell("max", -1.0) == "-1" and _cell("", -1.0) == "-1" and _cell("min", None) == "-"


def test_patch_grid_judges_textured_patches_only() -> None:
    """Flat patches (a backdrop) are not judged; an image with nothing but flat patches
    is judged on all of them rather than on none."""
    import torch

    images = torch.full((2, 3, 36, 36), 200, dtype=torch.uint8)
    images[0, :, :16, :16] = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
    tiles, textured = _domain.patch_grid(images, 32, 16)
    assert tiles.shape == (2 * 9, 1, 16, 16)  # 3 × 3 patches at 8 px steps, per image
    assert textured[0].tolist() == [True, True, False, True, True] + [False] * 4
    assert textured[1].all()


def write_garments(folder: Path, n: int, surface: str, shape: str, seed: int) -> None:
    """``n`` 64×64 photos: a flat light backdrop and a dark 'garment' in the middle, a
    square or a disc, whose surface is stripes or dots."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:64, 0:64]
    for i in range(n):
        if shape == "square":
            inside = (abs(yy - 32) < 22) & (abs(xx - 32) < 22)
        else:
            inside = (yy - 32) ** 2 + (xx - 32) ** 2 < 26**2
        pattern = np.pad(_texture(surface, rng, side=64), 0)
        grey = np.where(inside, np.where(pattern, 120, 40), 225) + rng.normal(0, 1, (64, 64))
        img = np.repeat(grey[..., None], 3, axis=2)
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i:03d}.png")


def test_texture_view_judges_the_surface_not_the_garment_shape(tmp_path: Path) -> None:
    """Domain A: striped squares, B: dotted discs. A dotted *square* is B's surface in A's
    shape: the texture view calls it B; a striped disc it calls A."""
    root = tmp_path / "garments"
    for split, n, seed in (("train", 48, 0), ("test", 16, 1)):
        write_garments(root / f"{split}A", n, "stripes", "square", seed)
        write_garments(root / f"{split}B", n, "dots", "disc", seed + 10)
    write_garments(tmp_path / "dotted_squares", 16, "dots", "square", 5)
    write_garments(tmp_path / "striped_discs", 16, "stripes", "disc", 6)
    options = {"size": 32, "width": 8, "epochs": 12, "texture_size": 64, "patch": 16}
    dotted, scored = _metric_values(root, tmp_path / "dotted_squares", **options)
    assert scored.reference["domain_texture_accuracy"] >= 0.9
    assert dotted["domain_texture_rate"] >= 0.8  # B's surface, whatever the shape
    striped, _ = _metric_values(root, tmp_path / "striped_discs", **options)
    assert striped["domain_texture_rate"] <= 0.2  # A's surface in B's shape is not B
