"""Which file goes where when translating: inputs are never written over.

- An output equal to its input (the same file, or the same folder) is refused.
- An output folder inside the input folder is left out of the walk, so running the same
  command again never translates earlier translations.
- An output that would land on an input file (an output folder that holds the input
  folder, say) is refused, naming the file.
- Existing outputs are skipped unless ``overwrite``: a re-run finishes an interrupted job
  and leaves finished files alone (every output is written atomically, so an existing file
  is a whole one).
- Two inputs whose outputs would share one name (``a.gif`` and ``a.png`` both become
  ``a.png``): the second is a failure naming the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from translkit.data.io import IMAGE_EXTENSIONS, scan_folder
from translkit.errors import TranslkitError

__all__ = ["WRITABLE", "TranslationPlan", "plan_translation"]

#: Formats PIL can write, by suffix; anything else is written as PNG.
WRITABLE = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".ppm": "PPM",
}


@dataclass
class TranslationPlan:
    """What a translation will do before it does it."""

    #: ``(input, output)`` pairs to translate.
    pairs: list[tuple[Path, Path]] = field(default_factory=list)
    #: ``(input, output)`` pairs whose output exists and is kept (no ``overwrite``).
    existing: list[tuple[Path, Path]] = field(default_factory=list)
    #: Files in the input folder that are not images (by suffix), left alone.
    not_images: list[Path] = field(default_factory=list)
    #: ``(input, reason)`` for inputs refused while planning (two inputs, one output).
    refused: list[tuple[Path, str]] = field(default_factory=list)
    #: The output folder, when it lies inside the input folder and was left out of the walk.
    excluded: Path | None = None


def _output_name(path: Path) -> Path:
    return path if path.suffix.lower() in WRITABLE else path.with_suffix(".png")


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def plan_translation(
    source: str | Path, output: str | Path, *, overwrite: bool = False
) -> TranslationPlan:
    """Map ``source`` (a file or a folder, read recursively) to outputs under ``output``.

    A file maps to ``output`` itself when that has an image suffix, else into the folder
    ``output``; a folder maps each image to the same relative path under ``output``.
    """
    source, output = Path(source), Path(output)
    plan = TranslationPlan()
    if source.is_dir():
        pairs = _plan_folder(source, output, plan)
    elif source.is_file():
        if output.is_dir() or output.suffix.lower() not in IMAGE_EXTENSIONS:
            output = output / source.name
        pairs = [(source, _output_name(output))]
        if _same(source, pairs[0][1]):
            raise TranslkitError(
                f"output {pairs[0][1]} is the input file; write the translation to another path"
            )
    else:
        raise TranslkitError(f"input {source} does not exist")
    _refuse_inputs_as_outputs(source, pairs, plan)
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        first = seen.setdefault(dst.resolve(), src)
        if first != src:
            plan.refused.append((src, f"its output {dst} is also the output of {first}"))
        elif dst.is_dir():
            plan.refused.append((src, f"cannot write {dst}: it is a directory"))
        elif dst.exists() and not overwrite:
            plan.existing.append((src, dst))
        else:
            plan.pairs.append((src, dst))
    return plan


def _plan_folder(source: Path, output: Path, plan: TranslationPlan) -> list[tuple[Path, Path]]:
    if output.exists() and not output.is_dir():
        raise TranslkitError(f"input {source} is a folder, so output {output} must be one too")
    src_abs, out_abs = source.resolve(), output.resolve()
    if src_abs == out_abs:
        raise TranslkitError(
            f"output folder {output} is the input folder: the translations would replace "
            f"the inputs; choose another folder (one inside it, such as "
            f"{source / 'translated'}, is fine: it is left out of the input)"
        )
    if out_abs.is_relative_to(src_abs):
        plan.excluded = source / out_abs.relative_to(src_abs)
    images, plan.not_images = scan_folder(source, exclude=plan.excluded)
    if not images:
        raise TranslkitError(f"input folder {source} holds no images")
    return [(f, _output_name(output / f.relative_to(source))) for f in images]


def _refuse_inputs_as_outputs(
    source: Path, pairs: list[tuple[Path, Path]], plan: TranslationPlan
) -> None:
    """One line naming the first output that is an input file (or inside the input tree)."""
    src_abs = source.resolve()
    inputs = {p.resolve() for p, _ in pairs} | {p.resolve() for p in plan.not_images}
    for _, dst in pairs:
        target = dst.resolve()
        if target in inputs or (
            source.is_dir()
            and target.is_relative_to(src_abs)
            and not (plan.excluded and target.is_relative_to(plan.excluded.resolve()))
        ):
            raise TranslkitError(
                f"output {dst} would be written inside the input {source}, over or beside "
                "its inputs; choose an output outside the input (or a subfolder of it)"
            )
