"""The ``domain`` metric: rates, distances and real-image references from the classifiers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from translkit.contracts import MetricBase, MetricInputs, MetricSetup
from translkit.data.io import list_images
from translkit.errors import MetricError
from translkit_plugins._baselines import BUILTIN_BASELINES
from translkit_plugins._domain.cache import (
    MemoryCache,
    ensure_classifier,
    files_key,
    train_files,
)
from translkit_plugins._domain.classifier import (
    VIEWS,
    ClassifierSettings,
    DomainNet,
    View,
    embed,
    load_folder,
)
from translkit_plugins._domain.distances import frechet_distance, kernel_distance
from translkit_plugins._kept import changes
from translkit_plugins._spectral import common_side, peak_scores, power_spectra, spectrum_distance
from translkit_plugins._structure import pair_by_stem, structure_kept, unrelated_pairs

__all__ = [
    "BOTH_RATE",
    "KEPT",
    "SPECTRAL_DISTANCE",
    "SPECTRAL_PEAK",
    "STRUCTURE",
    "TRUST",
    "DomainMetric",
]

log = logging.getLogger("translkit.metrics")

#: Below this accuracy on the real test split a view's numbers are marked untrustworthy.
TRUST: dict[str, float] = {"colour": 0.95, "texture": 0.85}
#: Share of translated images that *every* view assigns to the target domain: an image
#: that fools one view only (a recolouring, a texture on the wrong colours) does not count.
BOTH_RATE = "domain_both_rate"
#: How much of its input's edges a translation keeps (``_structure``): the guard against
#: a translation that fools the classifiers by replacing the picture.
STRUCTURE = "domain_structure"
#: Periodic artefacts: log10 of each translation's strongest mid/high-frequency peak over its
#: ring's median power, averaged (``_spectral``); real photos score about 2.2–2.4.
SPECTRAL_PEAK = "domain_spectral_peak"
#: Distance of the translations' mid/high-frequency spectrum from real target photos'.
SPECTRAL_DISTANCE = "domain_spectral_distance"
#: How much each translation changes its input's studio background and skin (``_kept``).
KEPT = {"background": "domain_background_change", "skin": "domain_skin_change"}
#: Why a view marked untrusted should not be believed.
UNTRUSTED_WHY = (
    "the classifier's accuracy on the real test split is below its threshold; "
    "do not trust these numbers"
)

_TARGET = {"a2b": ("testA", "testB", 1), "b2a": ("testB", "testA", 0)}


@dataclass
class _Sets:
    """The image files of one call: translations, real target images, the test split of
    each domain, and the real-vs-real floor (target training images, as many as fakes)."""

    fake: list[Path]
    real: list[Path]
    test_src: list[Path]
    test_tgt: list[Path]
    floor: list[Path]
    target: int  # the target domain's label: 1 for B
    fake_hits: list[np.ndarray] = field(default_factory=list)
    real_hits: list[np.ndarray] = field(default_factory=list)


class DomainMetric(MetricBase):
    """Target-domain rate, Fréchet distance and KID from domain classifiers trained on the
    dataset's training split, in two views (``colour``, ``texture``); see the package.

    Its caches are its own: the real images it loaded and the structure floor it computed
    (:class:`MemoryCache`), kept while the instance lives (one ``translkit score``, or a
    whole training run's evaluations)."""

    #: ``translkit score`` shows the copy-input and colour-transfer baselines beside it.
    baselines = BUILTIN_BASELINES
    show_baselines = True
    prepares_data = True

    def __init__(
        self,
        *,
        size: int = 96,
        width: int = 24,
        epochs: int = 24,
        seed: int = 0,
        photometric: float = 0.5,
        texture_size: int = 192,
        patch: int = 64,
        texture_epochs: int = 48,
        views: Sequence[View] = VIEWS,
        min_images: int = 10,
    ) -> None:
        unknown = [v for v in views if v not in VIEWS]
        if unknown or not views:
            raise ValueError(f"views must be among {VIEWS}, got {list(views)}")
        if not 0 < patch <= texture_size:
            raise ValueError(f"patch must be in [1, texture_size={texture_size}], got {patch}")
        common = {"width": width, "seed": seed}
        by_view = {
            "colour": ClassifierSettings(view="colour", size=size, epochs=epochs, **common),
            "texture": ClassifierSettings(
                view="texture",
                size=texture_size,
                epochs=texture_epochs,
                patch=patch,
                photometric=photometric,
                **common,
            ),
        }
        self.settings = {v: by_view[v] for v in views}
        self.goals: dict[str, Literal["min", "max"]] = {}
        for v in views:
            self.goals.update(
                {f"domain_{v}_rate": "max", f"domain_{v}_fd": "min", f"domain_{v}_kid": "min"}
            )
        if len(self.settings) > 1:
            self.goals[BOTH_RATE] = "max"
        self.goals[STRUCTURE] = "max"
        self.goals.update(dict.fromkeys(KEPT.values(), "min"))
        self.goals[SPECTRAL_PEAK] = "min"
        self.goals[SPECTRAL_DISTANCE] = "min"
        #: Fewest images in each folder: a rate in steps of 10 points, a 10-sample covariance.
        self.min_images = min_images
        self.info: dict[str, float] = {}
        self.reference: dict[str, float] = {}
        self.untrusted: dict[str, str] = {}
        self.memory = MemoryCache()
        #: classifiers loaded by this metric, by training files (names, sizes, times),
        #: settings and cache: the other direction and the baselines reuse them
        self._classifiers: dict[tuple[str, ...], tuple[DomainNet, Path]] = {}
        self._warned: set[tuple[Path, float]] = set()  # once per classifier and test split

    def __repr__(self) -> str:
        return f"DomainMetric(views={list(self.settings)})"

    def preflight(self, setup: MetricSetup) -> None:
        """Nothing to download: the classifiers are trained from the dataset itself, whose
        training split must hold enough images (checked when the dataset is known)."""
        if setup.data_root is not None:
            train_files(Path(setup.data_root))

    def prepare_data(self, data_root: Path, cache_dir: Path, progress: bool = False) -> None:
        """Train (or find in the cache) each view's classifier now, before long work."""
        for settings in self.settings.values():
            self._classifier(Path(data_root), settings, Path(cache_dir), progress)

    def _classifier(
        self, root: Path, settings: ClassifierSettings, cache_dir: Path, progress: bool
    ) -> tuple[DomainNet, Path]:
        """:func:`ensure_classifier`, once per training split, settings and cache: it hashes
        every training image's bytes, which a metric called per direction and baseline
        need not repeat while the files stay as they were."""
        files_a, files_b = train_files(root)
        key = (files_key(files_a + files_b), settings.key(), str(cache_dir))
        if key not in self._classifiers:
            self._classifiers[key] = ensure_classifier(
                root, settings, cache_dir / "domain", progress=progress
            )
        return self._classifiers[key]

    def _files(self, folder: Path, role: str) -> list[Path]:
        files = list_images(folder) if folder.is_dir() else []
        if len(files) < self.min_images:
            where = "does not exist" if not folder.is_dir() else f"has {len(files)}"
            raise MetricError(
                f"metric 'domain' needs at least {self.min_images} images in the {role} "
                f"folder; {folder} {where}"
            )
        return files

    def _sets(self, inputs: MetricInputs) -> _Sets:
        if inputs.data_root is None or inputs.direction not in _TARGET:
            raise MetricError(
                "metric 'domain' needs the dataset its classifiers learn from and the "
                "direction: score a run directory (`translkit score RUN -m domain`), or add "
                "--data-root DIR --direction a2b|b2a to --real/--fake"
            )
        root = Path(inputs.data_root)
        src_split, tgt_split, target = _TARGET[inputs.direction]
        train = train_files(root)[target]  # first: a missing training split is the error
        fake = self._files(Path(inputs.fake), "translated-image")
        real = self._files(Path(inputs.real), "real target-domain")
        test_src = self._files(root / src_split, "source test")
        test_tgt = self._files(root / tgt_split, "target test")
        # real-vs-real floor: as many target training images as there are translations
        pick = np.random.default_rng(0).permutation(len(train))[: len(fake)]
        floor = [train[i] for i in sorted(pick)]
        return _Sets(fake, real, test_src, test_tgt, floor, target)

    def __call__(self, inputs: MetricInputs) -> dict[str, float]:
        sets = self._sets(inputs)
        root = Path(inputs.data_root)  # type: ignore[arg-type]  # checked by _sets
        values: dict[str, float] = {}
        self.info = {"domain_images": float(len(sets.fake))}
        self.reference, self.untrusted = {}, {}
        for view, settings in self.settings.items():
            net, path = self._classifier(root, settings, Path(inputs.cache_dir), inputs.progress)
            values.update(self._view(view, settings, net, path, sets))
        if len(sets.fake_hits) > 1:  # an image fools the pair only if it fools every view
            values[BOTH_RATE] = float(np.logical_and.reduce(sets.fake_hits).mean())
            self.reference[BOTH_RATE] = float(np.logical_and.reduce(sets.real_hits).mean())
        values.update(self._spectral(sets.fake, sets.real, sets.floor))
        values.update(self._structure(sets))
        return values

    def _view(
        self, view: View, settings: ClassifierSettings, net: DomainNet, path: Path, sets: _Sets
    ) -> dict[str, float]:
        """One classifier's rate, FD and KID, and the same for real images beside them."""
        size, memory = settings.size, self.memory
        f_fake = embed(net, load_folder(sets.fake, size), settings)
        f_real, f_floor, p_src, p_tgt = (
            embed(net, memory.images(files, size), settings)
            for files in (sets.real, sets.floor, sets.test_src, sets.test_tgt)
        )
        p_src, p_tgt = p_src.prob_b, p_tgt.prob_b

        def hits(p: np.ndarray, label: int) -> np.ndarray:
            return (p >= 0.5) if label == 1 else (p < 0.5)

        target = sets.target
        accuracy = float(np.concatenate([hits(p_src, 1 - target), hits(p_tgt, target)]).mean())
        name = f"domain_{view}"
        sets.fake_hits.append(hits(f_fake.prob_b, target))
        sets.real_hits.append(hits(f_real.prob_b, target))
        self.reference[f"{name}_rate"] = float(sets.real_hits[-1].mean())
        self.reference[f"{name}_fd"] = frechet_distance(f_floor.features, f_real.features)
        self.reference[f"{name}_kid"] = kernel_distance(f_floor.features, f_real.features)
        self.reference[f"{name}_accuracy"] = accuracy
        if accuracy < TRUST[view]:
            self.untrusted[f"{name}_untrusted"] = UNTRUSTED_WHY
            self._warn(view, path, accuracy)
        return {
            f"{name}_rate": float(sets.fake_hits[-1].mean()),
            f"{name}_fd": frechet_distance(f_fake.features, f_real.features),
            f"{name}_kid": kernel_distance(f_fake.features, f_real.features),
        }

    def _warn(self, view: View, path: Path, accuracy: float) -> None:
        if (path, accuracy) in self._warned:
            return
        self._warned.add((path, accuracy))
        log.warning(
            "the %s domain classifier is right on %.1f %% of the real test images "
            "(below %.0f %%): its numbers are untrustworthy",
            view,
            100 * accuracy,
            100 * TRUST[view],
        )

    def _structure(self, sets: _Sets) -> dict[str, float]:
        """How much structure the translations keep, and their background and skin
        changes, where they are named after their inputs."""
        values: dict[str, float] = {}
        pairs = pair_by_stem(sets.fake, sets.test_src)
        self.info["domain_structure_pairs"] = float(len(pairs))
        if len(pairs) < self.min_images:
            return values
        values[STRUCTURE] = structure_kept(pairs)
        floor = self.memory.value(  # the same for every model and baseline on a test split
            STRUCTURE,
            (sets.test_src, sets.test_tgt),
            lambda: structure_kept(unrelated_pairs(sets.test_src, sets.test_tgt)),
        )
        self.reference[STRUCTURE] = floor
        for mask, (change, images, share) in changes(pairs, tuple(KEPT)).items():
            key = KEPT[mask]
            self.info[f"{key}_images"], self.info[f"{key}_share"] = float(images), share
            if change is not None and images >= self.min_images:
                values[key] = change
        return values

    def _spectral(
        self, fake: Sequence[Path], real: Sequence[Path], floor: Sequence[Path]
    ) -> dict[str, float]:
        """The spectral numbers, with the real photos' own peak and the real-vs-real distance
        beside them."""
        side = common_side(fake, real, floor)
        f_fake, f_real = power_spectra(fake, side), power_spectra(real, side)
        self.reference[SPECTRAL_PEAK] = float(peak_scores(f_real).mean())
        floor_spectra = power_spectra(floor, side)
        self.reference[SPECTRAL_DISTANCE] = spectrum_distance(floor_spectra, f_real)
        return {
            SPECTRAL_PEAK: float(peak_scores(f_fake).mean()),
            SPECTRAL_DISTANCE: spectrum_distance(f_fake, f_real),
        }
