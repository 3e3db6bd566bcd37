"""``translkit data``: download a registered dataset, build the synthetic benchmark or
DeepFashion domains, check a dataset."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from translkit.cli import new_group
from translkit.cli.options import parse_key_values
from translkit.cli.output import PipeConsole, print_fields
from translkit.errors import TranslkitError

__all__ = ["register"]

group = new_group(
    "data", "Download, build and check unpaired datasets (trainA/ trainB/ testA/ testB/)."
)
console = PipeConsole()


@group.command("download")
def download(
    name: str = typer.Argument(..., help="A registered dataset (`translkit list datasets`)."),
    root: Path = typer.Option(None, "--root", help="Folder to install it in (default data/NAME)."),
    origin: str = typer.Option(
        None,
        "--from",
        metavar="SRC",
        help="Take the files from a local copy or mirror instead: a folder or base URL laid "
        "out like the dataset, or the archive's path or URL. Verified as usual.",
    ),
    options: list[str] = typer.Option(
        [], "--option", "-o", metavar="KEY=VALUE", help="An option of the dataset's factory."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing ROOT."),
) -> None:
    """Download (or generate) a registered dataset, verify every file, install it at ROOT.

    Resumes an interrupted download; ROOT appears only once everything is verified.
    """
    from translkit.data.install import create_source, install, installed_name
    from translkit.plugin_manager import load_plugins

    source = create_source(load_plugins().registries, name, parse_key_values(options, "-o"))
    root = root or Path("data") / name
    if installed_name(root) == name and not overwrite:
        console.print(
            f"{name} is already installed at {root} (--overwrite downloads it again)",
            soft_wrap=True,
        )
        return
    install(source, root, overwrite=overwrite, origin=origin)


@group.command("info")
def info(
    name: str = typer.Argument(..., help="A registered dataset (`translkit list datasets`)."),
) -> None:
    """What a registered dataset is: source, size, terms of use, citation, known quirks."""
    from translkit.data.checksums import TrustStore
    from translkit.data.download import format_bytes
    from translkit.data.install import create_source
    from translkit.plugin_manager import load_plugins

    source = create_source(load_plugins().registries, name)
    rows = [("name", source.name), ("summary", source.summary)]
    if source.files:
        rows.append(("source", f"{len(source.files)} files, sha256 each: {source.homepage}"))
    elif source.archive is not None:
        recorded = TrustStore().recorded(source.archive.url)
        check = source.archive.sha256 or (
            f"recorded on first use: {recorded}" if recorded else "recorded on first download"
        )
        rows += [("source", source.archive.url), ("sha256", check)]
    else:
        rows.append(("source", "generated locally"))
    size = source.download_size if source.kind != "generate" else source.size
    rows += [
        ("download", format_bytes(size) if size else "-"),
        ("terms", source.licence),
        ("homepage", source.homepage or "-"),
        ("citation", source.citation or "-"),
        ("notes", source.notes or "-"),
    ]
    print_fields(console, rows, width=9)


@group.command("synth")
def synth(
    out: Path = typer.Argument(..., help="Folder to create (must not exist or be empty)."),
    size: int = typer.Option(64, "--size", min=16, help="Image side in pixels."),
    train: int = typer.Option(200, "--train", min=0, help="Training images per domain."),
    test: int = typer.Option(24, "--test", min=0, help="Test images per domain (plus twins)."),
    seed: int = typer.Option(0, "--seed", help="Generator seed (same seed, same dataset)."),
    workers: int = typer.Option(
        None, "--workers", min=1, help="Rendering processes (default: up to 4)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT."),
    domain_b: str = typer.Option(
        "denim",
        "--domain-b",
        help="What domain B holds: 'denim' (the garments in denim) or 'recolor' (the "
        "leather recoloured by a fixed pixel-wise transform: deterministic ground truth).",
    ),
) -> None:
    """Write the built-in synthetic leather (A) ↔ denim (B) benchmark, with test ground truth.

    `--domain-b recolor` writes the deterministic-truth variant (dataset synthetic_recolor).
    """
    from translkit.data import synthetic

    start = time.perf_counter()
    synthetic.make_synthetic(
        out,
        size=size,
        train=train,
        test=test,
        seed=seed,
        overwrite=overwrite,
        workers=workers,
        domain_b=domain_b,  # type: ignore[arg-type]  # checked by make_synthetic
    )
    took = time.perf_counter() - start
    images = 2 * train + 4 * test
    console.print(
        f"wrote {out}: trainA/trainB {train} each, testA/testB {test} each with "
        f"testA_truth/testB_truth twins, {size}×{size} px "
        f"({images} images in {took:.1f} s, {images / max(took, 1e-9):.0f} images/s)"
    )


@group.command("deepfashion")
def deepfashion(
    root: Path = typer.Option(
        ...,
        "--root",
        help="Local DeepFashion (Category and Attribute Prediction) root with Anno/, Eval/, Img/.",
    ),
    out: Path = typer.Option(..., "--out", help="Folder to create."),
    a: str = typer.Option("leather", "--a", help="Attribute of domain A."),
    b: str = typer.Option("denim", "--b", help="Attribute of domain B."),
    include_variants: bool = typer.Option(
        False,
        "--include-variants",
        help="Also use attributes whose name contains the word ('faux leather').",
    ),
    link: str = typer.Option("copy", "--link", help="'copy' or 'symlink' the images."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT."),
) -> None:
    """Build domains A/B from DeepFashion attributes (never downloads it: licence-restricted)."""
    from translkit.data import deepfashion as df

    rep = df.build_deepfashion(
        root,
        out,
        a=a,
        b=b,
        include_variants=include_variants,
        link=link,  # type: ignore[arg-type]
        overwrite=overwrite,
    )
    table = Table(title=f"DeepFashion domains in {rep.out}")
    for col in (
        "split",
        f"A ({', '.join(rep.attributes['A'])})",
        f"B ({', '.join(rep.attributes['B'])})",
        "both (dropped)",
    ):
        table.add_column(col, justify="right" if col != "split" else "left", no_wrap=col == "split")
    for split in ("train", "test"):
        table.add_row(
            split, str(rep.counts[f"{split}A"]), str(rep.counts[f"{split}B"]), str(rep.both[split])
        )
    console.print(table)
    console.print(
        f"missing image files: {len(rep.missing)}"
        + (f" (e.g. {', '.join(rep.missing[:3])})" if rep.missing else "")
    )
    if rep.unpartitioned:
        console.print(f"not in the partition file (skipped): {rep.unpartitioned}")
    console.print(f"manifest: {Path(rep.out) / 'manifest.csv'}")


@group.command("check")
def check(
    root: Path = typer.Argument(
        None,
        help="Dataset root holding trainA/ trainB/ testA/ testB/ "
        "(default: the recipe's data.root).",
        show_default=False,
    ),
    recipe: Path = typer.Option(
        None,
        "--recipe",
        "-r",
        help="Recipe the dataset will train with: its data.root, data.crop_size and "
        "optim.batch_size are the defaults.",
    ),
    crop_size: int = typer.Option(
        None,
        "--crop-size",
        min=1,
        help="Training crop in px: list images with a smaller side (default: the recipe's; "
        "without one, sides are not checked).",
        show_default=False,
    ),
    batch_size: int = typer.Option(
        None,
        "--batch-size",
        "-b",
        min=1,
        help="Images per domain per step; a training domain needs at least that many "
        "(default: the recipe's, else 1).",
        show_default=False,
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Train/test duplicates (leaks) fail the check."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON report for scripts."),
) -> None:
    """Report counts, sizes, modes, unreadable files, duplicates and train/test leaks.

    Exits 1 when something would break training (missing or empty train splits,
    unreadable or truncated images, a training domain smaller than one batch), and with
    --strict when train and test share byte-identical files.
    """
    from translkit.data import check as check_mod

    root, crop_size, batch_size = _check_settings(root, recipe, crop_size, batch_size)
    report = check_mod.check_dataset(
        root, crop_size=crop_size, batch_size=batch_size, strict=strict
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _check_settings(
    root: Path | None, recipe: Path | None, crop_size: int | None, batch_size: int | None
) -> tuple[Path, int | None, int]:
    """Root, crop size and batch size: the options, else the recipe's, else the defaults."""
    if recipe is not None:
        from translkit.recipe import load_recipe

        loaded = load_recipe(recipe)
        root = root if root is not None else Path(loaded.data.root)
        crop_size = crop_size if crop_size is not None else loaded.data.crop_size
        batch_size = batch_size if batch_size is not None else loaded.optim.batch_size
    if root is None:
        raise TranslkitError("data check needs a dataset ROOT (or --recipe naming data.root)")
    return root, crop_size, batch_size or 1


def _print_report(report: Any) -> None:
    """Two narrow tables (contents, then sizes), the duplicates, warnings and the verdict;
    each fits 80 columns, and names are never broken or cut."""
    crop = report.crop_size
    table = Table(title=f"dataset {report.root}", title_justify="left")
    table.add_column("split", no_wrap=True)
    for col in ("images", "unreadable", "non-image"):
        table.add_column(col, justify="right", no_wrap=True)
    if crop is not None:
        table.add_column(f"side < {crop}", justify="right", no_wrap=True)
    table.add_column("modes")
    for split, rep in report.splits.items():
        row = [split, str(rep.images), str(len(rep.unreadable)), str(len(rep.non_images))]
        if crop is not None:
            row.append(str(len(rep.smaller_than_crop)))
        row.append(", ".join(f"{m} {n}" for m, n in rep.modes.items()) or "-")
        table.add_row(*row)
    console.print(table)
    console.print(_sizes_table(report))
    if crop is None:
        console.print("image sides not compared with a crop size (--crop-size or --recipe)")
    console.print(
        f"duplicates: {report.duplicate_pairs} pair(s) of byte-identical files, "
        f"{report.cross_split_pairs} across splits, {report.train_test_pairs} "
        "between train and test",
        highlight=False,
    )
    for group_ in report.duplicate_groups[:10]:
        console.print("  " + " = ".join(group_), highlight=False)
    if len(report.duplicate_groups) > 10:
        console.print(f"  ... and {len(report.duplicate_groups) - 10} more groups (see --json)")
    for msg in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(msg)}", highlight=False)
    for msg in report.errors:
        console.print(f"[bold red]error:[/] {escape(msg)}", highlight=False)
    verdict = "[green]OK: trainable[/]" if report.ok else "[bold red]NOT trainable[/]"
    console.print(f"{verdict} (batch size {report.batch_size})")


def _sizes_table(report: Any) -> Table:
    table = Table(title="image sizes (width x height)", title_justify="left")
    table.add_column("split", no_wrap=True)
    table.add_column("distinct", justify="right", no_wrap=True)
    table.add_column("smallest", no_wrap=True)
    table.add_column("largest", no_wrap=True)
    table.add_column("shorter side: images")
    for split, rep in report.splits.items():
        small = f"{rep.min_size[0]}x{rep.min_size[1]}" if rep.min_size else "-"
        large = f"{rep.max_size[0]}x{rep.max_size[1]}" if rep.max_size else "-"
        hist = ", ".join(f"{k} px: {n}" for k, n in rep.shorter_side.items()) or "-"
        table.add_row(split, str(rep.distinct_sizes), small, large, hist)
    return table


def register(app: typer.Typer) -> None:
    app.add_typer(group)
