"""A run directory as one self-contained HTML page (``translkit report RUN_DIR``).

Inspired by StyleGAN2-ADA's run folders and TensorBoard's scalars page, but a single
file to mail or archive: every image is embedded as base64 PNG, nothing is fetched.
Sections, each present when its files are: summary and timings (``summary.json``), the
score table (``scores.json`` and the last ``eval.jsonl`` record), loss curves drawn from
``metrics.jsonl`` (and the run's own ``plots/*.png``), evaluation curves
(``eval.jsonl``), sample grids over time (``samples/*.png``), the resolved recipe and
the environment (``environment.json``).
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from translkit.artifacts import RunSummary, Scores
from translkit.errors import CheckpointError, TranslkitError
from translkit.fileio import ensure_writable, read_jsonl, write_text_atomic
from translkit.rundir import RunDir

__all__ = ["MAX_SAMPLE_GRIDS", "build_report", "write_report"]

#: Sample grids shown at most (evenly spaced over training, always the first and last).
MAX_SAMPLE_GRIDS = 8
_TEMPLATE = Path(__file__).with_name("report_template.html")
_GROUPS = {
    "generator adversarial": re.compile(r"^loss/G_.*gan"),
    "discriminator": re.compile(r"^loss/D"),
    "cycle and identity": re.compile(r"^loss/(cycle|idt)"),
    "PatchNCE": re.compile(r"^loss/nce"),
    "total": re.compile(r"^loss/G_total$"),
}


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise TranslkitError(f"{path} is not valid JSON: {err}") from None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path, strict=True)


def _png(data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{b64}">'


def _figure(img: str, caption: str) -> str:
    return f"<figure>{img}<figcaption>{_esc(caption)}</figcaption></figure>"


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_esc(title)}</h2>\n{body}\n</section>"


def _nested(v: Any) -> str:
    """A nested value, readable: a dict as a small key/value table, a list of plain values
    as a comma-separated line, a list of dicts as one small table each."""
    if isinstance(v, dict):
        return _table(v.items(), css="nested") if v else "-"
    if all(not isinstance(x, (dict, list)) for x in v):
        return ", ".join(_esc("-" if x is None else x) for x in v) or "-"
    return "".join(_nested(x) if isinstance(x, (dict, list)) else _esc(x) for x in v)


def _table(
    rows: Iterable[Iterable[Any]], header: Iterable[str] | None = None, *, css: str = ""
) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return '<td class="num">-</td>'
        if isinstance(v, float):
            return f'<td class="num">{v:.6g}</td>'
        if isinstance(v, int) and not isinstance(v, bool):
            return f'<td class="num">{v}</td>'
        if isinstance(v, (dict, list, tuple)):
            return f"<td>{_nested(list(v) if isinstance(v, tuple) else v)}</td>"
        return f"<td>{_esc(v)}</td>"

    head = "".join(f"<th>{_esc(h)}</th>" for h in header) if header else ""
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    attr = f' class="{css}"' if css else ""
    return f"<table{attr}>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


# -- plots ---------------------------------------------------------------------------------
def _plot(series: Mapping[str, tuple[list[float], list[float]]], title: str, xlabel: str) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.4), dpi=100)
    ax = fig.add_subplot()
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, label=name, linewidth=1.2)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
    if series:
        ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return _png(buf.getvalue(), title)


def _curves(records: list[dict[str, Any]], pattern: re.Pattern[str], x: str) -> dict[str, Any]:
    out: dict[str, tuple[list[float], list[float]]] = {}
    for rec in records:
        if x not in rec:
            continue
        for key, value in rec.items():
            if pattern.search(key) and isinstance(value, (int, float)):
                xs, ys = out.setdefault(key.removeprefix("loss/"), ([], []))
                xs.append(rec[x])
                ys.append(float(value))
    return out


def _loss_section(run: RunDir) -> str:
    records = _read_jsonl(run.metrics_file)
    figures = []
    for title, pattern in _GROUPS.items():
        series = _curves(records, pattern, "step")
        if series:
            figures.append(_plot(series, f"loss: {title}", "step"))
    for path in sorted(run.plots.glob("*.png")):
        figures.append(_figure(_png(path.read_bytes(), path.stem), f"plots/{path.name}"))
    if not figures:
        return ""
    return _section("Loss curves", f'<div class="grid">{"".join(figures)}</div>')


def _eval_section(run: RunDir) -> str:
    evals = _read_jsonl(run.eval_file)
    if not evals:
        return ""
    keys = sorted({k for r in evals for k in r if k not in ("epoch", "step", "time")})
    main = [k for k in keys if "/" not in k or k.split("/")[0] in ("a2b", "b2a")]
    figures = [
        _plot(_curves(evals, re.compile(f"^{re.escape(k)}$"), "epoch"), k, "epoch") for k in main
    ]
    return _section("Evaluation over epochs", f'<div class="grid">{"".join(figures)}</div>')


# -- other sections --------------------------------------------------------------------------
def _pick(items: list[Path], n: int) -> list[Path]:
    if len(items) <= n:
        return items
    idx = sorted({round(i * (len(items) - 1) / (n - 1)) for i in range(n)})
    return [items[i] for i in idx]


def _samples_section(run: RunDir) -> str:
    grids = sorted(run.samples.glob("*.png"))
    if not grids:
        return ""
    chosen = _pick(grids, MAX_SAMPLE_GRIDS)
    figs = "".join(_figure(_png(p.read_bytes(), p.stem), p.stem.replace("_", " ")) for p in chosen)
    note = (
        f'<p class="muted">{len(chosen)} of {len(grids)} grids; rows: input, translated, '
        "and reconstructed for two-way methods; one block per direction the run has.</p>"
    )
    return _section("Samples over time", note + figs)


def _pivot_table(scores: dict[str, Any], goals: dict[str, str]) -> str:
    from translkit.scoring import pivot_scores

    numeric = {k: float(v) for k, v in scores.items() if isinstance(v, (int, float))}
    columns, rows = pivot_scores(numeric, goals)
    body = [(m, better, *(vals.get(c) for c in columns)) for m, better, vals in rows]
    return _table(body, ["metric", "better", *columns])


def _scores_section(run: RunDir) -> str:
    parts = []
    scores = Scores.load(run.scores_file) if run.scores_file.is_file() else None
    if scores is not None and scores.scores:
        parts.append(f"<p>checkpoint <code>{_esc(scores.checkpoint or '?')}</code></p>")
        parts.append(_pivot_table(scores.scores, scores.goals))
    evals = _read_jsonl(run.eval_file)
    if evals:
        last = {k: v for k, v in evals[-1].items() if k not in ("epoch", "step", "time")}
        parts.append(f"<p>last evaluation (epoch {_esc(evals[-1].get('epoch', '?'))})</p>")
        parts.append(_pivot_table(last, {}))
    return _section("Scores", "\n".join(parts)) if parts else ""


_DIRECTION_NAMES = {"a2b": "A → B", "b2a": "B → A"}


def _directions_note(summary: Mapping[str, Any]) -> str:
    """One sentence on what the run translates (summary.json's ``method``/``directions``)."""
    directions = summary.get("directions")
    if not isinstance(directions, list) or not directions:
        return ""
    names = " and ".join(_DIRECTION_NAMES.get(str(d), str(d)) for d in directions)
    only = " only" if len(directions) == 1 else ""
    method = summary.get("method") or "the method"
    return f'<p class="directions">{_esc(method)} translates {_esc(names)}{only}.</p>'


def _summary_section(run: RunDir) -> str:
    if not run.summary_file.is_file():
        return _section("Summary", '<p class="muted">no summary.json: the run has not ended.</p>')
    try:
        record = RunSummary.load(run.summary_file)
    except CheckpointError as err:  # the rest of the report still stands
        return _section("Summary", f'<p class="muted">{_esc(str(err))}</p>')
    unknown = (None, "", [], {})  # fields an older summary.json did not record
    summary = {
        k: v for k, v in sorted(record.to_dict().items()) if k != "format" and v not in unknown
    }
    rows = list(summary.items())
    speed = _curves(_read_jsonl(run.metrics_file), re.compile(r"^images_per_s$"), "step")
    plot = _plot(speed, "training throughput (images/s)", "step") if speed else ""
    return _section("Summary and timings", _directions_note(summary) + _table(rows) + plot)


def _environment_section(run: RunDir) -> str:
    from translkit.artifacts import Environment

    env = Environment.read(run.environment_file)
    if env is None:
        return ""
    facts = {**env.to_dict(), **env.decisions}
    rows = [(k, v) for k, v in facts.items() if not isinstance(v, (dict, list))]
    body = (
        _table(rows)
        + "<h3>Packages</h3>"
        + _table(
            [(k, v or "not installed") for k, v in env.packages.items()], ["package", "version"]
        )
    )
    if env.plugins:
        body += "<h3>Plugins</h3>" + _table(
            [(p.get("name"), p.get("distribution"), p.get("version")) for p in env.plugins],
            ["plugin", "distribution", "version"],
        )
    return _section("Environment", body)


def _recipe_section(run: RunDir) -> str:
    path = run.recipe_file
    if not path.is_file():
        return ""
    return _section("Resolved recipe", f"<pre>{_esc(path.read_text(encoding='utf-8'))}</pre>")


def build_report(run_dir: str | Path) -> str:
    """The HTML text of the report of ``run_dir`` (nothing is written)."""
    from translkit import __version__

    run = RunDir(run_dir)
    if not run.recipe_file.is_file() and not run.metrics_file.is_file():
        raise TranslkitError(
            f"{run_dir} is not a run directory (no recipe.resolved.toml or metrics.jsonl)"
        )
    sections = [
        _summary_section(run),
        _scores_section(run),
        _loss_section(run),
        _eval_section(run),
        _samples_section(run),
        _recipe_section(run),
        _environment_section(run),
    ]
    template = string.Template(_TEMPLATE.read_text(encoding="utf-8"))
    return template.substitute(
        title=_esc(f"translkit run: {run.path.resolve().name}"),
        subtitle=_esc(str(run.path.resolve())),
        version=_esc(__version__),
        sections="\n".join(s for s in sections if s),
    )


def write_report(run_dir: str | Path, output: str | Path | None = None) -> Path:
    """Write the report (default ``RUN_DIR/report.html``) atomically; return its path."""
    output = Path(output) if output else RunDir(run_dir).report_file
    if Path(run_dir).is_dir():
        ensure_writable(output)  # before the report is built
    text = build_report(run_dir)
    return write_text_atomic(output, text)
