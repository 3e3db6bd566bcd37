"""Seeds side by side on the `domain` metric, and issue 18's targets, for docs/results.md.

    translkit score runs/leather_denim_fast_s0 -m domain      # each run: writes scores.json
    python scripts/domain_targets.py runs/leather_denim_fast_s0 runs/leather_denim_fast_s1 ...
    python scripts/domain_targets.py --rows runs/lever_a runs/lever_b ...  # one row per run

Reads each run's ``scores.json`` (``translkit score RUN -m domain``, baselines on) and prints
a Markdown table per direction: the copy-input and colour-transfer baselines, the real
target-domain images (rate, and the real-vs-real floor of FD and KID), each run, and the
runs' mean and spread (min–max). Then the targets, per direction and run mean:

- colour-view target rate ≥ 95 %;
- texture-view target rate ≥ 90 % of the real images' rate, and ≥ 30 points above the
  colour transfer's;
- texture-view FD at most 40 % of copy-input's distance above the real-vs-real floor;
- classifiers credible: real test accuracy ≥ 95 % (colour), ≥ 85 % (texture).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

KEYS = [f"domain_{view}_{what}" for view in ("colour", "texture") for what in ("rate", "fd", "kid")]
KEYS.append("domain_both_rate")  # absent from scores.json written before it existed


def load(run: Path) -> dict:
    path = run / "scores.json"
    if not path.is_file():
        raise SystemExit(
            f"{path} is missing: score the run first (translkit score {run} -m domain)"
        )
    data = json.loads(path.read_text())
    if "baselines" not in data:
        raise SystemExit(f"{path} has no baselines: score without --no-baselines")
    return data


def fmt(value: float, key: str) -> str:
    return f"{100 * value:.1f} %" if key.endswith(("rate", "accuracy")) else f"{value:.3g}"


def table(direction: str, runs: list[Path], scores: list[dict]) -> list[str]:
    base = scores[0]["baselines"]
    names = [r.name for r in runs]
    head = ["metric", "copy input", "colour transfer", "real", *names]
    if len(runs) > 1:
        head.append(f"mean (min–max) of {len(runs)}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in KEYS:
        k = f"{direction}/{key}"
        if any(k not in s["scores"] for s in scores):
            continue
        values = [s["scores"][k] for s in scores]
        row = [
            key,
            fmt(base["copy_input"]["scores"][k], key),
            fmt(base["colour_transfer"]["scores"][k], key),
            fmt(reference(scores[0], k), key),
            *(fmt(v, key) for v in values),
        ]
        if len(runs) > 1:
            mean = statistics.fmean(values)
            row.append(f"**{fmt(mean, key)}** ({fmt(min(values), key)}–{fmt(max(values), key)})")
        lines.append("| " + " | ".join(row) + " |")
    for view in ("colour", "texture"):
        acc = reference(scores[0], f"{direction}/domain_{view}_accuracy")
        lines.append(f"| domain_{view}_accuracy (real test split) | | | {fmt(acc, 'accuracy')} |")
    return lines


def reference(scores: dict, key: str) -> float:
    """What real images score on ``key``: ``reference`` in scores.json, or the ``info`` key
    ``<key>@real`` that translkit 0.2 and earlier wrote."""
    if key in scores.get("reference", {}):
        return scores["reference"][key]
    return scores["info"][f"{key}@real"]


ROW_KEYS = ["domain_colour_rate", "domain_texture_rate", "domain_texture_fd", "domain_both_rate"]


def rows(runs: list[Path], scores: list[dict]) -> list[str]:
    """One row per run (levers side by side): the main metrics of each direction the run
    translates ("–" where it has none: CUT and FastCUT learn a2b only), its steps and time."""
    names = [k.removeprefix("domain_").replace("_", " ") for k in ROW_KEYS]
    head = ["run", *(f"{d} {name}" for d in ("a2b", "b2a") for name in names)]
    head += ["steps × batch", "training min", "s/step"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for run, score in zip(runs, scores, strict=True):
        summary = json.loads((run / "summary.json").read_text())
        batch = _batch_size(run)
        cells = [run.name]
        for direction in ("a2b", "b2a"):
            for key in ROW_KEYS:
                value = score["scores"].get(f"{direction}/{key}")
                cells.append("–" if value is None else fmt(value, key))
        seconds, steps = summary["seconds"], summary["steps"]
        cells += [f"{steps:,} × {batch}", f"{seconds / 60:.1f}", f"{seconds / steps:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _batch_size(run: Path) -> int:
    import tomllib

    recipe = tomllib.loads((run / "recipe.resolved.toml").read_text())
    return int(recipe["optim"]["batch_size"])


def targets(direction: str, scores: list[dict]) -> list[tuple[str, bool, str]]:
    def mean(key: str) -> float:
        return statistics.fmean(s["scores"][f"{direction}/{key}"] for s in scores)

    base = scores[0]["baselines"]

    def real(key: str) -> float:
        return reference(scores[0], f"{direction}/{key}")

    real_rate = real("domain_texture_rate")
    transfer = base["colour_transfer"]["scores"][f"{direction}/domain_texture_rate"]
    floor = real("domain_texture_fd")
    copy = base["copy_input"]["scores"][f"{direction}/domain_texture_fd"]
    colour, texture, fd = (
        mean("domain_colour_rate"),
        mean("domain_texture_rate"),
        mean("domain_texture_fd"),
    )
    fd_share = (fd - floor) / (copy - floor)
    return [
        ("colour rate ≥ 95 %", colour >= 0.95, fmt(colour, "rate")),
        (
            "texture rate ≥ 90 % of real's",
            texture >= 0.9 * real_rate,
            f"{fmt(texture, 'rate')} = {texture / real_rate:.0%} of {fmt(real_rate, 'rate')}",
        ),
        (
            "texture rate ≥ colour transfer + 30 points",
            texture >= transfer + 0.30,
            f"{100 * (texture - transfer):+.1f} points over {fmt(transfer, 'rate')}",
        ),
        (
            "texture FD ≤ 40 % of copy's gap above floor",
            fd_share <= 0.40,
            f"{fd_share:.0%} ({fd:.3g}; floor {floor:.3g}, copy {copy:.3g})",
        ),
        (
            "classifiers credible (≥ 95 % colour, ≥ 85 % texture)",
            real("domain_colour_accuracy") >= 0.95 and real("domain_texture_accuracy") >= 0.85,
            f"{fmt(real('domain_colour_accuracy'), 'accuracy')}, "
            f"{fmt(real('domain_texture_accuracy'), 'accuracy')}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run directories scored with -m domain")
    parser.add_argument("--rows", action="store_true", help="one row per run, no targets")
    args = parser.parse_args()
    scores = [load(run) for run in args.runs]
    if args.rows:
        print("\n".join(rows(args.runs, scores)))
        return
    for direction in ("a2b", "b2a"):
        print(f"\n{direction}\n")
        print("\n".join(table(direction, args.runs, scores)))
        print()
        for name, ok, detail in targets(direction, scores):
            print(f"- {'met' if ok else 'NOT met'}: {name}: {detail}")


if __name__ == "__main__":
    main()
