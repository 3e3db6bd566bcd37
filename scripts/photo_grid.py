"""Full-size test photos through a model, for docs/results.md: per photo, the input beside
its translation (and, for an attention-guided generator, its mask), a few photos a row.

    python scripts/photo_grid.py leather_denim --root data/leather_denim \
        --a2b 71 3 12 --b2a 5 20 --colors 256 -o docs/images/results_leather_denim.png

Each photo goes through ``translkit translate`` exactly as a user's would (the model's own
input size, whole images, fp32), so the tiles show what a user gets. Tiles keep their
aspect and are shown at ``--height`` pixels (320 by default: a 256 px translation enlarged
1.25×, never shrunk below the model's input size).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

import translkit
from translkit.inference.files import translate_checkpoint

SPLITS = {"a2b": "testA", "b2a": "testB"}
GAP = 6


def translate(source: str, photos: list[Path], direction: str, work: Path) -> list[list[Path]]:
    """``[inputs, translations, masks?]`` for ``photos``, through ``translate_checkpoint``."""
    inputs = work / f"{direction}_in"
    inputs.mkdir()
    for photo in photos:
        shutil.copy(photo, inputs / photo.name)
    out, masks = work / f"{direction}_out", work / f"{direction}_mask"
    registries = translkit.get_registry()
    try:
        translate_checkpoint(
            source, inputs, out, registries, direction=direction, precision="fp32", masks=masks
        )
    except translkit.TranslkitError:  # no attention mask: outputs only
        translate_checkpoint(source, inputs, out, registries, direction=direction, precision="fp32")
    rows = [[inputs / p.name for p in photos], [out / p.name for p in photos]]
    if masks.is_dir():
        rows.append([masks / p.name for p in photos])
    return rows


def compose(rows: list[list[Path]], height: int, label: str, per_row: int) -> Image.Image:
    """Each photo's tiles (``rows`` is ``[inputs, translations, masks?]``) side by side at
    ``height`` pixels, ``per_row`` photos a row, a caption above."""

    def scaled(path: Path) -> Image.Image:
        t = Image.open(path).convert("RGB")
        return t.resize((round(t.width * height / t.height), height), Image.Resampling.LANCZOS)

    groups = [[scaled(p) for p in photo] for photo in zip(*rows, strict=True)]
    lines = [groups[i : i + per_row] for i in range(0, len(groups), per_row)]

    def line_width(line: list[list[Image.Image]]) -> int:
        return sum(sum(t.width + GAP for t in g) + 2 * GAP for g in line)

    width = max(line_width(line) for line in lines)
    caption = 18
    sheet = Image.new("RGB", (width, caption + len(lines) * (height + GAP)), "white")
    ImageDraw.Draw(sheet).text((4, 3), label, fill="black")
    y = caption
    for line in lines:
        x = 0
        for group in line:
            for tile in group:
                sheet.paste(tile, (x, y))
                x += tile.width + GAP
            x += 2 * GAP  # a wider gap between photos than within one
        y += height + GAP
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a model name, run directory or checkpoint")
    parser.add_argument("--root", type=Path, required=True, help="the dataset (testA/, testB/)")
    parser.add_argument("--a2b", nargs="*", default=[], help="testA image stems")
    parser.add_argument("--b2a", nargs="*", default=[], help="testB image stems")
    parser.add_argument("--height", type=int, default=320)
    parser.add_argument("--per-row", type=int, default=2, help="photos a row")
    parser.add_argument("--colors", type=int, default=0, help="a palette PNG of N colours")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    sheets = []
    with tempfile.TemporaryDirectory() as tmp:
        for direction in ("a2b", "b2a"):
            stems = getattr(args, direction)
            if not stems:
                continue
            folder = args.root / SPLITS[direction]
            photos = [next(folder.glob(f"{stem}.*")) for stem in stems]
            rows = translate(args.source, photos, direction, Path(tmp))
            what = "input, translation" + (", mask (white: translated)" if len(rows) > 2 else "")
            label = f"{direction} ({SPLITS[direction]}: {', '.join(stems)}): each {what}"
            sheets.append(compose(rows, args.height, label, args.per_row))
    width = max(s.width for s in sheets)
    grid = Image.new("RGB", (width, sum(s.height for s in sheets)), "white")
    y = 0
    for sheet in sheets:
        grid.paste(sheet, (0, y))
        y += sheet.height
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.colors:
        grid = grid.quantize(args.colors, dither=Image.Dither.NONE)
    grid.save(args.output, optimize=True)
    print(f"{args.output}: {grid.width}×{grid.height}")


if __name__ == "__main__":
    main()
