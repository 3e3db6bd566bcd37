"""`translkit data check`: counts, modes, sizes, bad files, duplicates and leaks, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from data_support import write_image, write_truncated_jpeg
from typer.testing import CliRunner

from translkit.cli import app
from translkit.data.check import check_dataset
from translkit.errors import DataError


@pytest.fixture
def quirky(tmp_path: Path) -> Path:
    """A dataset with the kinds of quirks the study's real data has (and worse)."""
    root = tmp_path / "ds"
    write_image(root / "trainA" / "a1.png", (80, 60), seed=1)
    write_image(root / "trainA" / "gray.png", (70, 70), mode="L", seed=2)
    write_image(root / "trainA" / "tiny.png", (20, 90), seed=3)
    shutil.copy(root / "trainA" / "a1.png", root / "trainA" / "a1_copy.png")  # within a split
    write_image(root / "trainB" / "b1.png", (64, 64), mode="RGBA", seed=4)
    write_image(root / "trainB" / "b2.jpg", (120, 64), seed=5)
    write_image(root / "testA" / "t1.png", (64, 64), seed=6)
    shutil.copy(root / "trainA" / "a1.png", root / "testA" / "leak.png")  # train/test leak
    write_image(root / "testB" / "u1.png", (64, 64), seed=7)
    (root / "testB" / "notes.txt").write_text("not an image")
    return root


def test_report_counts_everything(quirky: Path) -> None:
    rep = check_dataset(quirky, crop_size=32)
    assert rep.ok and rep.errors == []
    assert {k: v.images for k, v in rep.splits.items()} == {
        "trainA": 4,
        "trainB": 2,
        "testA": 2,
        "testB": 1,
    }
    assert rep.splits["trainA"].modes == {"RGB": 3, "L": 1}
    assert rep.splits["trainA"].non_rgb == ["trainA/gray.png"]
    assert rep.splits["trainB"].modes == {"RGBA": 1, "RGB": 1}
    assert rep.splits["trainA"].smaller_than_crop == ["trainA/tiny.png"]
    assert rep.splits["trainA"].distinct_sizes == 3
    assert rep.splits["trainA"].min_size == [20, 90] and rep.splits["trainA"].max_size == [70, 70]
    assert rep.splits["testB"].non_images == ["testB/notes.txt"]
    assert rep.duplicate_groups == [["testA/leak.png", "trainA/a1.png", "trainA/a1_copy.png"]]
    assert (rep.duplicate_pairs, rep.cross_split_pairs, rep.train_test_pairs) == (3, 2, 2)
    assert any("1 non-RGB image(s) (1 L): trainA/gray.png" in w for w in rep.warnings)
    assert any("3 duplicate pair(s)" in w and "2 between train and test" in w for w in rep.warnings)


def test_unreadable_files_and_empty_splits_are_errors(quirky: Path) -> None:
    write_truncated_jpeg(quirky / "trainB" / "cut.jpg")
    (quirky / "testA" / "fake.jpg").write_text("text")
    for p in (quirky / "testB").iterdir():
        p.unlink()
    rep = check_dataset(quirky, crop_size=32)
    assert not rep.ok
    assert rep.splits["trainB"].unreadable == [{"path": "trainB/cut.jpg", "reason": "truncated"}]
    assert rep.splits["testA"].unreadable[0]["path"] == "testA/fake.jpg"
    assert "testB/ holds no images" in rep.errors
    assert len(rep.errors) == 3


def test_missing_root_and_train_split(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        check_dataset(tmp_path / "none")
    write_image(tmp_path / "d" / "trainA" / "x.png")
    rep = check_dataset(tmp_path / "d")
    assert "trainB/ is missing" in rep.errors and "testA/ is missing" in rep.warnings


def test_cli_json_and_exit_codes(quirky: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["data", "check", str(quirky), "--crop-size", "32", "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["ok"] is True and report["train_test_pairs"] == 2
    assert report["splits"]["trainA"]["modes"] == {"RGB": 3, "L": 1}
    human = runner.invoke(app, ["data", "check", str(quirky)])
    assert human.exit_code == 0
    assert "OK: trainable" in human.output and "trainA/gray.png" in human.output
    write_truncated_jpeg(quirky / "trainA" / "cut.jpg")
    bad = runner.invoke(app, ["data", "check", str(quirky)])
    assert bad.exit_code == 1
    assert "trainA/cut.jpg (truncated)" in bad.output and "NOT trainable" in bad.output
    bad_json = runner.invoke(app, ["data", "check", str(quirky), "--json"])
    assert bad_json.exit_code == 1 and json.loads(bad_json.output)["ok"] is False


def test_a_domain_smaller_than_one_batch_is_not_trainable(quirky: Path) -> None:
    runner = CliRunner()
    small = runner.invoke(app, ["data", "check", str(quirky), "--batch-size", "3"])
    assert small.exit_code == 1
    assert "trainB/ holds 2 readable image(s), fewer than one batch of 3" in small.output
    assert "NOT trainable (batch size 3)" in small.output
    ok = runner.invoke(app, ["data", "check", str(quirky), "--batch-size", "2"])
    assert ok.exit_code == 0 and "OK: trainable (batch size 2)" in ok.output
    rep = check_dataset(quirky, batch_size=5)
    assert not rep.ok and len([e for e in rep.errors if "fewer than one batch" in e]) == 2


def test_strict_fails_on_train_test_leaks(quirky: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["data", "check", str(quirky)]).exit_code == 0
    strict = runner.invoke(app, ["data", "check", str(quirky), "--strict"])
    assert strict.exit_code == 1
    assert "2 train/test pair(s) of byte-identical files" in strict.output
    assert "testA/leak.png = trainA/a1.png" in strict.output
    (quirky / "testA" / "leak.png").unlink()
    assert runner.invoke(app, ["data", "check", str(quirky), "--strict"]).exit_code == 0


def test_crop_size_comes_from_the_recipe_or_is_not_checked(quirky: Path, tmp_path: Path) -> None:
    rep = check_dataset(quirky)
    assert rep.crop_size is None and not rep.splits["trainA"].smaller_than_crop
    assert not any("smaller than the crop" in w for w in rep.warnings)
    runner = CliRunner()
    plain = runner.invoke(app, ["data", "check", str(quirky)])
    assert "not compared with a crop size" in plain.output
    recipe = tmp_path / "r.toml"
    recipe.write_text(
        f'[data]\nroot = "{quirky}"\ncrop_size = 32\nload_size = 40\n[optim]\nbatch_size = 2\n'
    )
    used = runner.invoke(app, ["data", "check", "--recipe", str(recipe), "--json"])
    assert used.exit_code == 0, used.output
    report = json.loads(used.output)
    assert report["crop_size"] == 32 and report["batch_size"] == 2
    assert report["splits"]["trainA"]["smaller_than_crop"] == ["trainA/tiny.png"]
    override = runner.invoke(
        app, ["data", "check", "--recipe", str(recipe), "-b", "3", "--crop-size", "16", "--json"]
    )
    assert override.exit_code == 1 and json.loads(override.output)["crop_size"] == 16
    missing = runner.invoke(app, ["data", "check"])
    assert missing.exit_code == 1 and "needs a dataset ROOT" in missing.stderr
