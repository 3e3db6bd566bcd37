"""What a translation changes besides the garment (translkit_plugins._kept): the studio
background and skin of the input, by documented colour rules, and how much of them moved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from translkit_plugins import _kept as K

SKIN, DENIM, LEATHER, WHITE = (224, 172, 140), (70, 90, 140), (120, 70, 40), (245, 245, 243)


def _pixel(rgb) -> np.ndarray:
    return np.array(rgb, dtype=np.uint8).reshape(1, 1, 3)


def test_the_colour_rules_and_their_known_weakness():
    assert K.background_mask(_pixel(WHITE)).all()
    assert not K.background_mask(_pixel((245, 200, 150))).any()  # light but saturated
    assert K.skin_mask(_pixel(SKIN)).all()
    assert not K.skin_mask(_pixel(DENIM)).any() and not K.skin_mask(_pixel(WHITE)).any()
    assert not K.skin_mask(_pixel((40, 25, 20))).any()  # a dark shadow is not skin
    assert K.skin_mask(_pixel(LEATHER)).all()  # brown leather is skin-coloured (documented)


def _photo(garment) -> np.ndarray:
    """A 64×48 catalogue photo: white backdrop, a skin-coloured face, a garment."""
    img = np.full((64, 48, 3), WHITE, dtype=np.float32)
    img[4:16, 18:30] = SKIN
    img[18:60, 10:38] = garment
    return img


def _pairs(tmp_path: Path, name: str, outputs: list[np.ndarray]) -> list[tuple[Path, Path]]:
    pairs = []
    for i, out in enumerate(outputs):
        src = tmp_path / "src" / f"{i}.png"
        dst = tmp_path / name / f"{i}.png"
        for path, img in ((src, _photo(DENIM)), (dst, out)):
            path.parent.mkdir(exist_ok=True)
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
        pairs.append((dst, src))
    return pairs


def test_a_garment_only_translation_keeps_background_and_skin(tmp_path):
    garment_only = _pairs(tmp_path, "garment", [_photo((20, 20, 20))] * 3)
    recoloured = _pairs(tmp_path, "all", [_photo(DENIM) * 0.7] * 3)  # everything darker
    copy = _pairs(tmp_path, "copy", [_photo(DENIM)] * 3)
    for mask in ("background", "skin"):
        kept, images, share = K.change_in(garment_only, mask)
        assert kept == pytest.approx(0.0, abs=1e-6) and images == 3 and share > 0
        moved, _, _ = K.change_in(recoloured, mask)
        assert moved > 0.1
        assert K.change_in(copy, mask)[0] == pytest.approx(0.0, abs=1e-6)


def test_images_without_the_region_do_not_count_and_sizes_may_differ(tmp_path):
    no_skin = tmp_path / "src.png"
    Image.fromarray(np.full((40, 40, 3), DENIM, dtype=np.uint8)).save(no_skin)
    half = tmp_path / "out.png"  # a translation at half the size
    Image.fromarray(np.full((20, 20, 3), DENIM, dtype=np.uint8)).save(half)
    assert K.change_in([(half, no_skin)], "skin") == (None, 0, 0.0)
