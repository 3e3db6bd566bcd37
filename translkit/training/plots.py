"""Loss curves by epoch as PNG, after the study's Figures 5–7 (matplotlib, Agg backend).

Read from ``metrics.jsonl`` (the mean of the logged values of each epoch) and
``eval.jsonl`` (the test objective), so plots can be redrawn for any run directory.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from translkit.fileio import atomic_path, read_jsonl
from translkit.rundir import RunDir

__all__ = ["PLOTS", "epoch_means", "read_jsonl", "write_plots"]

#: file stem -> (title, loss terms drawn)
PLOTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "generator": ("Generator adversarial losses", ("G_AB_gan", "G_BA_gan")),
    "discriminator": ("Discriminator losses", ("D_A", "D_B")),
    "cycle": (
        "Cycle-consistency (identity, change) losses",
        ("cycle_A", "cycle_B", "idt_A", "idt_B", "change_A", "change_B"),
    ),
    "patchnce": ("PatchNCE losses (CUT: A, and identity B)", ("nce_A", "nce_B")),
    "objective": ("Total objective", ("G_total", "D_total")),
}


def epoch_means(records: list[dict[str, Any]]) -> dict[str, dict[int, float]]:
    """``loss/<term>`` -> {epoch (1-based): mean of its logged values}."""
    sums: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for rec in records:
        for key, value in rec.items():
            if key.startswith("loss/") and isinstance(value, (int, float)):
                sums[key[5:]][int(rec["epoch"])].append(float(value))
    return {k: {e: sum(v) / len(v) for e, v in sorted(d.items())} for k, d in sums.items()}


def _figures(means: dict[str, Any]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """:data:`PLOTS`, plus one figure for the terms of a method none of them shows."""
    shown = {t for _, terms in PLOTS.values() for t in terms}
    other = tuple(t for t in means if t not in shown)
    return {**PLOTS, **({"other": ("Other loss terms", other)} if other else {})}


def write_plots(run: RunDir) -> list[Path]:
    """(Re)draw ``plots/<name>.png`` for every figure of :data:`PLOTS`; return the files."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    means = epoch_means(read_jsonl(run.metrics_file))
    evals = read_jsonl(run.eval_file)
    out_dir = run.plots
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, (title, terms) in _figures(means).items():
        curves = {t: means[t] for t in terms if t in means}
        if stem == "objective" and evals:
            curves["test objective"] = {
                int(r["epoch"]): r["objective"] for r in evals if "objective" in r
            }
        if not curves:
            continue
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        for label, points in curves.items():
            xs = list(points)
            ax.plot(xs, [points[x] for x in xs], marker="o" if len(xs) < 30 else None, label=label)
        ax.set(title=title, xlabel="epoch", ylabel="loss")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = out_dir / f"{stem}.png"
        try:
            with atomic_path(path) as tmp:
                fig.savefig(tmp)
        finally:
            plt.close(fig)
        written.append(path)
    return written
