"""A run directory: the one place that knows its layout, its lock and its metadata.

::

    runs/NAME/
      recipe.resolved.toml   the resolved recipe (every default filled in)
      environment.json       Python, package and plugin versions, device, precision
      .lock                  held by the live `translkit run` (flock; the kernel drops it
                             when the process dies, even by kill -9)
      metrics.jsonl          training losses every `log_every` steps
      eval.jsonl             evaluations (test objective, metrics) per epoch
      summary.json           the last state of the run (agrees with checkpoints/latest.pt)
      scores.json            `translkit score RUN_DIR`
      report.html            `translkit report RUN_DIR`
      checkpoints/           latest.pt, best.pt, epoch_NNNN.pt
      samples/               step_NNNNNNN.png sample grids
      plots/                 loss and evaluation plots
      eval/epoch_NNNN/       translations scored at evaluation
      tensorboard/           TensorBoard event files
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from translkit.errors import CheckpointError, RecipeError, TranslkitError
from translkit.fileio import write_text_atomic

__all__ = ["RunDir", "RunLockedError", "environment_info"]

_EPOCH = re.compile(r"^epoch_(\d+)\.pt$")
#: Recorded first; then the rest of what translkit's distribution requires (its metadata).
_PACKAGES = ("translkit", "torch", "torchvision", "timm", "pluggy", "numpy", "pillow")


class RunLockedError(TranslkitError):
    """Another live process holds the run directory."""


class RunDir:
    """The layout of one run directory (nothing is created until something is written)."""

    RECIPE = "recipe.resolved.toml"
    ENVIRONMENT = "environment.json"
    METRICS = "metrics.jsonl"
    EVAL = "eval.jsonl"
    SUMMARY = "summary.json"
    SCORES = "scores.json"
    REPORT = "report.html"
    LOCK = ".lock"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # -- files -----------------------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def recipe_file(self) -> Path:
        return self.path / self.RECIPE

    @property
    def environment_file(self) -> Path:
        return self.path / self.ENVIRONMENT

    @property
    def metrics_file(self) -> Path:
        return self.path / self.METRICS

    @property
    def eval_file(self) -> Path:
        return self.path / self.EVAL

    @property
    def summary_file(self) -> Path:
        return self.path / self.SUMMARY

    @property
    def scores_file(self) -> Path:
        return self.path / self.SCORES

    @property
    def report_file(self) -> Path:
        return self.path / self.REPORT

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def latest(self) -> Path:
        return self.checkpoints / "latest.pt"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.pt"

    def epoch_checkpoint(self, epoch: int) -> Path:
        return self.checkpoints / f"epoch_{epoch:04d}.pt"

    def epoch_checkpoints(self) -> list[tuple[int, Path]]:
        """``(epoch, path)`` of every ``epoch_NNNN.pt``, oldest first."""
        if not self.checkpoints.is_dir():
            return []
        found = (
            (int(m.group(1)), p) for p in self.checkpoints.iterdir() if (m := _EPOCH.match(p.name))
        )
        return sorted(found)

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    def sample_grid(self, step: int) -> Path:
        return self.samples / f"step_{step:07d}.png"

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    def eval_outputs(self, epoch: int) -> Path:
        return self.path / "eval" / f"epoch_{epoch:04d}"

    # -- reading ---------------------------------------------------------------------------
    @staticmethod
    def is_run_dir(path: str | Path) -> bool:
        return Path(path).is_dir() and (Path(path) / RunDir.RECIPE).is_file()

    def require(self) -> RunDir:
        """This run directory, or an error when ``path`` is not one."""
        if not self.path.is_dir():
            raise TranslkitError(f"run directory {self.path} does not exist")
        if not self.recipe_file.is_file():
            raise TranslkitError(
                f"{self.path} is not a run directory: {self.RECIPE} is missing "
                "(`translkit run` writes it)"
            )
        return self

    def checkpoint(self, which: str = "best") -> Path:
        """``best`` (else ``latest``), ``latest``, or a path given by the user."""
        if which in ("best", "latest"):
            path = self.best if which == "best" and self.best.is_file() else self.latest
            if not path.is_file():
                raise CheckpointError(
                    f"run directory {self.path} has no checkpoints/{which}.pt yet; train it "
                    "first or name a checkpoint file"
                )
            return path
        path = Path(which)
        if not path.is_file():
            raise CheckpointError(f"checkpoint {path} does not exist (use best, latest or a file)")
        return path

    def read_recipe(self) -> Any:
        """The run's resolved recipe, through the typed recipe model (no plugin is loaded)."""
        from translkit.recipe import load_recipe

        self.require()
        try:
            return load_recipe(self.recipe_file)
        except RecipeError as err:
            raise TranslkitError(f"run directory {self.path}: {err}") from None

    # -- writing ---------------------------------------------------------------------------
    def write_json(self, path: Path, obj: Any) -> Path:
        return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")

    def write_recipe(self, recipe: Any) -> None:
        """Write ``recipe.resolved.toml`` (``environment.json`` is the typed record
        :class:`translkit.artifacts.Environment`)."""
        header = f"# resolved from {recipe.source}; every default filled in\n"
        write_text_atomic(self.recipe_file, header + recipe.to_toml())

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold this run directory for the life of the block (one live run per directory).

        Uses ``flock`` on ``.lock``: the kernel releases it when the process ends, however
        it ends, so a killed run never blocks the next. The holder's PID is written into
        the file for the message a second run prints.
        """
        created = [d for d in (self.path, *self.path.parents) if not d.exists()]
        self.path.mkdir(parents=True, exist_ok=True)
        fd = _acquire(self.path / self.LOCK)
        try:
            yield
        finally:
            if created and [p.name for p in self.path.iterdir()] == [self.LOCK]:
                (self.path / self.LOCK).unlink()  # nothing was written: leave no trace
                for folder in created:  # deepest first
                    try:
                        folder.rmdir()
                    except OSError:
                        break
            os.close(fd)


def _acquire(path: Path) -> int:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise RunLockedError(
            f"run directory {path.parent} is in use by another `translkit run` (PID {holder}); "
            "wait for it to finish, stop it, or choose another run.name"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _packages() -> list[str]:
    """:data:`_PACKAGES`, then every other distribution translkit requires (no extras)."""
    try:
        required = metadata.requires("translkit") or []
    except metadata.PackageNotFoundError:
        required = []
    names = [re.split(r"[\s;<>=!~\[(]", r, maxsplit=1)[0] for r in required if "extra" not in r]
    return list(dict.fromkeys([*_PACKAGES, *names]))


def environment_info(plugins: Any = None) -> dict[str, Any]:
    """Python, package and plugin versions, and the compute device.

    :param plugins: a :class:`~translkit.plugin_manager.PluginSet` whose plugins to list.
    """
    import torch

    from translkit.precision import cpu_info

    cuda = torch.cuda.is_available()
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in _packages()},
        "plugins": [
            {
                "name": p.name,
                "module": p.module,
                "distribution": p.distribution,
                "version": p.version,
                "registered": plugins.registered_by(p.name),
            }
            for p in (plugins.plugins if plugins is not None else [])
        ],
        "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu",
        "cuda": torch.version.cuda if cuda else None,
        "cpu": cpu_info().to_dict(),
        "cpu_threads": torch.get_num_threads(),
    }
