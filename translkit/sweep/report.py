"""What a sweep leaves behind: the table of trials, ``best.toml`` and ``report.html``.

The HTML page draws the optimisation history, each trial's evaluations (pruned ones
visibly cut short) and the parameter importances (Optuna's default evaluator) with
matplotlib — a dependency already — as inline SVG: one self-contained file that opens
offline, without plotly and its JavaScript bundle.
"""

from __future__ import annotations

import html
import io
import math
import tomllib
import warnings
from pathlib import Path
from typing import Any

import tomli_w
from rich.table import Table

from translkit.fileio import write_text_atomic
from translkit.sweep.spec import SweepSpec, trial_name
from translkit.sweep.study import (
    ATTR_MINUTES,
    ATTR_PROJECTED,
    ATTR_REASON,
    ATTR_SURPLUS,
    best_trial,
    done_trials,
)

__all__ = ["pruning_savings", "trials_table", "write_best", "write_html"]

_STATE = {
    "COMPLETE": "complete",
    "PRUNED": "pruned",
    "FAIL": "failed",
    "RUNNING": "running",
    "WAITING": "queued",
}


def _shown(trials: list[Any]) -> list[Any]:
    return [t for t in trials if not t.user_attrs.get(ATTR_SURPLUS)]


def _value(t: Any) -> float | None:
    if t.state.name == "COMPLETE":
        return t.value
    if t.state.name == "PRUNED" and t.intermediate_values:
        return t.intermediate_values[max(t.intermediate_values)]
    return None


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def trials_table(spec: SweepSpec, study: Any) -> Table:
    """Trials: number, state, objective, minutes, epochs, parameters, and why a trial
    stopped or failed. The best trial is marked ``*``."""
    best = _best_number(study, spec)
    table = Table(title=f"sweep {spec.name}: {spec.direction} {spec.metric}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("state")
    table.add_column(spec.metric.split("/")[-1], justify="right")
    table.add_column("min", justify="right")
    for p in spec.space:
        table.add_column(p.short, justify="right" if p.kind != "categorical" else "left")
    table.add_column("note", overflow="fold")
    for t in _shown(study.get_trials(deepcopy=False)):
        value = _value(t)
        minutes = t.user_attrs.get(ATTR_MINUTES)
        row = [
            f"{t.number}{'*' if t.number == best else ''}",
            _STATE.get(t.state.name, t.state.name.lower()),
            "" if value is None else f"{value:.4g}",
            "" if minutes is None else f"{minutes:.1f}",
            *(_fmt(t.params.get(p.key, "")) for p in spec.space),
            _note(t),
        ]
        table.add_row(*row)
    return table


def _note(t: Any) -> str:
    """Short at 80 columns: where a pruned trial stopped, why a trial failed."""
    if t.state.name == "PRUNED" and t.intermediate_values:
        return f"at epoch {max(t.intermediate_values)}"
    if t.state.name in ("FAIL", "PRUNED"):
        return str(t.user_attrs.get(ATTR_REASON, ""))
    return ""


def _best_number(study: Any, spec: SweepSpec) -> int | None:
    best = best_trial(study, spec)  # the best that meets every [constraints]
    return None if best is None else best.number


def pruning_savings(study: Any) -> tuple[int, float, float]:
    """(pruned trials, their minutes, the minutes they would have run to the end)."""
    pruned = [t for t in study.get_trials(deepcopy=False) if t.state.name == "PRUNED"]
    spent = sum(float(t.user_attrs.get(ATTR_MINUTES, 0.0)) for t in pruned)
    full = sum(float(t.user_attrs.get(ATTR_PROJECTED, 0.0)) for t in pruned)
    return len(pruned), spent, full


def write_best(spec: SweepSpec, study: Any) -> Path | None:
    """``best.toml``: the best trial's recipe, renamed to train in ``runs/<sweep>_best``."""
    best = best_trial(study, spec)
    if best is None:
        return None
    number = best.number
    source = spec.sweep_dir / "recipes" / f"{trial_name(number)}.toml"
    if source.is_file():
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    else:  # the trial ran on another machine: rebuild its recipe from the sweep file
        raw = spec.trial_raw(best.params, number)
    raw["run"]["name"] = f"{spec.name}_best"
    raw["run"]["output_dir"] = "runs"
    params = ", ".join(f"{k} = {_fmt(v)}" for k, v in best.params.items())
    header = (
        f"# The best trial of sweep {spec.name!r} ({spec.path}): trial {number}, "
        f"{spec.metric} = {best.value:.4g}\n# {params}\n"
        f"# Train it again: translkit run {spec.sweep_dir / 'best.toml'}\n"
        + (
            f"# It keeps the sweep's fixed settings ({', '.join(spec.fixed)}): raise "
            "train.max_minutes or optim.epochs there for a full run.\n"
            if spec.fixed
            else ""
        )
        + f"# Or use the trial's own run: {spec.sweep_dir / trial_name(number)}\n\n"
    )
    return write_text_atomic(spec.sweep_dir / "best.toml", header + tomli_w.dumps(raw))


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _history_svg(spec: SweepSpec, study: Any) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    better = max if spec.direction == "maximize" else min
    best_so_far, xs, ys = None, [], []
    for t in study.get_trials(deepcopy=False):
        if t.state.name == "COMPLETE":
            ax1.plot(t.number, t.value, "o", color="tab:blue")
            best_so_far = t.value if best_so_far is None else better(best_so_far, t.value)
        elif t.state.name == "PRUNED" and t.intermediate_values:
            ax1.plot(t.number, _value(t), "x", color="tab:gray")
        if best_so_far is not None:
            xs.append(t.number)
            ys.append(best_so_far)
        if t.intermediate_values:
            steps = sorted(t.intermediate_values)
            style = {"color": "tab:gray", "alpha": 0.6} if t.state.name == "PRUNED" else {}
            ax2.plot(steps, [t.intermediate_values[s] for s in steps], "-", marker=".", **style)
    if xs:
        ax1.step(xs, ys, where="post", color="tab:red", label="best so far")
        ax1.legend(loc="best", fontsize=8)
    ax1.set(title="optimisation history (x: pruned)", xlabel="trial", ylabel=spec.metric)
    ax2.set(title="evaluations of each trial (grey: pruned)", xlabel="epoch", ylabel=spec.metric)
    return _svg(fig)


def _importance_svg(study: Any) -> tuple[str, str]:
    """(SVG, note): importances need two complete trials and varied parameters."""
    import matplotlib.pyplot as plt
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(complete) < 2:
        return "", "parameter importances need at least two complete trials"
    try:
        with warnings.catch_warnings():  # e.g. "importances will be equal" on a tiny study
            warnings.simplefilter("ignore")
            importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as err:
        return "", f"parameter importances could not be computed: {err}"
    if not importances:
        return "", "no parameter varied among the complete trials"
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.4 * len(names)))
    ax.barh(names, [importances[n] for n in names], color="tab:blue")
    ax.set(title="parameter importances (Optuna's default evaluator)", xlabel="importance")
    return _svg(fig), ""


def _met(spec: SweepSpec) -> str:
    """`` meeting a2b/x <= 2.5``, or nothing when the sweep has no constraints."""
    texts = spec.constraint_texts()
    return f" meeting {html.escape(', '.join(texts))}" if texts else ""


def write_html(spec: SweepSpec, study: Any) -> Path:
    """``report.html``: history, learning curves, importances, and the table of trials."""
    trials = _shown(study.get_trials(deepcopy=False))
    best = _best_number(study, spec)
    n_pruned, spent, full = pruning_savings(study)
    rows = []
    for t in trials:
        value = _value(t)
        cells = [
            f"{t.number}{' ★' if t.number == best else ''}",
            _STATE.get(t.state.name, t.state.name.lower()),
            "" if value is None or not math.isfinite(value) else f"{value:.4g}",
            f"{t.user_attrs.get(ATTR_MINUTES, 0.0):.1f}" if ATTR_MINUTES in t.user_attrs else "",
            *(_fmt(t.params.get(p.key, "")) for p in spec.space),
            "" if t.state.name == "COMPLETE" else str(t.user_attrs.get(ATTR_REASON, "")),
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    head = ["#", "state", spec.metric, "minutes", *(p.key for p in spec.space), "note"]
    importance, note = _importance_svg(study)
    done = len(done_trials(study.get_trials(deepcopy=False)))
    saved = (
        f"<p>{n_pruned} pruned trial{'s' if n_pruned > 1 else ''} ran {spent:.1f} minutes; "
        f"run to the end they would have taken about {full:.1f} "
        f"(the pruner saved {max(full - spent, 0):.1f}).</p>"
        if n_pruned
        else ""
    )
    best_line = (
        f"<p>Best: trial {best}, {html.escape(spec.metric)} = "
        f"{study.trials[best].value:.4g}{_met(spec)} — "
        f"<code>translkit run {html.escape(str(spec.sweep_dir / 'best.toml'))}</code></p>"
        if best is not None
        else f"<p>No trial has completed{_met(spec) or ' yet'}.</p>"
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>sweep {html.escape(spec.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 72em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }}
td:last-child {{ text-align: left; }}
svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>Sweep {html.escape(spec.name)}</h1>
<p>{done} of {spec.trials} trials done; objective: {spec.direction}
<code>{html.escape(spec.metric)}</code> (the best evaluation of each trial).
Recipe: <code>{html.escape(str(spec.recipe_path))}</code>.</p>
{best_line}
{saved}
<h2 id="history">Optimisation history</h2>
{_history_svg(spec, study)}
<h2 id="importances">Parameter importances</h2>
{importance or f"<p>{html.escape(note)}</p>"}
<h2 id="trials">Trials</h2>
<table><thead><tr>{"".join(f"<th>{html.escape(h)}</th>" for h in head)}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
</body></html>
"""
    return write_text_atomic(spec.sweep_dir / "report.html", page)
