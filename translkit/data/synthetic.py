"""The built-in synthetic leather↔denim benchmark: procedural garments with hidden ground truth.

Garments (trousers, skirts, shirts, jackets) are drawn as unions of polygons and
tapered capsules in a garment frame (y down, height 1), posed by a random similarity
transform, sometimes on a simple figure, on a white or plain background. The same scene
is rendered in two materials:

- leather (domain A): black, dark brown or oxblood; fine grain; a specular sheen from
  a height field of soft panel edges and folds; seams as dark grooves;
- denim (domain B): indigo twill (diagonal weave), wash and fading, gold dashed
  stitching along the seams.

Train splits hold different garments per domain (unpaired); every test image has its
twin in the other material under the same name in ``testA_truth/`` / ``testB_truth/``,
so translations can be scored against ground truth (the study's real set has none).

With ``domain_b="recolor"`` (the deterministic-truth benchmark, dataset
``synthetic_recolor``) domain B is instead the leather rendering passed through the fixed
colour transform :func:`translkit.data.recolor.recolor`: ``testA_truth = recolor(testA)``
and ``testB_truth = unrecolor(testB)`` exactly, so the ideal translation is a known
function of the input image.
Rendering is vectorised numpy over a 2× supersampled grid; each image has its own seed
derived from ``(seed, split, index)``, so a split's first ``n`` images do not depend on
how many are generated.

A run killed outright (``kill -9``) leaves nothing that lasts: rendering processes exit
as soon as their parent is gone, and its staging folder is removed by the next run
(:func:`translkit.data.io.staged_dir`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from translkit.data.io import move_into_place, refuse_to_clobber, staged_dir
from translkit.data.recolor import CHANNELS, LIFT, recolor, unrecolor
from translkit.data.synthetic_draw import GARMENTS, Scene, draw_scene
from translkit.errors import DataError, OutputError

__all__ = [
    "DOMAINS_B",
    "SYNTHETIC_SPLITS",
    "make_synthetic",
    "render_pair",
    "render_split_image",
    "sample_scene",
]

#: Folders written by :func:`make_synthetic`.
SYNTHETIC_SPLITS = ("trainA", "trainB", "testA", "testB", "testA_truth", "testB_truth")
_SPLIT_CODE = {"trainA": 1, "trainB": 2, "testA": 3, "testB": 4}
_MANIFEST = "synthetic.json"
#: What domain B holds: the denim twin, or the leather image recoloured.
DOMAINS_B = ("denim", "recolor")
DomainB = Literal["denim", "recolor"]
_DOMAIN_B_NAMES = {"denim": "denim", "recolor": "leather recoloured (translkit.data.recolor)"}


def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence([seed & 0xFFFFFFFF, _SPLIT_CODE[split], index])
    )


def sample_scene(rng: np.random.Generator) -> Scene:
    """Random garment, pose, background, figure and material parameters."""
    return Scene.sample(rng)


def render_pair(scene: Scene, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The scene in leather and in denim, each ``(size, size, 3)`` uint8."""
    return draw_scene(scene, size, "leather"), draw_scene(scene, size, "denim")


def _save(arr: np.ndarray, path: Path) -> None:
    Image.fromarray(arr).save(path, compress_level=1)


def _domain_image(scene: Scene, size: int, domain: str, domain_b: DomainB) -> np.ndarray:
    """Domain A is leather; domain B the denim rendering or the recoloured leather."""
    if domain == "B" and domain_b == "denim":
        return draw_scene(scene, size, "denim")
    leather = draw_scene(scene, size, "leather")
    return leather if domain == "A" else recolor(leather)


def render_split_image(
    scene: Scene, size: int, split: str, domain_b: DomainB = "denim"
) -> tuple[np.ndarray, np.ndarray]:
    """The image of ``scene`` in ``split``'s domain and its ground-truth twin in the other.

    With ``domain_b="recolor"`` the twin is a function of the image itself:
    ``recolor(image)`` for domain A, ``unrecolor(image)`` for domain B.
    """
    domain = split[-1]
    image = _domain_image(scene, size, domain, domain_b)
    if domain_b == "recolor":
        return image, recolor(image) if domain == "A" else unrecolor(image)
    return image, _domain_image(scene, size, "B" if domain == "A" else "A", domain_b)


def _write_range(
    tmp: Path, split: str, lo: int, hi: int, size: int, seed: int, domain_b: DomainB
) -> dict[str, int]:
    """Render images ``lo..hi-1`` of ``split`` (and their twins); count garments by kind."""
    kinds = dict.fromkeys(GARMENTS, 0)
    for i in range(lo, hi):
        scene = sample_scene(_rng(seed, split, i))
        kinds[scene.garment] += 1
        name = f"{i:06d}.png"
        if split.startswith("test"):
            image, twin = render_split_image(scene, size, split, domain_b)
            _save(twin, tmp / f"{split}_truth" / name)
        else:
            image = _domain_image(scene, size, split[-1], domain_b)
        _save(image, tmp / split / name)
    return kinds


def make_synthetic(
    out: Path | str,
    *,
    size: int = 64,
    train: int = 200,
    test: int = 24,
    seed: int = 0,
    overwrite: bool = False,
    workers: int | None = None,
    domain_b: DomainB = "denim",
) -> Path:
    """Write the synthetic leather (A) ↔ denim (B) benchmark to ``out``.

    :param size: image side in pixels (default 64).
    :param train: images per domain in ``trainA``/``trainB`` (default 200).
    :param test: images per domain in ``testA``/``testB`` and their truth twins (default 24).
    :param seed: generator seed (default 0); the output is a pure function of the arguments.
    :param overwrite: replace an existing ``out`` (otherwise a non-empty ``out`` is an error).
    :param workers: rendering processes (default: up to 4, one per CPU); 1 renders inline.
    :param domain_b: ``"denim"`` (default) or ``"recolor"``: domain B is the leather image
        through :func:`translkit.data.recolor.recolor`, a deterministic-truth benchmark.

    Files are written to a temporary sibling folder and renamed into place, so an
    interrupted run leaves no partial dataset. Returns ``out``.
    """
    out = Path(out).expanduser()
    if domain_b not in DOMAINS_B:
        raise DataError(
            f"synthetic benchmark: domain_b must be one of {', '.join(DOMAINS_B)}, got {domain_b!r}"
        )
    if size < 16 or train < 0 or test < 0 or train + test == 0:
        raise DataError(
            f"synthetic benchmark: need size >= 16 and some images, got size={size}, "
            f"train={train}, test={test}"
        )
    refuse_to_clobber(out, overwrite)
    with staged_dir(out) as tmp:
        for split in SYNTHETIC_SPLITS:
            (tmp / split).mkdir()
        sizes = {"trainA": train, "trainB": train, "testA": test, "testB": test}
        counts = _render_all(tmp, sizes, size, seed, workers, domain_b)
        meta = {
            "generator": "translkit.synthetic/1",
            "size": size,
            "train": train,
            "test": test,
            "seed": seed,
            "domains": {"A": "leather", "B": _DOMAIN_B_NAMES[domain_b]},
            "garments": counts,
        }
        if domain_b == "recolor":
            meta["recolor"] = {"channels": list(CHANNELS), "lift": list(LIFT)}
        (tmp / _MANIFEST).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _move_into_place(tmp, out, overwrite)
    return out


def _render_all(
    tmp: Path,
    sizes: dict[str, int],
    size: int,
    seed: int,
    workers: int | None,
    domain_b: DomainB,
) -> dict[str, dict[str, int]]:
    chunk = 64
    jobs = [
        (tmp, split, lo, min(lo + chunk, n), size, seed, domain_b)
        for split, n in sizes.items()
        for lo in range(0, n, chunk)
    ]
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    results: list[tuple[str, dict[str, int]]] = []
    if workers <= 1 or sum(sizes.values()) < 256:  # a pool costs more than it saves
        results = [(job[1], _write_range(*job)) for job in jobs]
    else:
        ctx = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            futures = [(job[1], pool.submit(_write_range, *job)) for job in jobs]
            results = [(split, fut.result()) for split, fut in futures]
    counts = {split: dict.fromkeys(GARMENTS, 0) for split in sizes}
    for split, kinds in results:
        for kind, k in kinds.items():
            counts[split][kind] += k
    return counts


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: the worker exits once ``parent`` is gone, even after ``kill -9``
    (which gives the pool no chance to stop its workers)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _move_into_place(tmp: Path, out: Path, overwrite: bool) -> None:
    """Rename ``tmp`` to ``out``; a dataset another process finished meanwhile is kept."""
    if not overwrite and (out / _MANIFEST).is_file():
        shutil.rmtree(tmp, ignore_errors=True)  # a concurrent run wrote the same dataset
        return
    try:
        move_into_place(tmp, out)
    except OutputError:
        if not (out / _MANIFEST).is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
