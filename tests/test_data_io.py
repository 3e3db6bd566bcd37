"""Reading image folders: listing, every PIL mode to RGB, EXIF orientation, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_support import write_image, write_truncated_jpeg
from PIL import Image

from translkit.data import list_images, load_rgb
from translkit.errors import DataError


def test_list_images_is_sorted_recursive_and_skips_other_files(tmp_path: Path) -> None:
    write_image(tmp_path / "b.png")
    write_image(tmp_path / "a.JPG", fmt="JPEG")
    write_image(tmp_path / "sub" / "c.webp")
    write_image(tmp_path / ".hidden" / "d.png")
    write_image(tmp_path / ".e.png")
    (tmp_path / "notes.txt").write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert found == ["a.JPG", "b.png", "sub/c.webp"]


def test_list_images_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nope"):
        list_images(tmp_path / "nope")


@pytest.mark.parametrize(
    ("mode", "suffix"),
    [
        ("L", ".png"),
        ("LA", ".png"),
        ("P", ".png"),
        ("RGBA", ".png"),
        ("CMYK", ".jpg"),
        ("1", ".png"),
        ("RGB", ".bmp"),
        ("RGB", ".tif"),
        ("I;16", ".png"),
    ],
)
def test_every_mode_becomes_rgb(tmp_path: Path, mode: str, suffix: str) -> None:
    path = write_image(tmp_path / f"x{suffix}", (20, 10), mode=mode)
    with Image.open(path) as raw:
        assert raw.mode == mode or mode == "I;16"  # PNG may store I;16 as I;16 or I
    img = load_rgb(path)
    assert img.mode == "RGB" and img.size == (20, 10)


def test_alpha_is_composited_on_white(tmp_path: Path) -> None:
    arr = np.zeros((4, 4, 4), dtype=np.uint8)
    arr[..., 0] = 255  # red, fully transparent on the left half
    arr[:, 2:, 3] = 255
    Image.fromarray(arr, "RGBA").save(tmp_path / "a.png")
    out = np.asarray(load_rgb(tmp_path / "a.png"))
    assert (out[:, :2] == 255).all()  # transparent -> white
    assert (out[:, 2:] == [255, 0, 0]).all()


def test_sixteen_bit_is_scaled_not_clipped(tmp_path: Path) -> None:
    arr = np.array([[0, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "g16.png")
    out = np.asarray(load_rgb(tmp_path / "g16.png"))[0, :, 0]
    assert out.tolist() == [0, 128, 255]


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (30, 10), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    img.save(tmp_path / "o.jpg", exif=exif)
    assert load_rgb(tmp_path / "o.jpg").size == (10, 30)


def test_truncated_image_names_the_file(tmp_path: Path) -> None:
    path = write_truncated_jpeg(tmp_path / "cut.jpg")
    with pytest.raises(DataError, match=r"cut\.jpg.*truncated"):
        load_rgb(path)


def test_non_image_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "fake.png").write_text("not an image")
    with pytest.raises(DataError, match=r"fake\.png is not an image"):
        load_rgb(tmp_path / "fake.png")
    with pytest.raises(DataError, match="does not exist"):
        load_rgb(tmp_path / "missing.png")


def test_draft_decodes_big_jpegs_smaller_but_not_below_the_request(tmp_path: Path) -> None:
    path = write_image(tmp_path / "big.jpg", (800, 600))
    assert load_rgb(path).size == (800, 600)
    small = load_rgb(path, draft=100)
    assert small.size[0] >= 100 and small.size[1] >= 100 and small.size[0] < 800
