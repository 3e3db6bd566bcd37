"""``translkit sweep``: search recipe settings with Optuna (docs/sweep.md).

:func:`load_sweep` reads and checks a sweep file; :func:`run_sweep` runs or continues it;
:func:`finish` writes the table's files (``best.toml``, ``report.html``). Optuna is the
``sweep`` extra: ``pip install 'translkit[sweep]'``.
"""

from __future__ import annotations

from typing import Any

from translkit.sweep.spec import Param, SweepSpec, load_sweep

__all__ = ["Param", "SweepSpec", "finish", "load_sweep", "run_sweep", "save_spec"]


def run_sweep(spec: SweepSpec, **kwargs: Any) -> Any:
    from translkit.sweep.runner import run_sweep as run

    return run(spec, **kwargs)


def save_spec(spec: SweepSpec) -> None:
    """Keep the sweep file in the sweep directory (``sweep.toml``, with the recipe's
    absolute path) so that ``translkit sweep DIR --show`` finds everything there."""
    import tomllib

    import tomli_w

    from translkit.fileio import write_text_atomic

    target = spec.sweep_dir / "sweep.toml"
    if target.resolve() == spec.path.resolve():
        return
    data = tomllib.loads(spec.path.read_text(encoding="utf-8"))
    data.setdefault("sweep", {})["recipe"] = str(spec.recipe_path)
    data["sweep"]["name"] = spec.name
    data["sweep"]["output_dir"] = str(spec.output_dir)
    header = f"# copied from {spec.path} by translkit sweep\n"
    write_text_atomic(target, header + tomli_w.dumps(data))


def finish(spec: SweepSpec, study: Any) -> dict[str, Any]:
    """Write ``best.toml`` (when a trial completed) and ``report.html``; return their paths."""
    from translkit.sweep.report import write_best, write_html

    return {"best": write_best(spec, study), "report": write_html(spec, study)}
