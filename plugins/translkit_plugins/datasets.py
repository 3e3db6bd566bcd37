"""Built-in datasets: the study's leather ↔ denim set, Zhu et al.'s CycleGAN sets, and the
synthetic benchmark. Each is a :class:`~translkit.contracts.DatasetSource`; ``translkit data
download NAME`` (or a recipe's ``data.dataset``) installs it.

- ``leather_denim``: 1,259 files listed with size and sha256 in ``manifests/leather_denim.json``
  (computed by ``scripts/dataset_manifest.py`` from a copy of the repository's ``Data/``),
  fetched one by one from the study's repository pinned to its last commit.
- Zhu et al.'s sets: one zip each, from the server the reference implementation's
  ``datasets/download_cyclegan_dataset.sh`` names. No checksum is published with them, so
  the first download's sha256 is recorded and later ones must match (trust on first use).
- ``synthetic``: generated locally by :func:`translkit.data.synthetic.make_synthetic`.
- ``synthetic_recolor``: the same generator with domain B a fixed colour transform of
  leather (:mod:`translkit.data.recolor`): a benchmark whose truth is a known function of
  the input, so a perfect translator scores unbounded PSNR.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import translkit
from translkit.contracts import Archive, DatasetSource, RemoteFile

__all__ = ["CYCLEGAN_SETS", "cyclegan_set", "leather_denim", "synthetic", "synthetic_recolor"]

STUDY_REPO = "JihoonAndyKim/CS230-Final-Project"
STUDY_COMMIT = "df803a955681181fe8875904c639f579f819b841"  # its last commit, 2018-12-13
STUDY_BASE = f"https://raw.githubusercontent.com/{STUDY_REPO}/{STUDY_COMMIT}/Data/"

STUDY_CITATION = (
    "Miguel Ferrer Avila and Ji Hoon (Andy) Kim, Clothing Texture Synthesis using CycleGAN, "
    "CS230 final project, 2018. https://github.com/JihoonAndyKim/CS230-Final-Project"
)
ZHU_CITATION = """@inproceedings{CycleGAN2017,
  title     = {Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks},
  author    = {Zhu, Jun-Yan and Park, Taesung and Isola, Phillip and Efros, Alexei A},
  booktitle = {IEEE International Conference on Computer Vision (ICCV)},
  year      = {2017}
}"""
ZHU_HOMEPAGE = "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix"
#: Where download_cyclegan_dataset.sh fetches NAME.zip (the server moved; both are tried).
ZHU_URLS = (
    "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip",
    "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/{name}.zip",
)

#: name -> (summary, terms of use, zip size in bytes as published by TensorFlow Datasets'
#: url_checksums/cycle_gan.txt for the same files; a hint for the progress bar only).
CYCLEGAN_SETS: dict[str, tuple[str, str, int]] = {
    "horse2zebra": (
        "Horses (A) ↔ zebras (B), ImageNet photos (Zhu et al. 2017)",
        "research use; ImageNet images under the ImageNet terms of access",
        116_867_962,
    ),
    "apple2orange": (
        "Apples (A) ↔ oranges (B), ImageNet photos (Zhu et al. 2017)",
        "research use; ImageNet images under the ImageNet terms of access",
        78_456_409,
    ),
    "summer2winter_yosemite": (
        "Yosemite in summer (A) ↔ winter (B), Flickr photos (Zhu et al. 2017)",
        "research use; Flickr photos under their owners' terms",
        132_640_856,
    ),
    "monet2photo": (
        "Monet paintings (A) ↔ landscape photos (B) (Zhu et al. 2017)",
        "research use; paintings via WikiArt, photos from Flickr under their owners' terms",
        305_231_073,
    ),
    "cezanne2photo": (
        "Cézanne paintings (A) ↔ landscape photos (B) (Zhu et al. 2017)",
        "research use; paintings via WikiArt, photos from Flickr under their owners' terms",
        279_885_071,
    ),
    "ukiyoe2photo": (
        "Ukiyo-e prints (A) ↔ landscape photos (B) (Zhu et al. 2017)",
        "research use; prints via WikiArt, photos from Flickr under their owners' terms",
        292_946_532,
    ),
    "vangogh2photo": (
        "Van Gogh paintings (A) ↔ landscape photos (B) (Zhu et al. 2017)",
        "research use; paintings via WikiArt, photos from Flickr under their owners' terms",
        306_590_349,
    ),
    "maps": (
        "Aerial photos (A) ↔ Google Maps renderings (B) of New York (Isola et al. 2017)",
        "research use; imagery scraped from Google Maps under Google's terms",
        1_476_754_427,
    ),
    "facades": (
        "Facade label maps (A) ↔ facade photos (B), CMP Facades (Tyleček & Šára 2013)",
        "research use; CMP Facade Database terms",
        35_135_868,
    ),
    "iphone2dslr_flower": (
        "Flower photos from an iPhone (A) ↔ a DSLR with shallow depth of field (B), Flickr "
        "(Zhu et al. 2017)",
        "research use; Flickr photos under their owners' terms",
        339_964_458,
    ),
}


@cache
def _study_manifest() -> tuple[RemoteFile, ...]:
    text = (resources.files(__package__) / "manifests" / "leather_denim.json").read_text("utf-8")
    return tuple(
        RemoteFile(STUDY_BASE + row["path"], row["path"], row["size"], row["sha256"])
        for row in json.loads(text)
    )


def leather_denim() -> DatasetSource:
    """Leather (A) ↔ denim (B) clothing photos of "Clothing Texture Synthesis using CycleGAN":
    1,259 JPEGs, 19.3 MB."""
    return DatasetSource(
        name="leather_denim",
        summary="Leather (A) ↔ denim (B) clothing photos, curated from the web and "
        "DeepFashion by Ferrer Avila and Kim: trainA 498, trainB 572, testA 98, testB 91 JPEGs",
        licence="no licence: research use only; do not redistribute",
        citation=STUDY_CITATION,
        homepage=f"https://github.com/{STUDY_REPO}/tree/{STUDY_COMMIT}/Data",
        files=_study_manifest(),
        notes="26 pairs of byte-identical files, 6 of them across train/test (a small leak); "
        "one grayscale image (trainA/364.jpg, converted to RGB on load); mixed JPEG sizes "
        "from 91 px to 2667 px a side, mostly not square",
    )


def cyclegan_set(name: str) -> DatasetSource:
    """One of Zhu et al.'s CycleGAN datasets, as ``download_cyclegan_dataset.sh NAME``."""
    summary, terms, size = CYCLEGAN_SETS[name]
    urls = [u.format(name=name) for u in ZHU_URLS]
    citation = ZHU_CITATION
    if name == "facades":
        citation += (
            "\nTyleček, R. and Šára, R., Spatial Pattern Templates for Recognition of "
            "Objects with Regular Structure, GCPR 2013"
        )
    if name == "maps":
        citation += (
            "\nIsola, P., Zhu, J.-Y., Zhou, T. and Efros, A. A., Image-to-Image Translation "
            "with Conditional Adversarial Networks, CVPR 2017"
        )
    return DatasetSource(
        name=name,
        summary=summary,
        licence=terms,
        citation=citation,
        homepage=ZHU_HOMEPAGE,
        archive=Archive(
            url=urls[0],
            mirrors=tuple(urls[1:]),
            layout={f"{name}/{s}": s for s in ("trainA", "trainB", "testA", "testB")},
            size=size,
        ),
        notes="no checksum is published: the sha256 of the first download is recorded in "
        "the translkit cache and later downloads must match it",
    )


def synthetic(size: int = 64, train: int = 200, test: int = 24, seed: int = 0) -> DatasetSource:
    """translkit's synthetic leather ↔ denim garments with test ground truth (generated)."""
    from translkit.data import make_synthetic

    def generate(out: Path) -> None:
        make_synthetic(out, size=size, train=train, test=test, seed=seed)

    return DatasetSource(
        name="synthetic",
        summary=f"Procedural garments in leather (A) and denim (B), {size} px, {train} train "
        f"and {test} test images per domain, test twins in testA_truth/testB_truth",
        licence="generated by translkit (MIT); no restrictions",
        citation="translkit's built-in benchmark (translkit.data.synthetic)",
        generate=generate,
        splits=("trainA", "trainB", "testA", "testB", "testA_truth", "testB_truth"),
    )


def synthetic_recolor(
    size: int = 64, train: int = 200, test: int = 24, seed: int = 0
) -> DatasetSource:
    """Deterministic truth: translkit's leather garments (A) and a fixed recolouring (B)."""
    from translkit.data import make_synthetic

    def generate(out: Path) -> None:
        make_synthetic(out, size=size, train=train, test=test, seed=seed, domain_b="recolor")

    return DatasetSource(
        name="synthetic_recolor",
        summary=f"Procedural leather garments (A) and, of other scenes, the same recoloured by "
        f"a fixed pixel-wise transform (B), {size} px, {train} train and {test} test images "
        "per domain; testA_truth = recolor(testA), testB_truth = unrecolor(testB) exactly",
        licence="generated by translkit (MIT); no restrictions",
        citation="translkit's built-in benchmark (translkit.data.recolor)",
        generate=generate,
        splits=("trainA", "trainB", "testA", "testB", "testA_truth", "testB_truth"),
        notes="B = leather with red and blue swapped and the green and blue shadows lifted; "
        "copying the input (identity) scores about 20 dB PSNR to the truth, a perfect "
        "translator 100 dB (the metric's cap)",
    )


def _cyclegan_factory(name: str):
    def factory() -> DatasetSource:
        return cyclegan_set(name)

    return factory


@translkit.hookimpl
def translkit_register(registry):
    registry.datasets.add("leather_denim", leather_denim)
    registry.datasets.add("synthetic", synthetic)
    registry.datasets.add("synthetic_recolor", synthetic_recolor)
    for name, (summary, _, size) in CYCLEGAN_SETS.items():
        registry.datasets.add(
            name, _cyclegan_factory(name), summary=f"{summary}; {size / 1e6:.0f} MB zip"
        )
