"""``translkit score``: run directories, two folders, scores.json, JSON output, errors."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from scoring_support import inception_weights, make_run_dir, write_images
from typer.testing import CliRunner

from translkit import get_registry
from translkit.cli import app
from translkit.cli.score_cmd import scores_table
from translkit.errors import TranslkitError
from translkit.pretrained import load_generators
from translkit.scoring import score_generators, score_run

runner = CliRunner()
SIZES = [(33, 27), (40, 40), (25, 31)]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLKIT_CACHE", str(tmp_path / "cache"))  # never ~/.cache


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i, split in enumerate(("testA", "testB", "testA_truth")):
        write_images(root / split, 3, SIZES, seed=i)
    return root


@pytest.fixture
def run_dir(tmp_path: Path, data_root: Path) -> Path:
    return make_run_dir(tmp_path / "runs" / "demo", data_root)


def test_score_generators_translates_and_adds_truth_metrics(run_dir, data_root, tmp_path) -> None:
    nets = load_generators(run_dir / "checkpoints" / "latest.pt", get_registry()).nets
    out = tmp_path / "out"
    scores = score_generators(
        {"a2b": nets["a2b"]}, SimpleNamespace(root=str(data_root)), [], get_registry(), out_dir=out
    ).values
    assert set(scores) == {"a2b/psnr", "a2b/ssim", "a2b/l1"}  # testA_truth exists
    for path, size in zip(sorted((out / "a2b").iterdir()), SIZES, strict=True):
        assert Image.open(path).size == size  # translated at each input's own size


def test_resize_scales_inputs_and_truth_alike(run_dir, data_root, tmp_path) -> None:
    """--resize: the test images (and their ground-truth twins) are scaled down to a
    shorter side of N before translating, in the model's scores and the baselines'."""
    nets = load_generators(run_dir / "checkpoints" / "latest.pt", get_registry()).nets
    out = tmp_path / "out"
    root = SimpleNamespace(root=str(data_root))
    scores = score_generators(
        {"a2b": nets["a2b"]}, root, [], get_registry(), out_dir=out, resize=20
    )
    assert set(scores.values) == {"a2b/psnr", "a2b/ssim", "a2b/l1"}  # the truth was scaled too
    assert sorted(min(Image.open(p).size) for p in (out / "a2b").iterdir()) == [20, 20, 20]
    (data_root / "testB_truth").mkdir()
    for path in (data_root / "testA").iterdir():
        Image.open(path).save(data_root / "testB_truth" / path.name)
    for split in ("trainA", "trainB"):  # the colour-transfer baseline's statistics
        write_images(data_root / split, 2, SIZES[:2], seed=5)
    args = ["score", str(run_dir), "-m", "l1", "--resize", "20", "--baselines", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((run_dir / "scores.json").read_text())
    assert saved["resize"] == 20 and "a2b/psnr" in saved["baselines"]["copy_input"]["scores"]
    folders = ["score", "--real", str(data_root / "testB"), "--fake", str(data_root / "testA")]
    refused = runner.invoke(app, [*folders, "--resize", "20"])
    assert refused.exit_code == 1 and "--resize applies to a RUN_DIR or MODEL" in refused.output


def test_score_run_writes_scores_json_and_falls_back_to_latest(run_dir: Path, data_root) -> None:
    (data_root / "testB_truth").mkdir()
    for p in (data_root / "testA").iterdir():
        Image.open(p).save(data_root / "testB_truth" / p.name)
    out = score_run(run_dir, get_registry(), checkpoint="best", metrics=["l1"])
    assert out["checkpoint"].endswith("latest.pt")  # no best.pt yet
    saved = json.loads((run_dir / "scores.json").read_text())
    assert saved["scores"] == out["scores"]
    assert set(saved["scores"]) == {
        f"{d}/{k}" for d in ("a2b", "b2a") for k in ("l1", "psnr", "ssim")
    }
    assert saved["goals"]["a2b/psnr"] == "max" and saved["goals"]["b2a/l1"] == "min"


def test_missing_run_pieces_are_clear_errors(tmp_path: Path, run_dir: Path) -> None:
    with pytest.raises(TranslkitError, match="not a run directory"):
        score_run(tmp_path, get_registry())
    with pytest.raises(TranslkitError, match="does not exist"):
        score_run(run_dir, get_registry(), checkpoint=str(tmp_path / "nope.pt"))
    (run_dir / "checkpoints" / "latest.pt").unlink()
    result = runner.invoke(app, ["score", str(run_dir)])
    assert result.exit_code == 1 and "checkpoints/best.pt" in result.output


def test_cli_run_dir_json(run_dir: Path) -> None:
    result = runner.invoke(
        app, ["score", str(run_dir), "--metrics", "ssim", "--json", "--checkpoint", "latest"]
    )
    # b2a has no testB_truth: the explicitly requested ssim cannot be computed there
    assert result.exit_code == 1 and "ground-truth folder" in result.output


def test_cli_two_folders_table_and_json(tmp_path: Path) -> None:
    fake, truth = tmp_path / "fake", tmp_path / "truth"
    write_images(fake, 2, (20, 20), seed=1)
    write_images(truth, 2, (20, 20), seed=1)
    args = [
        "score",
        "--real",
        str(truth),
        "--fake",
        str(fake),
        "--truth",
        str(truth),
        "--metrics",
        "l1,psnr",
    ]
    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["scores"] == {"l1": 0.0, "psnr": 100.0}
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and "psnr" in table.output and "higher" in table.output
    lonely = runner.invoke(app, ["score", "--real", str(truth)])
    assert lonely.exit_code == 1 and "--fake" in lonely.output


def test_cli_passes_options_to_score_run(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import translkit.scoring as scoring

    seen = {}

    def fake(run_dir, registries, **kw):
        seen.update(kw, run_dir=run_dir)
        return {"scores": {"a2b/fid": 1.0}, "goals": {"a2b/fid": "min"}, "info": {}}

    monkeypatch.setattr(scoring, "score_run", fake)
    result = runner.invoke(
        app,
        [
            "score",
            str(tmp_path),
            "-c",
            "latest",
            "-m",
            "fid, kid",
            "--inception-weights",
            "w.pth",
            "--device",
            "cpu",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert seen["checkpoint"] == "latest" and seen["metrics"] == ["fid", "kid"]
    assert seen["metric_weights"] == "w.pth" and seen["progress"] is False


def test_scores_table_has_a_column_per_direction() -> None:
    table = scores_table(
        {"a2b/fid": 1.0, "b2a/fid": 2.0, "objective": 3.0}, {"a2b/fid": "min", "objective": "min"}
    )
    assert [c.header for c in table.columns] == ["metric", "better", "a2b", "b2a", "value"]
    assert table.row_count == 2


@pytest.mark.slow
def test_cli_scores_a_run_with_the_recipe_weights(tmp_path: Path, data_root: Path) -> None:
    run = make_run_dir(
        tmp_path / "runs" / "w", data_root, metrics=["kid"], weights=str(inception_weights())
    )  # eval.inception_weights, the old name of eval.metric_weights
    result = runner.invoke(app, ["score", str(run)])  # metrics from eval.metrics
    assert result.exit_code == 0, result.output
    assert "kid_subset_size" in result.output  # the adapted subset size is reported
    scores = json.loads((run / "scores.json").read_text())["scores"]
    assert {"a2b/kid", "b2a/kid", "a2b/psnr"} <= set(scores) and "b2a/psnr" not in scores
    assert scores["a2b/kid"] != 0


def test_no_ema_scores_the_raw_weights_of_a_run_that_kept_an_ema(tmp_path: Path) -> None:
    from training_support import tiny_recipe

    from translkit.artifacts import load_model
    from translkit.evaluation import held_out_objective
    from translkit.training import train

    recipe = tiny_recipe(tmp_path, train={"ema": 0.5}, eval={"every": 0})
    run = train(recipe).run_dir
    args = ["score", str(run), "-m", "objective", "-c", "latest", "--json"]
    scored = {}
    for flag in ("--ema", "--no-ema"):
        result = runner.invoke(app, [*args, flag])
        assert result.exit_code == 0, result.output
        scored[flag] = json.loads(result.stdout)
    assert scored["--ema"]["ema"] is True and scored["--no-ema"]["ema"] is False
    raw, _, _ = load_model(run, get_registry(), use_ema=False, which="latest")
    expected = held_out_objective(raw, recipe.data, device="cpu")
    assert scored["--no-ema"]["scores"] == pytest.approx(expected)
    assert scored["--ema"]["scores"] != pytest.approx(expected)  # the EMA differs after 4 steps
