"""DeepFashion domain builder on a fixture in the real annotation format (SPEC.md §5)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest
from data_support import write_image
from typer.testing import CliRunner

from translkit.cli import app
from translkit.data.deepfashion import build_deepfashion, read_attributes
from translkit.errors import DataError

ATTRS = [  # (name, type): multi-word names, variants and a near miss ('pleather')
    ("a-line", 3),
    ("faux leather", 2),
    ("leather", 2),
    ("denim", 2),
    ("acid wash", 1),
    ("distressed denim", 2),
    ("pleather", 2),
    ("leather-trim", 4),
]
IMAGES = {  # image -> (positive attributes, partition, on disk)
    "img/Leather_Moto_Jacket/img_00000001.jpg": ({"leather"}, "train", True),
    "img/Leather_Moto_Jacket/img_00000002.jpg": ({"leather", "a-line"}, "val", True),
    "img/Leather_Moto_Jacket/img_00000003.jpg": (set(), "train", True),
    "img/Denim_Shorts/img_00000001.jpg": ({"denim", "acid wash"}, "train", True),
    "img/Denim_Shorts/img_00000002.jpg": ({"denim"}, "test", True),
    "img/Denim_Shorts/img_00000003.jpg": ({"denim"}, "train", False),  # missing file
    "img/Denim_Leather_Jacket/img_00000001.jpg": ({"denim", "leather"}, "train", True),
    "img/Faux_Leather_Skirt/img_00000001.jpg": ({"faux leather"}, "train", True),
    "img/Acid_Wash_Jeans/img_00000001.jpg": ({"distressed denim"}, "test", True),
    "img/Pleather_Top/img_00000001.jpg": ({"pleather"}, "val", True),
    "img/Sheer_Blouse/img_00000001.jpg": (set(), "test", True),
}


def write_deepfashion(root: Path, *, anno: str = "Anno", img_base: str = "Img") -> Path:
    """A DeepFashion Category and Attribute Prediction root in the real text format."""
    (root / anno).mkdir(parents=True)
    (root / "Eval").mkdir()
    rows = [f"{name:<29}{kind}" for name, kind in ATTRS]
    text = f"{len(ATTRS)}\nattribute_name  attribute_type\n" + "\n".join(rows) + "\n"
    (root / anno / "list_attr_cloth.txt").write_text(text)
    names = [n for n, _ in ATTRS]
    label_rows, part_rows = [], []
    for i, (img, (pos, split, on_disk)) in enumerate(IMAGES.items()):
        labels = ["1" if n in pos else ("0" if i % 3 == 0 else "-1") for n in names]
        label_rows.append(f"{img:<71}" + " ".join(f"{v:>2}" for v in labels))
        part_rows.append(f"{img:<71}{split}")
        if on_disk:
            write_image(root / img_base / img, (30, 40), seed=i, fmt="JPEG")
    head = f"{len(IMAGES)}\nimage_name  attribute_labels\n"
    (root / anno / "list_attr_img.txt").write_text(head + "\n".join(label_rows) + "\n")
    head = f"{len(IMAGES)}\nimage_name  evaluation_status\n"
    (root / "Eval" / "list_eval_partition.txt").write_text(head + "\n".join(part_rows) + "\n")
    return root


@pytest.fixture
def df_root(tmp_path: Path) -> Path:
    return write_deepfashion(tmp_path / "DeepFashion")


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_reads_multi_word_attribute_names(df_root: Path) -> None:
    attrs = read_attributes(df_root / "Anno" / "list_attr_cloth.txt")
    assert attrs == ATTRS


def test_builds_exact_domains_and_manifest(df_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    rep = build_deepfashion(df_root, out)
    assert rep.counts == {"trainA": 1, "trainB": 1, "testA": 1, "testB": 1}
    assert rep.both == {"train": 1, "test": 0}
    assert rep.missing == ["img/Denim_Shorts/img_00000003.jpg"]
    assert rep.attributes == {"A": ["leather"], "B": ["denim"]}
    assert _names(out / "trainA") == ["Leather_Moto_Jacket__img_00000001.jpg"]
    assert _names(out / "testA") == ["Leather_Moto_Jacket__img_00000002.jpg"]
    assert _names(out / "trainB") == ["Denim_Shorts__img_00000001.jpg"]
    assert _names(out / "testB") == ["Denim_Shorts__img_00000002.jpg"]
    with (out / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4
    row = next(r for r in rows if r["domain"] == "A" and r["split"] == "val")
    assert row["source"] == "img/Leather_Moto_Jacket/img_00000002.jpg"
    src = df_root / "Img" / row["source"]
    assert row["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (out / row["file"]).read_bytes() == src.read_bytes()


def test_variants_symlinks_and_root_level_images(tmp_path: Path) -> None:
    root = write_deepfashion(tmp_path / "df", anno="Anno_coarse", img_base=".")
    out = tmp_path / "out"
    rep = build_deepfashion(root, out, include_variants=True, link="symlink")
    assert rep.attributes == {
        "A": ["faux leather", "leather", "leather-trim"],
        "B": ["denim", "distressed denim"],
    }
    assert rep.counts == {"trainA": 2, "trainB": 1, "testA": 1, "testB": 2}
    assert "Pleather_Top__img_00000001.jpg" not in _names(out / "testA")
    link = out / "trainA" / "Faux_Leather_Skirt__img_00000001.jpg"
    assert (
        link.is_symlink()
        and link.resolve() == (root / "img/Faux_Leather_Skirt/img_00000001.jpg").resolve()
    )


def test_other_attributes(df_root: Path, tmp_path: Path) -> None:
    rep = build_deepfashion(df_root, tmp_path / "o", a="faux leather", b="distressed denim")
    assert rep.counts == {"trainA": 1, "trainB": 0, "testA": 0, "testB": 1}


def test_clear_errors(df_root: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no attribute named 'lether' \(--a\).*'leather'"):
        build_deepfashion(df_root, tmp_path / "o", a="lether")
    with pytest.raises(DataError, match="does not look like DeepFashion"):
        build_deepfashion(tmp_path, tmp_path / "o")
    with pytest.raises(DataError, match="DeepFashion root .* does not exist"):
        build_deepfashion(tmp_path / "nope", tmp_path / "o")
    with pytest.raises(DataError, match="share attribute"):
        build_deepfashion(
            df_root, tmp_path / "o", a="leather", b="leather-trim", include_variants=True
        )
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(DataError, match="already exists"):
        build_deepfashion(df_root, tmp_path / "full")
    assert not (tmp_path / "o").exists()


def test_malformed_rows_name_file_and_line(df_root: Path, tmp_path: Path) -> None:
    path = df_root / "Anno" / "list_attr_img.txt"
    lines = path.read_text().splitlines()
    lines[4] = lines[4].rsplit(" ", 2)[0]  # the third data row loses two labels
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"list_attr_img\.txt:5: expected an image name and 8"):
        build_deepfashion(df_root, tmp_path / "o")
    assert [p.name for p in tmp_path.iterdir()] == ["DeepFashion"]  # no half-written output
    lines[4] = lines[4] + " 7  1"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r":5: labels must be 1, -1 or 0"):
        build_deepfashion(df_root, tmp_path / "o", a="pleather", b="leather-trim")


def test_count_line_and_missing_files(df_root: Path, tmp_path: Path) -> None:
    part = df_root / "Eval" / "list_eval_partition.txt"
    part.write_text("12\n" + part.read_text().split("\n", 1)[1])
    with pytest.raises(DataError, match="announces 12 rows but the file holds 11"):
        build_deepfashion(df_root, tmp_path / "o")
    part.unlink()
    with pytest.raises(DataError, match=r"list_eval_partition\.txt is missing"):
        build_deepfashion(df_root, tmp_path / "o")


def test_cli_prints_counts(df_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    res = CliRunner().invoke(
        app, ["data", "deepfashion", "--root", str(df_root), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "missing image files: 1" in res.output
    assert "img/Denim_Shorts/img_00000003.jpg" in res.output
    assert (out / "manifest.csv").is_file()
    bad = CliRunner().invoke(
        app,
        [
            "data",
            "deepfashion",
            "--root",
            str(df_root),
            "--out",
            str(tmp_path / "x"),
            "--b",
            "denimm",
        ],
    )
    assert bad.exit_code == 1 and "did you mean" in bad.output
