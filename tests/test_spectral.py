"""The spectral artefact numbers (translkit_plugins._spectral): a regular grid over a photo
raises the periodic-peak score and the spectrum distance; blur raises the distance; nothing
about an image's contrast or brightness moves them; real-looking images stay low."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter
from translkit_plugins import _spectral as S


def _photo_like(rng: np.random.Generator, side: int = 160) -> np.ndarray:
    """A 1/f-like random field: smooth shapes and fine detail, no period (as photos)."""
    f = np.fft.fftfreq(side)
    radius = np.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    amplitude = 1 / np.maximum(radius, 1 / side)
    phase = np.exp(2j * np.pi * rng.random((side, side)))
    field = np.real(np.fft.ifft2(amplitude * phase))
    field = (field - field.min()) / (field.max() - field.min())
    return np.repeat(field[..., None], 3, axis=2) * np.array([0.3, 0.4, 0.8]) * 255


def _grid(img: np.ndarray, period: int = 4, strength: float = 40) -> np.ndarray:
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    pattern = ((yy % period) < period // 2) ^ ((xx % period) < period // 2)
    return img + strength * (pattern[..., None] - 0.5)


def _save(folder: Path, images: list[np.ndarray]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        path = folder / f"{i:02d}.png"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("spectral")
    rng = np.random.default_rng(0)
    photos = [_photo_like(rng) for _ in range(12)]
    more = [_photo_like(rng) for _ in range(12)]
    out = {
        "real": _save(root / "real", photos),
        "other_real": _save(root / "other", more),
        "grid": _save(root / "grid", [_grid(p) for p in photos]),
        "dimmer": _save(root / "dimmer", [0.5 * p + 20 for p in photos]),
    }
    blurred = root / "blur"
    blurred.mkdir()
    for path in out["real"]:
        Image.open(path).filter(ImageFilter.GaussianBlur(2)).save(blurred / path.name)
    out["blur"] = sorted(blurred.iterdir())
    return out


def _spectra(paths: list[Path]):
    return S.power_spectra(paths)


def test_a_grid_raises_the_peak_score_far_above_real_images(sets):
    real = S.peak_scores(_spectra(sets["real"])).mean()
    other = S.peak_scores(_spectra(sets["other_real"])).mean()
    grid = S.peak_scores(_spectra(sets["grid"])).mean()
    assert abs(real - other) < 0.3  # real images agree with each other
    assert grid > real + 1.0  # a period-4 grid is a few very strong frequencies


def test_the_spectrum_distance_sees_grids_and_blur_but_not_contrast(sets):
    real = _spectra(sets["real"])
    floor = S.spectrum_distance(_spectra(sets["other_real"]), real)
    assert S.spectrum_distance(real, real) == 0.0
    assert S.spectrum_distance(_spectra(sets["grid"]), real) > 3 * floor
    assert S.spectrum_distance(_spectra(sets["blur"]), real) > 3 * floor
    dimmer = _spectra(sets["dimmer"])  # contrast and brightness change, shape does not
    assert S.spectrum_distance(dimmer, real) < floor
    assert np.allclose(S.peak_scores(dimmer), S.peak_scores(real), atol=0.05)


def test_images_of_any_size_and_shape_are_compared_on_one_grid(tmp_path):
    wide = _save(tmp_path / "wide", [np.full((60, 200, 3), 128.0)])
    tiny = _save(tmp_path / "tiny", [np.full((20, 30, 3), 128.0)])
    for paths in (wide, tiny):
        spectra = S.power_spectra(paths)
        assert spectra.shape == (1, S.SIDE, S.SIDE)
        assert np.isfinite(S.peak_scores(spectra)).all()


def test_one_small_photo_does_not_shrink_the_comparison_away_from_a_fine_grid(tmp_path):
    """Images are compared at the median shorter side: a 3 px grid over 240 px
    translations stays visible when one real photo is only 64 px (at 64 px it would be
    averaged away)."""
    rng = np.random.default_rng(3)
    real = _save(tmp_path / "real", [_photo_like(rng, 240) for _ in range(5)])
    real += _save(tmp_path / "small", [_photo_like(rng, 64)])
    grids = _save(tmp_path / "grid", [_grid(_photo_like(rng, 240), period=3) for _ in range(5)])
    side = S.common_side(grids, real)
    assert side == 240
    grid_peak = S.peak_scores(S.power_spectra(grids, side)).mean()
    real_peak = S.peak_scores(S.power_spectra(real, side)).mean()
    assert grid_peak > real_peak + 0.5
